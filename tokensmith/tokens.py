"""Credential lifecycle shared by every dialect: mint, look up, validate, rotate, revoke.

Statuses are the core's own words (`active`, `expired`, `revoked`); dialects translate them. Rotation
and revocation use conditional UPDATEs (`... WHERE revoked_at IS NULL`) whose row count decides the
winner, so two racing requests can never both rotate the same token on SQLite or PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from tokensmith import audit, crypto
from tokensmith.core import Core
from tokensmith.db import CredentialRow, PlainInsert, Transaction
from tokensmith.errors import TokenInvalid
from tokensmith.models import Credential
from tokensmith.webhooks import events

ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Issued:
    """A credential together with the secret shown to the client this once."""

    credential: CredentialRow
    value: str


# Statements of the issue path, built once and run on the transaction's connection (a plain insert, Core
# updates): the ORM unit of work was ~1.2 ms of a ~1.7 ms issue request (bench/).
_INSERT_CREDENTIAL = PlainInsert(Credential.__table__)
_TOUCH = (
    update(Credential.__table__)
    .where(
        Credential.__table__.c.id == bindparam("credential_id"),
        or_(
            Credential.__table__.c.last_used_at.is_(None),
            Credential.__table__.c.last_used_at <= bindparam("stale_before"),
        ),
    )
    .values(last_used_at=bindparam("now"))
)
_SET_ATTRIBUTES = (
    update(Credential.__table__)
    .where(Credential.__table__.c.id == bindparam("credential_id"))
    .values(attributes=bindparam("new_attributes"))
)


def status_of(credential: Credential, now: datetime) -> str:
    if credential.revoked_at is not None:
        return REVOKED
    if credential.expires_at is not None and credential.expires_at <= now:
        return EXPIRED
    return ACTIVE


def new_family() -> str:
    return uuid.uuid4().hex


def mint(
    session: Transaction,
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
    derived_from: Any = None,
) -> Issued:
    """Insert one credential row in the caller's transaction and return its one-time secret.

    `derived_from`: the credential this one is minted, renewed, regenerated or exchanged from. Its
    family's restrictions (endpoint scope, address list) pass to the new credential whatever the
    caller asks for, so nothing derived from a restricted credential is less restricted than it."""
    if derived_from is not None:
        family = family or derived_from.family
        scopes, attributes = inherit_restrictions(derived_from, scopes, attributes)
    token = crypto.mint(kind, core.key)
    values: dict[str, Any] = {
        "public_id": token.public_id,
        "kind": kind,
        "dialect": dialect,
        "user_id": user_id,
        "tenant_id": tenant_id,
        "name": name,
        "family": family or new_family(),
        "parent_id": parent_id,
        "scopes": list(scopes or []),
        "attributes": dict(attributes or {}),
        "secret_hash": token.secret_hash,
        "created_at": now,
        "expires_at": now + lifespan if lifespan is not None else None,
        "renewable_until": renewable_until,
        "revoked_at": None,
        "revoked_reason": None,
        "last_used_at": None,
    }
    credential_id = _INSERT_CREDENTIAL(session, values)
    audit.record(
        session,
        now,
        f"{kind}.issue",
        actor=audit.user_actor(user_id),
        target=token.public_id,
        dialect=dialect,
        name=name,
    )
    return Issued(credential=CredentialRow(id=credential_id, owner=None, **values), value=token.value)


RESTRICTING_ATTRIBUTES = ("allowed_ips",)


def inherit_restrictions(
    source: Any, scopes: list[Any] | None, attributes: dict[str, Any] | None
) -> tuple[list[Any], dict[str, Any]]:
    """(scopes, attributes) for a credential derived from `source`: its own where given, but the
    source's restrictions always win."""
    scopes = list(source.scopes) if source.scopes else list(scopes or [])
    attributes = dict(attributes or {})
    for name in RESTRICTING_ATTRIBUTES:
        inherited = (source.attributes or {}).get(name)
        if inherited:
            attributes[name] = list(inherited)
    return scopes, attributes


def set_attributes(session: Transaction, credential_ids: list[int], attributes: dict[str, Any]) -> None:
    connection = session.connection()
    for credential_id in credential_ids:
        connection.execute(_SET_ATTRIBUTES, {"credential_id": credential_id, "new_attributes": attributes})


def verified(core: Core, value: str, kind: str, read: Callable[[str], Any]) -> Any:
    """The row behind a presented tokensmith secret of this kind, or None: checksum first, then one
    indexed read (by public id, through `read`), then a constant-time comparison of the keyed hash.
    The secret reader of `tokensmith.verifier`, and of every writer that redeems a token."""
    parsed = crypto.parse(value) if isinstance(value, str) else None
    if parsed is None or parsed.kind != kind:
        return None
    credential = read(parsed.public_id)
    if credential is None or not crypto.hash_matches(core.key, value, credential.secret_hash):
        return None
    return credential


