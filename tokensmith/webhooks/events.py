"""Token events: what happened to a credential, recorded in the transaction of the change itself.

Each `announce_*` is called by the one core function that makes the change (`tokens.revoke_where`
for every revocation, `inventory.report_leaked`, the scoped tokens' replay check, `tenants.
regenerate_token`, the expiry scan) with that change's session, and adds one `webhook.event` job per
event through `jobs.enqueue`: committed with the change or not at all, so an acknowledged revoke always
produces its event and a rolled-back one never does. The job is later fanned out to the subscriptions
whose owner may see the credential (`webhooks.delivery`).

The event's body is the Standard Webhooks envelope `{"type", "timestamp", "data"}`, built here from the
row as it is at that moment and never holding a secret or a hash. It is the one wire format the core
writes itself, because the core (a worker, not a request) sends it; its field names are camelCase as
webhook receivers expect them, and its times RFC 3339 UTC.

When no subscription at all wants an event type, nothing is recorded for it (one small read): a
subscription receives events from its creation on, not the ones before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from tokensmith import jobs
from tokensmith.models import Credential, Tenant, User, Webhook

EXPIRING = "token.expiring"
EXPIRED = "token.expired"
REVOKED = "token.revoked"
CHAIN_REVOKED = "chain.revoked"
LEAKED = "token.leaked"
TENANT_TOKEN_REGENERATED = "tenant.token.regenerated"
EVENT_TYPES = (EXPIRING, EXPIRED, REVOKED, CHAIN_REVOKED, LEAKED, TENANT_TOKEN_REGENERATED)

EVENT_JOB = "webhook.event"
_CHUNK = 500  # ids per IN (...) list: SQLite caps a statement's parameters


def rfc3339(moment: datetime | None) -> str | None:
    """UTC with microseconds and `Z`, as the native API writes times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def wanted(session: Any, event_type: str) -> bool:
    """Whether any subscription asks for `event_type` (whose owner may see it is the fan-out's call)."""
    return any(event_type in (events or ()) for events in session.scalars(select(Webhook.events)))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def credential_facts(session: Any, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The payload's description of each credential, read as it is now in this transaction. Columns,
    not ORM objects: an object loaded before a bulk UPDATE would still show the old values."""
    facts: dict[int, dict[str, Any]] = {}
    tenant_of = func.coalesce(Credential.tenant_id, User.tenant_id)
    for chunk in _chunks(sorted(set(ids))):
        rows = session.execute(
            select(
                Credential.id,
                Credential.public_id,
                Credential.kind,
                Credential.dialect,
                Credential.name,
                Credential.family,
                Credential.user_id,
                Credential.created_at,
                Credential.expires_at,
                Credential.revoked_at,
                Credential.revoked_reason,
                User.username,
                Tenant.external_id.label("tenant_external_id"),
                Tenant.name.label("tenant_name"),
            )
            .outerjoin(User, User.id == Credential.user_id)
            .outerjoin(Tenant, Tenant.id == tenant_of)
            .where(Credential.id.in_(chunk))
        ).all()
        for row in rows:
            if row.user_id is not None:
                owner = {
                    "type": "user",
                    "id": row.user_id,
                    "username": row.username,
                    "tenant": row.tenant_external_id,
                }
            else:
                owner = {"type": "tenant", "id": row.tenant_external_id, "name": row.tenant_name}
            facts[row.id] = {
                "publicId": row.public_id,
                "kind": row.kind,
                "dialect": row.dialect,
                "name": row.name,
                "family": row.family,
                "owner": owner,
                "createdAt": rfc3339(row.created_at),
                "expiresAt": rfc3339(row.expires_at),
                "revokedAt": rfc3339(row.revoked_at),
                "reason": row.revoked_reason,
            }
    return facts


def _emit(
    session: Any, now: datetime, event_type: str, subject: int, data: dict[str, Any], key: str | None = None
) -> None:
    """One event: a `webhook.event` job in the caller's transaction. `subject` is the credential whose
    visibility decides who receives it."""
    envelope = {"type": event_type, "timestamp": rfc3339(now), "data": data}
    jobs.enqueue(session, EVENT_JOB, {"event": envelope, "subject": subject}, key=key, now=now)


def announce_revoked(session: Any, now: datetime, credential_ids: list[int]) -> None:
    """`token.revoked` for each credential a revocation just revoked (`tokens.revoke_where`)."""
    if not credential_ids or not wanted(session, REVOKED):
        return
    for credential_id, data in credential_facts(session, credential_ids).items():
        _emit(session, now, REVOKED, credential_id, data)


def announce_leaked(session: Any, now: datetime, credential_id: int, revoked: int) -> None:
    """`token.leaked` for a reported token (`inventory.report_leaked`); `revoked` counts what the report
    revoked with it (the tokens minted from it each get their own `token.revoked`)."""
    if not wanted(session, LEAKED):
        return
    data = credential_facts(session, [credential_id]).get(credential_id)
    if data is not None:
        _emit(session, now, LEAKED, credential_id, {**data, "revokedWithIt": revoked})


def announce_chain_revoked(
    session: Any, now: datetime, subject: int, presented: list[str], reason: str
) -> None:
    """`chain.revoked`: a replayed (already superseded) pair revoked every credential of its chain, just
    now and for `reason` (each of them also gets its own `token.revoked`)."""
    if not wanted(session, CHAIN_REVOKED):
        return
    about = credential_facts(session, [subject]).get(subject)
    if about is None:
        return
    revoked = session.scalars(
        select(Credential.public_id).where(
            Credential.family == about["family"],
            Credential.revoked_at == now,
            Credential.revoked_reason == reason,
        )
    )
    data = {
        "family": about["family"],
        "owner": about["owner"],
        "dialect": about["dialect"],
        "name": about["name"],
        "revokedAt": rfc3339(now),
        "reason": reason,
        "presented": presented,
        "revoked": sorted(revoked),
    }
    _emit(session, now, CHAIN_REVOKED, subject, data)


def announce_tenant_token_regenerated(
    session: Any, now: datetime, credential_id: int, replaced: list[str]
) -> None:
    """`tenant.token.regenerated`: a tenant's access token was replaced (`tenants.regenerate_token`);
    `data` describes the new token (never its value) and names the ones it replaced."""
    if not wanted(session, TENANT_TOKEN_REGENERATED):
        return
    data = credential_facts(session, [credential_id]).get(credential_id)
    if data is not None:
        _emit(session, now, TENANT_TOKEN_REGENERATED, credential_id, {**data, "replaces": replaced})


def announce_expiring(session: Any, now: datetime, credential_ids: list[int], lead_hours: int) -> None:
    """`token.expiring` for credentials whose remaining life just crossed `lead_hours`; keyed, so each
    (credential, lead time) is announced once however many scans see it."""
    for credential_id, data in credential_facts(session, credential_ids).items():
        key = f"{EVENT_JOB}:{EXPIRING}:{credential_id}:{lead_hours}h"
        _emit(session, now, EXPIRING, credential_id, {**data, "noticeHours": lead_hours}, key=key)


def announce_expired(session: Any, now: datetime, credential_ids: list[int]) -> None:
    """`token.expired` for credentials whose expiry just passed; keyed, once per credential."""
    for credential_id, data in credential_facts(session, credential_ids).items():
        _emit(session, now, EXPIRED, credential_id, data, key=f"{EVENT_JOB}:{EXPIRED}:{credential_id}")
