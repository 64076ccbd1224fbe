"""What the core counts for monitoring, without knowing how it is exported.

Two kinds of figures: in-process counters for events too frequent to audit (token validations), and
figures read from the database, which every worker and instance shares (issued, revoked, live tokens,
failed logins), so a scrape of any one process tells the truth about the whole deployment.
"""

from __future__ import annotations

from collections import Counter
from threading import Lock

from sqlalchemy import func, select

from tokensmith.core import Core
from tokensmith.models import AuditEvent, Credential

_validations: Counter[tuple[str, str]] = Counter()
_lock = Lock()


def count_validation(kind: str, outcome: str) -> None:
    with _lock:
        _validations[(kind, outcome)] += 1


def validations() -> dict[tuple[str, str], int]:
    with _lock:
        return dict(_validations)


def database_figures(core: Core) -> dict[str, dict[str, int]]:
    """Issued and revoked by kind, live by kind, failed logins: all from shared tables."""
    now = core.clock.now()
    with core.db.read() as session:
        actions = dict(
            session.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all()
        )
        revoked = dict(
            session.execute(
                select(Credential.kind, func.count())
                .where(Credential.revoked_at.is_not(None))
                .group_by(Credential.kind)
            ).all()
        )
        live = dict(
            session.execute(
                select(Credential.kind, func.count())
                .where(
                    Credential.revoked_at.is_(None),
                    (Credential.expires_at.is_(None)) | (Credential.expires_at > now),
                )
                .group_by(Credential.kind)
            ).all()
        )
    issued = {action.removesuffix(".issue"): n for action, n in actions.items() if action.endswith(".issue")}
    return {
        "issued": issued,
        "revoked": revoked,
        "live": live,
        "failed_logins": {"": actions.get("login.failed", 0)},
    }
