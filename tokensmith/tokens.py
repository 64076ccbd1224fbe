"""Credential lifecycle shared by every dialect: mint, look up, validate, rotate, revoke.

Statuses are the core's own words (`active`, `expired`, `revoked`); dialects translate them. Rotation
and revocation use conditional UPDATEs (`... WHERE revoked_at IS NULL`) whose row count decides the
winner, so two racing requests can never both rotate the same token on SQLite or PostgreSQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tokensmith import audit, crypto, runtime
from tokensmith.core import Core
from tokensmith.errors import NotAllowed, TokenInvalid
from tokensmith.models import Credential, User
from tokensmith.users import authenticate

ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Issued:
    """A credential together with the secret shown to the client this once."""

    credential: Credential
    value: str


def status_of(credential: Credential, now: datetime) -> str:
    if credential.revoked_at is not None:
        return REVOKED
    if credential.expires_at is not None and credential.expires_at <= now:
        return EXPIRED
    return ACTIVE


def new_family() -> str:
    return uuid.uuid4().hex


def mint(
    session: Session,
    core: Core,
    *,
    kind: str,
    dialect: str,
    now: datetime,
    user_id: int | None = None,
    tenant_id: int | None = None,
    name: str | None = None,
    family: str | None = None,
    parent_id: int | None = None,
    lifespan: timedelta | None = None,
    renewable_until: datetime | None = None,
    scopes: list[Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> Issued:
    """Insert one credential row in the caller's transaction and return its one-time secret."""
    token = crypto.mint(kind, core.key)
    credential = Credential(
        public_id=token.public_id,
        kind=kind,
        dialect=dialect,
        user_id=user_id,
        tenant_id=tenant_id,
        name=name,
        family=family or new_family(),
        parent_id=parent_id,
        scopes=list(scopes or []),
        attributes=dict(attributes or {}),
        secret_hash=token.secret_hash,
        created_at=now,
        expires_at=now + lifespan if lifespan is not None else None,
        renewable_until=renewable_until,
    )
    session.add(credential)
    session.flush()
    audit.record(
        session,
        now,
        f"{kind}.issue",
        actor=audit.user_actor(user_id),
        target=credential.public_id,
        dialect=dialect,
        name=name,
    )
    return Issued(credential=credential, value=token.value)


def find(session: Session, core: Core, value: str, kind: str) -> Credential | None:
    """The row behind a presented token, or None: checksum first, then one indexed read, then a
    constant-time comparison of the keyed hash."""
    parsed = crypto.parse(value) if isinstance(value, str) else None
    if parsed is None or parsed.kind != kind:
        return None
    credential = session.scalar(select(Credential).where(Credential.public_id == parsed.public_id))
    if credential is None or not crypto.hash_matches(core.key, value, credential.secret_hash):
        return None
    return credential


def find_owned(session: Session, core: Core, value: str, kind: str, user_id: int) -> Credential:
    """Like `find`, but a token of another owner is as unknown as a made-up one."""
    credential = find(session, core, value, kind)
    if credential is None or credential.user_id != user_id:
        raise TokenInvalid()
    return credential


def revoke_where(session: Session, now: datetime, reason: str, *conditions: Any) -> int:
    """Revoke every live credential matching `conditions`; returns how many this call revoked."""
    result = session.execute(
        update(Credential)
        .where(Credential.revoked_at.is_(None), *conditions)
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def claim_for_rotation(session: Session, credential: Credential, now: datetime, reason: str) -> bool:
    """Revoke exactly this credential if nobody else has: the single point where a race is decided."""
    won = revoke_where(session, now, reason, Credential.id == credential.id) == 1
    if won:
        credential.revoked_at, credential.revoked_reason = now, reason
    return won


def touch(session: Session, credential_id: int, now: datetime) -> None:
    """Record use, at most once a minute per token, so the hot path rarely writes."""
    session.execute(
        update(Credential)
        .where(
            Credential.id == credential_id,
            (Credential.last_used_at.is_(None)) | (Credential.last_used_at <= now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


# --- the refresh / access pair (Alation's model; used by the integration dialect) -------------------

INTEGRATION = "integration"


def create_refresh_token(core: Core, username: str, password: str, name: str, client: str | None) -> Issued:
    """Password → refresh token. SSO accounts have no password here and are told so plainly."""
    user = authenticate_for_refresh(core, username, password, client)
    now = core.clock.now()
    with core.db.write() as session:
        days = runtime.get_value(session, ".authentication.token.refresh_token_lifespan")
        return mint(
            session,
            core,
            kind="refresh",
            dialect=INTEGRATION,
            now=now,
            user_id=user.id,
            name=name,
            lifespan=timedelta(days=days),
        )


def authenticate_for_refresh(core: Core, username: str, password: str, client: str | None) -> User:
    with core.db.read() as session:
        sso = session.scalar(
            select(User.id).where(User.username == username.strip(), User.auth_source == "sso")
        )
    if sso is not None:
        raise NotAllowed(
            "Refresh tokens of SSO users are created in the user interface, not with a password."
        )
    return authenticate(core, username, password, client)


def validate_refresh_token(core: Core, value: str, user_id: int) -> Credential:
    with core.db.read() as session:
        return find_owned(session, core, value, "refresh", user_id)


def regenerate_refresh_token(core: Core, value: str, user_id: int) -> Issued:
    """A new refresh token with the same name and a fresh lifespan; the old one and every access
    token minted from it are revoked. Works on an expired token (clients regenerate when validate says
    EXPIRED); a revoked one is refused, and of two racing calls exactly one wins."""
    now = core.clock.now()
    with core.db.write() as session:
        old = find_owned(session, core, value, "refresh", user_id)
        if not claim_for_rotation(session, old, now, "regenerated"):
            raise TokenInvalid()
        revoke_where(session, now, "parent regenerated", Credential.parent_id == old.id)
        days = runtime.get_value(session, ".authentication.token.refresh_token_lifespan")
        issued = mint(
            session,
            core,
            kind="refresh",
            dialect=INTEGRATION,
            now=now,
            user_id=user_id,
            name=old.name,
            family=old.family,
            lifespan=timedelta(days=days),
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


def create_access_token(core: Core, refresh_value: str, user_id: int) -> Issued:
    now = core.clock.now()
    with core.db.write() as session:
        parent = find_owned(session, core, refresh_value, "refresh", user_id)
        if status_of(parent, now) != ACTIVE:
            raise TokenInvalid()
        hours = runtime.get_value(session, ".authentication.token.access_token_lifespan")
        touch(session, parent.id, now)
        return mint(
            session,
            core,
            kind="access",
            dialect=INTEGRATION,
            now=now,
            user_id=user_id,
            family=parent.family,
            parent_id=parent.id,
            lifespan=timedelta(hours=hours),
        )


def validate_access_token(core: Core, value: str, user_id: int) -> Credential:
    with core.db.read() as session:
        return find_owned(session, core, value, "access", user_id)


def revoke_access_tokens(core: Core, refresh_value: str, user_id: int) -> tuple[Credential, int]:
    """Every live access token minted from this refresh token; the refresh token itself stays."""
    now = core.clock.now()
    with core.db.write() as session:
        parent = find_owned(session, core, refresh_value, "refresh", user_id)
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
