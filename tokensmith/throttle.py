"""Failed-login throttling per account and per client address, in the database so all workers agree.

An attempt *reserves* a slot on each of its counters before the password is checked, in one atomic
statement per counter (INSERT ... ON CONFLICT DO UPDATE ... WHERE, the same on SQLite and PostgreSQL):
the statement adds one only while the counter is under its limit in the current window, and the
reservations are committed before the (slow) Argon2id check starts. So however many requests race, on
however many workers and instances, at most `limit` password checks run per counter and window: the
bound holds by construction, not by reading a count and hoping nobody else did too.

A failed check keeps its reservation (it is the failure) and, at the limit, blocks the counter for one
window from then. A correct password clears the account's counter and gives back its reservation on the
address's (one success from an address proves little about the others).

Counters are keyed by what the client *sent*: the account counter by a keyed hash of the normalised
username (so an unknown user is throttled exactly like a real one, and a password typed into the
username field is never stored), the address counter by the address.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tokensmith import runtime, usernames
from tokensmith.errors import Throttled
from tokensmith.models import LoginThrottle
from tokensmith.text import safe_key

ACCOUNT_LIMIT = ".authentication.throttle.max_failures_per_account"
ADDRESS_LIMIT = ".authentication.throttle.max_failures_per_address"
WINDOW = ".authentication.throttle.window"  # minutes

_TABLE = LoginThrottle.__table__
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int


@dataclass(frozen=True)
class Reservation:
    """The slots one login attempt holds, to settle once its password check is done."""

    account: Counter
    address: Counter | None
    window: timedelta
    now: datetime


def account_key(server_key: bytes, username: str) -> str:
    """The account counter's key: a keyed hash of the normalised name, never the name itself."""
    text = usernames.key(username) if isinstance(username, str) else ""
    digest = hmac.new(server_key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"user:{digest}"


def counters(session: Session, server_key: bytes, username: str, client: str | None) -> list[Counter]:
    found = [Counter(account_key(server_key, username), runtime.get_value(session, ACCOUNT_LIMIT))]
    if client:
        found.append(Counter(f"addr:{safe_key(client)[:300]}", runtime.get_value(session, ADDRESS_LIMIT)))
    return found


def reserve(
    session: Session, server_key: bytes, username: str, client: str | None, now: datetime
) -> Reservation:
    """Take one attempt on the account's and the address's counters, or raise Throttled taking none.

    Call in a transaction of its own and commit before checking the password. A refusal raises inside
    the transaction, so its rollback undoes a slot already taken on the other counter.
    """
    window = runtime.get_span(session, WINDOW)
    wanted = counters(session, server_key, username, client)
    for counter in wanted:  # always account first, then address: one lock order, no deadlock
        if not _take(session, counter, window, now):
            raise Throttled(retry_after=_wait(session, counter.key, window, now))
    return Reservation(wanted[0], wanted[1] if len(wanted) > 1 else None, window, now)


def _take(session: Session, counter: Counter, window: timedelta, now: datetime) -> bool:
    row = _TABLE.c
    expired = row.window_start <= now - window
    insert = _INSERTS[session.get_bind().dialect.name](_TABLE)
    statement = (
        insert.values(key=counter.key, failures=1, window_start=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=[row.key],
            set_={
                "failures": case((expired, 1), else_=row.failures + 1),
                "window_start": case((expired, literal(now, row.window_start.type)), else_=row.window_start),
            },
            where=(row.blocked_until.is_(None) | (row.blocked_until <= now))
            & (expired | (row.failures < counter.limit)),
        )
        .returning(row.failures)
    )
    return session.execute(statement).first() is not None


def _wait(session: Session, key: str, window: timedelta, now: datetime) -> int:
    row = session.get(LoginThrottle, key)
    if row is None:  # cannot happen inside the refusing transaction; wait one window to be safe
        return math.ceil(window.total_seconds())
    until = max(row.window_start + window, row.blocked_until or row.window_start)
    return math.ceil((until - now).total_seconds())


def record_failure(session: Session, reservation: Reservation) -> None:
    """The attempt failed: its slots stay taken; a counter at its limit is blocked for one window."""
    for counter in (reservation.account, reservation.address):
        if counter is not None:
            session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == counter.key, LoginThrottle.failures >= counter.limit)
                .values(blocked_until=reservation.now + reservation.window)
                .execution_options(synchronize_session=False)
            )


def record_success(session: Session, reservation: Reservation) -> None:
    """A correct password clears the account's counter and returns the address's slot."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == reservation.account.key))
    if reservation.address is not None:
        session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.key == reservation.address.key,
                LoginThrottle.failures > 0,
                LoginThrottle.window_start > reservation.now - reservation.window,
            )
            .values(failures=LoginThrottle.failures - 1)
            .execution_options(synchronize_session=False)
        )


def consume(session: Session, key: str, limit: int, window: timedelta, now: datetime) -> None:
    """Count one use of a rate-limited action; raise Throttled once `limit` uses fall in one window.

    The same atomic conditional upsert as a login reservation, so racing callers cannot overshoot."""
    counter = Counter(safe_key(key), limit)
    if not _take(session, counter, window, now):
        row: Any = session.scalar(select(LoginThrottle).where(LoginThrottle.key == counter.key))
        raise Throttled(
            retry_after=math.ceil((row.window_start + window - now).total_seconds()) if row else 1,
            message="Too many requests from this address.",
        )
