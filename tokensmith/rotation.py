"""What a rotation request saw when it began: the fact that tells a replay from a lost race.

A presented credential that had already been rotated away when the request began is a replay (someone
holds an old copy); one rotated away while the request was in flight lost a race to a concurrent
request of its rightful holder. Comparing the rotation's timestamp with the request's start cannot tell
them apart: two requests can read the same clock tick, and a request that read the clock *after* the
winner did can still have arrived before the winner committed. So the request's start is a database
fact instead: one statement, run first and on its own, reads the presented rows' state. Whatever it saw
rotated was rotated by a transaction that committed before this request began, in the database's own
order, on SQLite (a read sees every committed write) and PostgreSQL (one statement, one snapshot) alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from tokensmith import crypto
from tokensmith.core import Core
from tokensmith.models import Credential


def rotated_at_start(core: Core, values: Iterable[object], reason: str) -> frozenset[str]:
    """Public ids of the presented tokens that were already revoked for `reason` at this moment.

    Unverified on purpose (no hash check, malformed values skipped): callers verify the tokens in
    their write transaction and consult this only for those, by public id.
    """
    public_ids = []
    for value in values:
        parsed = crypto.parse(value) if isinstance(value, str) else None
        if parsed is not None:
            public_ids.append(parsed.public_id)
    if not public_ids:
        return frozenset()
    with core.db.read() as session:  # one statement: one snapshot of every presented row
        rows = session.execute(
            select(Credential.public_id).where(
                Credential.public_id.in_(public_ids), Credential.revoked_reason == reason
            )
        )
        return frozenset(public_id for (public_id,) in rows)
