"""The append-only audit trail. Callers pass identifiers, never secrets: a public id, a user id, a name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from tokensmith import paging
from tokensmith.db import PlainInsert, Transaction
from tokensmith.models import AuditEvent
from tokensmith.text import storable

# Written at once, in the caller's transaction, by a plain insert (`db.PlainInsert`), without the ORM
# unit of work: most writes audit, so this is on every issue path.
_INSERT_EVENT = PlainInsert(AuditEvent.__table__)


def record(
    session: Transaction,
    at: datetime,
    action: str,
    *,
    actor: str | None = None,
    target: str | None = None,
    client: str | None = None,
    **detail: Any,
) -> None:
    values = {
        "at": at,
        "action": action,
        "actor": actor,
        "target": target,
        "client": client,
        "detail": detail,
    }
    _INSERT_EVENT(session, values)


def user_actor(user_id: int | None) -> str | None:
    return None if user_id is None else f"user:{user_id}"


def list_events(
    core: Any,
    *,
    visible: Any,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> paging.Page[AuditEvent]:
    """Newest first, among the events `visible` (a condition from `policy.audit_condition`) admits."""
    if not all(storable(v) for v in (actor, action, target)):
        return paging.Page(items=[], next_cursor=None)
    query = select(AuditEvent).where(visible)
    conditions = [
        (actor, lambda v: AuditEvent.actor == v),
        (action, lambda v: AuditEvent.action == v),
        (target, lambda v: AuditEvent.target == v),
        (since, lambda v: AuditEvent.at >= v),
        (until, lambda v: AuditEvent.at < v),
        (paging.decode(cursor), lambda v: AuditEvent.id < v),
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition(value))
    with core.db.read() as session:
        rows = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    return paging.page(rows, limit, lambda event: event.id)
