"""Scoped tokens as rows: minting one link of a chain, finding an entry, and reading entries back.

A room of its own because this is where an entry meets the credentials table. One *entry* is a chain of
credentials sharing a family; its id is the id of the chain's first access credential, which every
credential of the chain carries in its attributes (`entry`). Both credentials of a link carry the
entry's restrictions, and a renewal's link inherits them from the pair it replaces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tokensmith import policy, runtime
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import NotFound
from tokensmith.models import Credential, User
from tokensmith.scoped_tokens.model import ALL, TYPES, Entry, IssuedPair, TokenType
from tokensmith.scoped_tokens.rules import refresh_expiry
from tokensmith.tokens import mint, set_attributes


def issue(
    session: Session,
    core: Core,
    now: datetime,
    *,
    dialect: str,
    access_lifespan_setting: str,
    user_id: int | None,
    name: str,
    family: str | None,
    entry_id: int | None,
    token_type: TokenType,
    renewable_until: datetime | None,
    fixed_expiry: datetime | None,
    endpoints: list[str],
    attributes: dict[str, Any],
    created_at: datetime,
    derived_from: Credential | None = None,
) -> IssuedPair:
    """Mint the credentials of one link of a chain (refresh + access, or a lone fixed access token).
    Both carry the entry's restrictions; a renewal's link inherits them from the pair it replaces.
    `access_lifespan_setting` names the runtime setting the dialect keeps the access
    token's lifespan in: the dialect's to name, the core's to read."""
    refresh = None
    if token_type.renewable:
        assert renewable_until is not None
        lifespan = runtime.get_span(session, access_lifespan_setting)
        access_expiry = min(now + lifespan, renewable_until)
        refresh = mint(
            session,
            core,
            kind="refresh",
            dialect=dialect,
            now=now,
            user_id=user_id,
            name=name,
            family=family,
            lifespan=refresh_expiry(access_expiry, renewable_until) - now,
            renewable_until=renewable_until,
            scopes=endpoints,
            attributes=attributes,
            derived_from=derived_from,
        )
        family = refresh.credential.family
    else:
        assert fixed_expiry is not None
        access_expiry = fixed_expiry
    access = mint(
        session,
        core,
        kind="access",
        dialect=dialect,
        now=now,
        user_id=user_id,
        name=name,
        family=family,
        parent_id=refresh.credential.id if refresh else None,
        lifespan=access_expiry - now,
        renewable_until=renewable_until,
        scopes=endpoints,
        attributes=attributes,
        derived_from=derived_from,
    )
    entry = entry_id if entry_id is not None else access.credential.id
    linked = {**attributes, "entry": entry}
    set_attributes(session, [i.credential.id for i in (access, refresh) if i is not None], linked)
    access.credential.attributes = linked
    if refresh is not None:
        refresh.credential.attributes = dict(linked)
    listed = entry_of(
        access.credential,
        created_at=created_at,
        refresh_expires_at=refresh.credential.expires_at if refresh else None,
        last_used_at=None,
    )
    return IssuedPair(entry=listed, access=access.value, refresh=refresh.value if refresh else None)


def adopt(access: Credential, refresh: Credential | None) -> None:
    """Make a seeded access credential (and the refresh credential it was minted from, if any) an entry
    of type ALL, so a seeded token is listed, edited, renewed and deleted like one created from a
    session: its entry id is its own id, and the pair renews until the refresh credential expires.
    Seeds name token values of their own choosing, which `issue` (it mints) cannot take."""
    linked = {**(access.attributes or {}), "type": ALL.name, "entry": access.id}
    until = refresh.expires_at if refresh is not None else None
    if access.name is None and refresh is not None:  # one entry, one name: the chain's
        access.name = refresh.name
    for credential in (access, refresh):
        if credential is not None:
            credential.attributes = dict(linked)
            credential.renewable_until = until


def locate(session: Session, actor: Principal, entry_id: int, dialect: str) -> tuple[Credential, Credential]:
    """(first, current) credentials of an entry the actor may manage; NotFound hides the rest."""
    first = session.get(Credential, entry_id)
    if (
        first is None
        or first.kind != "access"
        or first.dialect != dialect
        or (first.attributes or {}).get("entry") != first.id
    ):
        raise NotFound("No access token with this id.")
    if first.user_id != actor.user_id:
        owner = session.get(User, first.user_id)
        if owner is None or not policy.administers(actor, owner):
            raise NotFound("No access token with this id.")
    current = session.scalar(
        select(Credential)
        .where(
            Credential.family == first.family,
            Credential.kind == "access",
            Credential.revoked_at.is_(None),
        )
        .order_by(Credential.id.desc())
        .limit(1)
    )
    if current is None:
        raise NotFound("No access token with this id.")
    return first, current


def entries(session: Session, current: list[Credential]) -> list[Entry]:
    """Entries for the current access credentials of their chains, with three batched look-ups."""
    if not current:
        return []
    first_ids = {(c.attributes or {}).get("entry", c.id) for c in current}
    created = _mapping(
        session, select(Credential.id, Credential.created_at).where(Credential.id.in_(first_ids))
    )
    parents = {c.parent_id for c in current if c.parent_id is not None}
    refresh_expiry_of = _mapping(
        session, select(Credential.id, Credential.expires_at).where(Credential.id.in_(parents))
    )
    last_used = _mapping(
        session,
        select(Credential.family, func.max(Credential.last_used_at))
        .where(Credential.family.in_({c.family for c in current}), Credential.kind == "access")
        .group_by(Credential.family),
    )
    return [
        entry_of(
            c,
            created_at=created.get((c.attributes or {}).get("entry", c.id), c.created_at),
            refresh_expires_at=refresh_expiry_of.get(c.parent_id),
            last_used_at=last_used.get(c.family),
        )
        for c in current
    ]


def _mapping(session: Session, query: Any) -> dict[Any, Any]:
    return {key: value for key, value in session.execute(query)}


def entry_of(
    credential: Credential,
    *,
    created_at: datetime,
    refresh_expires_at: datetime | None,
    last_used_at: datetime | None,
) -> Entry:
    """The entry an access credential stands for: its chain's id, type and restrictions, no secret."""
    attributes = credential.attributes or {}
    return Entry(
        id=attributes.get("entry", credential.id),
        user_id=credential.user_id,
        name=credential.name or "",
        type=TYPES.get(attributes.get("type", ALL.name), ALL),
        created_at=created_at,
        expires_at=credential.expires_at,
        renewable_until=credential.renewable_until,
        refresh_expires_at=refresh_expires_at,
        last_used_at=last_used_at,
        endpoints=tuple(credential.scopes or ()),
        allowed_ips=tuple(attributes.get("allowed_ips") or ()),
    )
