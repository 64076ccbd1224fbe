"""Failed-login throttling per account and per client address, in the database so all workers agree.

Both counters are keyed by what the client *sent* (the lower-cased username, the address), so an unknown
user is throttled exactly like a real one and the reply never tells them apart.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tokensmith import runtime
from tokensmith.errors import Throttled
from tokensmith.models import LoginThrottle
from tokensmith.text import safe_key, tidy


def keys_for(username: str, client: str | None) -> list[tuple[str, str]]:
    """(key, limit setting) pairs that one login attempt counts against."""
    keys = [(f"user:{safe_key(tidy(username).lower())}", ".authentication.throttle.max_failures_per_account")]
    if client:
        keys.append((f"addr:{safe_key(client)}", ".authentication.throttle.max_failures_per_address"))
    return keys


def check(session: Session, username: str, client: str | None, now: datetime) -> None:
    """Raise Throttled while any counter of this attempt is blocked; reads only."""
    wanted = [key for key, _ in keys_for(username, client)]
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(wanted)))
    waits = [(row.blocked_until - now).total_seconds() for row in rows if row.blocked_until]
    waits = [wait for wait in waits if wait > 0]
    if waits:
        raise Throttled(retry_after=math.ceil(max(waits)))


def record_failure(session: Session, username: str, client: str | None, now: datetime) -> None:
    window = timedelta(minutes=runtime.get_value(session, ".authentication.throttle.window"))
    for key, limit_key in keys_for(username, client):
        limit = runtime.get_value(session, limit_key)
        row = session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_start=now, blocked_until=None)
            session.add(row)
        elif now - row.window_start >= window:
            row.failures, row.window_start, row.blocked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit:
            row.blocked_until = now + window


def record_success(session: Session, username: str) -> None:
    """A correct password clears the account's counter (not the address's: one success proves little)."""
    key = keys_for(username, None)[0][0]
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def consume(session: Session, key: str, limit: int, window: timedelta, now: datetime) -> None:
    """Count one use of a rate-limited action; raise Throttled once `limit` uses fall in one window."""
    key = safe_key(key)
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now, blocked_until=None)
        session.add(row)
    elif now - row.window_start >= window:
        row.failures, row.window_start, row.blocked_until = 0, now, None
    if row.failures >= limit:
        raise Throttled(
            retry_after=math.ceil((row.window_start + window - now).total_seconds()),
            message="Too many requests from this address.",
        )
    row.failures += 1
