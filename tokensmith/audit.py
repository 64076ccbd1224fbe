"""The append-only audit trail. Callers pass identifiers, never secrets: a public id, a user id, a name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tokensmith.models import AuditEvent


def record(
    session: Session,
    at: datetime,
    action: str,
    *,
    actor: str | None = None,
    target: str | None = None,
    client: str | None = None,
    **detail: Any,
) -> None:
    session.add(AuditEvent(at=at, action=action, actor=actor, target=target, client=client, detail=detail))


def user_actor(user_id: int | None) -> str | None:
    return None if user_id is None else f"user:{user_id}"
