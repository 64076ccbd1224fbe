"""Refresh tokens and the API access tokens minted from them: a long-lived, named credential created
with a password, regenerated (rotated) as a whole, and short-lived access tokens that point to it.

A dialect that speaks this chain hands its `Chain` (its name, and which runtime settings hold the two
lifespans) to every call; nothing here knows a dialect's name, field names or time encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokensmith import audit, runtime
from tokensmith.core import Core
from tokensmith.db import CredentialRow
from tokensmith.errors import NotAllowed, TokenInvalid
from tokensmith.models import Credential, User
from tokensmith.text import require_storable
from tokensmith.tokens import (
    ACTIVE,
    Issued,
    claim_for_rotation,
    find_owned,
    find_row,
    lookup_owned,
    mint,
    revoke_where,
    status_of,
    touch_read,
)
from tokensmith.users import authenticate, find_by_name


@dataclass(frozen=True)
class Chain:
    """One dialect's refresh-token chain: the dialect its tokens belong to (a token is redeemed only
    by the dialect whose rules made it), and the runtime settings holding the refresh token's
    lifespan and the access token's (each in the unit its setting declares)."""

    dialect: str
    refresh_lifespan_setting: str
    access_lifespan_setting: str


def create_refresh_token(
    core: Core, username: str, password: str, name: str, client: str | None, *, chain: Chain
) -> Issued:
    """Password → refresh token. SSO accounts have no password here and are told so plainly."""
    require_storable("name", name)
    user = authenticate_for_refresh(core, username, password, client)
    now = core.clock.now()
    with core.db.write() as session:
        lifespan = runtime.get_span(session, chain.refresh_lifespan_setting)
        return mint(
            session,
            core,
            kind="refresh",
            dialect=chain.dialect,
            now=now,
            user_id=user.id,
            name=name,
            lifespan=lifespan,
        )


def authenticate_for_refresh(core: Core, username: str, password: str, client: str | None) -> User:
    with core.db.read() as session:
        named = find_by_name(session, username)
    if named is not None and named.auth_source == "sso":
        raise NotAllowed(
            "Refresh tokens of SSO users are created in the user interface, not with a password."
        )
    return authenticate(core, username, password, client)


def validate_refresh_token(core: Core, value: str, user_id: int, *, chain: Chain) -> CredentialRow:
    return lookup_owned(core, value, "refresh", user_id, dialect=chain.dialect)


def regenerate_refresh_token(core: Core, value: str, user_id: int, *, chain: Chain) -> Issued:
    """A new refresh token with the same name and a fresh lifespan; the old one and every access
    token minted from it are revoked. Works on an expired token (clients regenerate when validate says
    EXPIRED); a revoked one is refused, and of two racing calls exactly one wins."""
    now = core.clock.now()
    with core.db.write() as session:
        old = find_owned(session, core, value, "refresh", user_id, dialect=chain.dialect)
        if not claim_for_rotation(session, old, now, "regenerated"):
            raise TokenInvalid()
        revoke_where(session, now, "parent regenerated", Credential.parent_id == old.id)
        lifespan = runtime.get_span(session, chain.refresh_lifespan_setting)
        issued = mint(
            session,
            core,
            kind="refresh",
            dialect=chain.dialect,
            now=now,
            user_id=user_id,
            name=old.name,
            lifespan=lifespan,
            derived_from=old,
        )
        audit.record(
            session,
            now,
            "refresh.regenerate",
            actor=audit.user_actor(user_id),
            target=old.public_id,
            replaced_by=issued.credential.public_id,
        )
        return issued


def create_access_token(core: Core, refresh_value: str, user_id: int, *, chain: Chain) -> Issued:
    now = core.clock.now()
    with core.db.write_plain() as session:  # statements only: the hot write path
        parent = find_owned(
            session, core, refresh_value, "refresh", user_id, dialect=chain.dialect, reader=find_row
        )
        if status_of(parent, now) != ACTIVE:
            raise TokenInvalid()
        lifespan = runtime.get_span(session, chain.access_lifespan_setting)
        touch_read(session, parent, now)
        return mint(
            session,
            core,
            kind="access",
            dialect=chain.dialect,
            now=now,
            user_id=user_id,
            parent_id=parent.id,
            lifespan=lifespan,
            derived_from=parent,
        )


def validate_access_token(core: Core, value: str, user_id: int, *, chain: Chain) -> CredentialRow:
    return lookup_owned(core, value, "access", user_id, dialect=chain.dialect)


def revoke_access_tokens(
    core: Core, refresh_value: str, user_id: int, *, chain: Chain
) -> tuple[Credential, int]:
    """Every live access token minted from this refresh token; the refresh token itself stays."""
    now = core.clock.now()
    with core.db.write() as session:
        parent = find_owned(session, core, refresh_value, "refresh", user_id, dialect=chain.dialect)
        count = revoke_where(
            session,
            now,
            "revoked by owner",
            Credential.parent_id == parent.id,
            Credential.kind == "access",
            Credential.expires_at > now,
        )
        audit.record(
            session,
            now,
            "access.revoke_children",
            actor=audit.user_actor(user_id),
            target=parent.public_id,
            count=count,
        )
        return parent, count