def find(session: Session, core: Core, value: str, kind: str) -> Credential | None:
    """`verified` inside the caller's transaction, as an ORM object it may change."""
    return verified(
        core,
        value,
        kind,
        lambda public_id: session.scalar(select(Credential).where(Credential.public_id == public_id)),
    )


def find_row(session: Transaction, core: Core, value: str, kind: str) -> CredentialRow | None:
    """`verified` inside the caller's transaction, read with the hot path's plain SQL: for writers
    that only read the row and change it through statements (`touch`, `claim_for_rotation`)."""
    return verified(core, value, kind, lambda public_id: core.db.fast.credential_in(session, public_id))


def lookup(core: Core, value: str, kind: str) -> CredentialRow | None:
    """`verified` for read-only callers on the hot path, through the held plain-SQL reader."""
    return verified(core, value, kind, core.db.fast.credential)


def lookup_owned(core: Core, value: str, kind: str, user_id: int, *, dialect: str) -> CredentialRow:
    """`lookup`, refusing (as unknown) a token of another owner or one another dialect issued."""
    credential = lookup(core, value, kind)
    if credential is None or credential.user_id != user_id or credential.dialect != dialect:
        raise TokenInvalid()
    return credential


def with_descendants(session: Session, ids: set[int]) -> set[int]:
    """These credentials and every token minted from them, however deep the chain."""
    found, frontier = set(ids), set(ids)
    while frontier:
        children = set(session.scalars(select(Credential.id).where(Credential.parent_id.in_(frontier))))
        frontier = children - found
        found |= frontier
    return found


def revoke_cascading(session: Session, now: datetime, reason: str, *conditions: Any) -> int:
    """Revoke what `conditions` match and everything derived from it; returns how many were live."""
    roots = set(session.scalars(select(Credential.id).where(*conditions)))
    if not roots:
        return 0
    return revoke_where(session, now, reason, Credential.id.in_(with_descendants(session, roots)))


def find_owned(
    session: Transaction,
    core: Core,
    value: str,
    kind: str,
    user_id: int,
    *,
    dialect: str,
    reader: Callable = find,
) -> Any:
    """Like `find` (or the `reader` given, `find_row`), but a token of another owner, or one that
    another dialect issued, is as unknown as a made-up one: a refresh token is redeemed only by the
    dialect whose rules made it (one dialect's refresh token is never redeemed by another)."""
    credential = reader(session, core, value, kind)
    if credential is None or credential.user_id != user_id or credential.dialect != dialect:
        raise TokenInvalid()
    return credential


def revoke_where(
    session: Session, now: datetime, reason: str, *conditions: Any, announce: bool = True
) -> int:
    """Revoke every live credential matching `conditions`; returns how many this call revoked.

    Every revocation is announced (`token.revoked`, in this transaction) unless `announce` is False,
    which is only for a credential its holder's own act ends: a rotation that replaces it in the same
    transaction (a renewal, a regeneration), or a logout. Nobody lost a token they did not give up."""
    statement = (
        update(Credential)
        .where(Credential.revoked_at.is_(None), *conditions)
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if not announce:
        return session.execute(statement).rowcount or 0
    revoked = list(session.scalars(statement.returning(Credential.id)))
    events.announce_revoked(session, now, revoked)
    return len(revoked)


def claim_for_rotation(session: Session, credential: Credential, now: datetime, reason: str) -> bool:
    """Revoke exactly this credential if nobody else has: the single point where a race is decided.
    A rotation, not a revocation anyone is told about (see `revoke_where`)."""
    won = revoke_where(session, now, reason, Credential.id == credential.id, announce=False) == 1
    if won:
        credential.revoked_at, credential.revoked_reason = now, reason
    return won


def use_is_stale(credential: Any, now: datetime) -> bool:
    """Whether a use now should be written: the recorded one is missing or older than the resolution.
    Checked before a write is even begun, so a busy token costs one write a minute, not one a request."""
    return credential.last_used_at is None or credential.last_used_at <= now - LAST_USED_RESOLUTION


def touch_read(session: Transaction, credential: CredentialRow, now: datetime) -> None:
    """`touch` a row read in this transaction, skipping the statement when the row shows a use within
    the resolution (the UPDATE's own condition would match nothing)."""
    if use_is_stale(credential, now):
        touch(session, credential.id, now)


def touch(session: Transaction, credential_id: int, now: datetime) -> None:
    """Record use, at most once a minute per token, so the hot path rarely writes."""
    session.connection().execute(
        _TOUCH, {"credential_id": credential_id, "stale_before": now - LAST_USED_RESOLUTION, "now": now}
    )
