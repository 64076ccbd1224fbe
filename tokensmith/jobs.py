"""Durable background work: an outbox in the caller's transaction, claimed by workers under a lease.

Why one module of our own (docs/workers.md says more): the work a state change causes (a workflow run,
a webhook event) must be recorded in the *same* transaction as the change, so that an acknowledged
change always produces its work and a rolled-back one never does, on SQLite and PostgreSQL alike. The
queue libraries we looked at either keep their queue outside our transaction (a broker: huey, dramatiq,
rq, celery) or run on PostgreSQL only (procrastinate, pgqueuer).

The life of a job:

- `enqueue` adds a `jobs` row (status `queued`) in the caller's session. A `key` makes it idempotent:
  a second enqueue with a key already present (queued, done or dead) does nothing.
- A worker `claim`s due jobs (`run_at` passed by the core clock, no live lease) and leases them:
  `leased_until` = now + lease, `lease_owner` = the worker, `attempts` + 1. On PostgreSQL the
  candidates are read `FOR UPDATE SKIP LOCKED`, so concurrent workers pass each other's rows by; on
  SQLite the write transaction (BEGIN IMMEDIATE) is the only writer. Either way each row is taken by a
  conditional UPDATE whose row count says whether this worker got it.
- The worker calls the kind's handler. Returning marks the job `done` (kept, so its key keeps
  deduplicating, and purged after `KEEP_DONE`); raising `Retry` puts the same job back for later
  (not a failure); any other exception is a failure: the job is put back after a capped exponential
  backoff, and after its kind's `max_attempts` failures it is `dead`, with the error kept for an operator
  (`tokensmith jobs`), and the kind's `on_dead` hook runs in the same transaction.
- A worker that dies leaves its lease to expire; the next claim after that takes the job over and counts
  the lost run as a failure (so a job that kills its worker every time ends dead, not in a loop).

Leases are long (`TOKENSMITH_JOB_LEASE`, 300 s) and handlers short: a handler that may take longer
calls `extend_lease`. Every time here is the core clock's, so in testing mode due times follow the
testing clock.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, event, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tokensmith.db import Transaction
from tokensmith.models import Job as JobRow

if TYPE_CHECKING:
    from tokensmith.core import Core

logger = logging.getLogger("tokensmith.jobs")

QUEUED, DONE, DEAD = "queued", "done", "dead"
# Modules whose @handler registrations a worker needs: imported by `load_handlers`, explicitly.
JOB_MODULES: tuple[str, ...] = (
    "tokensmith.workflows.runs",
    "tokensmith.webhooks.delivery",
    "tokensmith.webhooks.expiry",
)

DEFAULT_LEASE = timedelta(seconds=300)
MAX_ATTEMPTS = 10  # failures before a job is dead, unless its kind says otherwise
BACKOFF_BASE = timedelta(seconds=10)  # after the first failure; doubled after each further one
BACKOFF_CAP = timedelta(hours=1)  # ten failures take about 2.5 hours to exhaust
KEEP_DONE = timedelta(days=7)  # done jobs (and so their keys) are purged this long after they finished
MAX_ERROR_CHARS = 4000
LOST = "The previous run lost its worker before it finished (its lease expired)."

_TABLE = JobRow.__table__
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class Job:
    """What a handler gets: the job as claimed. `attempts` is 1 on the first run; `lease_owner` and
    `leased_until` are this run's lease (see `extend_lease`)."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime | None
    failures: int = 0
    lease_owner: str = ""
    leased_until: datetime | None = None


class Retry(Exception):
    """Raised by a handler: run this same job (same id, same payload) again `after` from now. Not a
    failure: it does not count towards `max_attempts` (a workflow's `wait` step is one)."""

    def __init__(self, after: timedelta, reason: str) -> None:
        super().__init__(reason)
        self.after = after
        self.reason = reason


@dataclass(frozen=True)
class Kind:
    run: Callable[[Core, Job], None]
    max_attempts: int = MAX_ATTEMPTS
    # Called in the transaction that marks the job dead: (session, job, error, now). A kind whose job
    # stands for a record (a workflow run) closes that record here, so nothing is left half-done.
    on_dead: Callable[[Session, Job, str, datetime], None] | None = None


HANDLERS: dict[str, Kind] = {}


def handler(
    kind: str,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    on_dead: Callable[[Session, Job, str, datetime], None] | None = None,
) -> Callable[[Callable[[Core, Job], None]], Callable[[Core, Job], None]]:
    """Register `fn(core, job)` as the handler of `kind`. Handlers must tolerate running twice (a
    worker may die after the work and before marking the job done): the guarantee is at least once."""

    def register(fn: Callable[[Core, Job], None]) -> Callable[[Core, Job], None]:
        HANDLERS[kind] = Kind(fn, max_attempts, on_dead)
        return fn

    return register


def load_handlers() -> None:
    """Import every module of `JOB_MODULES`, so their handlers are registered in this process."""
    for module in JOB_MODULES:
        importlib.import_module(module)


# --- the outbox ------------------------------------------------------------------------------------

_WAKERS: set[threading.Event] = set()  # one per local worker thread: set when a job was committed


def _wake_local(*_args: Any) -> None:
    for waker in list(_WAKERS):
        waker.set()


def enqueue(
    session: Session | Transaction,
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> None:
    """Add a job in the caller's transaction: committed with the change that caused it, or not at all.

    `run_at` None: due at once. `key` (at most 255 characters): a job with this key already present
    makes this a no-op (INSERT .. ON CONFLICT DO NOTHING, on both databases). `now` (the caller's
    clock reading, when it has one) is recorded as the job's `created_at`. Local workers are woken
    when the transaction commits."""
    connection = session.connection()
    statement = (
        _INSERTS[connection.dialect.name](_TABLE)
        .values(
            id=str(uuid.uuid4()),
            kind=kind,
            payload=payload,
            key=key,
            status=QUEUED,
            run_at=run_at,
            attempts=0,
            failures=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[_TABLE.c.key])
    )
    connection.execute(statement)
    target: Any = session if isinstance(session, Session) else connection
    name = "after_commit" if isinstance(session, Session) else "commit"
    if not event.contains(target, name, _wake_local):
        event.listen(target, name, _wake_local)


# --- claiming and running --------------------------------------------------------------------------


def _due(now: datetime) -> Any:
    return (
        (JobRow.status == QUEUED)
        & (JobRow.run_at.is_(None) | (JobRow.run_at <= now))
        & (JobRow.leased_until.is_(None) | (JobRow.leased_until < now))
    )


def claim(core: Core, owner: str, *, lease: timedelta = DEFAULT_LEASE, limit: int = 1) -> list[Job]:
    """Lease up to `limit` due jobs to `owner`, oldest due first, in one transaction.

    An idle worker asks every poll interval: a plain read answers "nothing due" without the write
    transaction, which on SQLite would take the database's one write lock from the requests."""
    now = core.clock.now()
    with core.db.read() as session:
        if session.scalar(select(JobRow.id).where(_due(now)).limit(1)) is None:
            return []
    with core.db.write() as session:
        candidates = session.scalars(
            select(JobRow.id)
            .where(_due(now))
            .order_by(JobRow.run_at.asc().nulls_first(), JobRow.created_at.asc().nulls_first())
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes
        ).all()
        taken = []
        taken_over = JobRow.leased_until.is_not(None)
        for job_id in candidates:
            result = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, _due(now))
                .values(
                    leased_until=now + lease,
                    lease_owner=owner,
                    attempts=JobRow.attempts + 1,
                    # a lease that is still set has expired: its worker died during that run
                    failures=case((taken_over, JobRow.failures + 1), else_=JobRow.failures),
                    last_error=case((taken_over, literal(LOST)), else_=JobRow.last_error),
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                taken.append(job_id)
        if not taken:
            return []
        rows = session.scalars(select(JobRow).where(JobRow.id.in_(taken))).all()
        jobs = {row.id: _job(row) for row in rows}
    return [jobs[job_id] for job_id in taken]


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        payload=dict(row.payload or {}),
        attempts=row.attempts,
        created_at=row.created_at,
        failures=row.failures,
        lease_owner=row.lease_owner or "",
        leased_until=row.leased_until,
    )


def extend_lease(core: Core, job: Job, lease: timedelta = DEFAULT_LEASE) -> bool:
    """A long handler's heartbeat: keep the job another `lease` from now. False when the lease was
    lost (another worker took the job over): the handler should stop."""
    with core.db.write() as session:
        result = session.execute(
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.lease_owner == job.lease_owner, JobRow.status == QUEUED)
            .values(leased_until=core.clock.now() + lease)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def backoff(failures: int) -> timedelta:
    """The wait after the `failures`-th failure: BACKOFF_BASE doubled each time, capped at BACKOFF_CAP."""
    if failures >= 20:  # 2**20 × 10 s is far past the cap; no need to compute huge numbers
        return BACKOFF_CAP
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, failures - 1)))


def _mine(job: Job) -> Any:
    return (JobRow.id == job.id) & (JobRow.lease_owner == job.lease_owner) & (JobRow.status == QUEUED)


def _settle(core: Core, job: Job, **values: Any) -> bool:
    """Record the outcome of this run, if the job is still this run's (its lease was not taken over)."""
    with core.db.write() as session:
        result = session.execute(
            update(JobRow).where(_mine(job)).values(**values).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            logger.warning("job %s (%s): lost its lease before it finished; not recorded", job.id, job.kind)
            return False
        return True


def _kill(core: Core, job: Job, kind: Kind | None, error: str, failures: int) -> None:
    """Mark the job dead, keeping the error, and let its kind close what it stood for, in one transaction."""
    now = core.clock.now()
    with core.db.write() as session:
        result = session.execute(
            update(JobRow)
            .where(_mine(job))
            .values(
                status=DEAD,
                failures=failures,
                finished_at=now,
                leased_until=None,
                last_error=error[:MAX_ERROR_CHARS],
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1 and kind is not None and kind.on_dead is not None:
            kind.on_dead(session, job, error, now)
    logger.error("job %s (%s) is dead after %d failures: %s", job.id, job.kind, failures, error)


def run_claimed(core: Core, job: Job) -> None:
    """Run one claimed job's handler and record what became of it."""
    kind = HANDLERS.get(job.kind)
    limit = kind.max_attempts if kind is not None else MAX_ATTEMPTS
    if job.failures >= limit:  # its worker kept dying (lost leases count as failures)
        _kill(core, job, kind, f"Gave up after {job.failures} failures; last: {LOST}", job.failures)
        return
    try:
        if kind is None:
            raise LookupError(f"no handler for job kind {job.kind!r} in this process")
        kind.run(core, job)
    except Retry as retry:
        _settle(
            core,
            job,
            run_at=core.clock.now() + retry.after,
            leased_until=None,
            lease_owner=None,
            note=retry.reason[:MAX_ERROR_CHARS],
        )
        return
    except Exception as exc:
        error = "".join(traceback.format_exception_only(exc)).strip()
        failures = job.failures + 1
        if failures >= limit:
            _kill(core, job, kind, f"Failed {failures} times; last error: {error}", failures)
            return
        logger.warning("job %s (%s) failed (%d of %d): %s", job.id, job.kind, failures, limit, error)
        _settle(
            core,
            job,
            failures=failures,
            run_at=core.clock.now() + backoff(failures),
            leased_until=None,
            lease_owner=None,
            last_error=error[:MAX_ERROR_CHARS],
        )
        return
    _settle(core, job, status=DONE, finished_at=core.clock.now(), leased_until=None)


def new_owner(name: str = "worker") -> str:
    """A lease owner's name: which host, process and thread holds a job, for an operator reading rows."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{name}:{uuid.uuid4().hex[:8]}"


def run_due(
    core: Core, *, owner: str | None = None, lease: timedelta = DEFAULT_LEASE, limit: int = 1000
) -> int:
    """Run every job due now (and any that become due while running, up to `limit`), here and at once:
    what tests and one-off scripts use instead of a worker thread. Returns the number of runs."""
    load_handlers()
    owner = owner or new_owner("run_due")
    done = 0
    while done < limit:
        claimed = claim(core, owner, lease=lease)
        if not claimed:
            break
        run_claimed(core, claimed[0])
        done += 1
    return done


def purge(core: Core, before: datetime) -> int:
    """Delete done jobs finished before `before` (dead ones stay until an operator deletes them)."""
    with core.db.write() as session:
        result = session.execute(
            delete(JobRow)
            .where(JobRow.status == DONE, JobRow.finished_at < before)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount


# --- what an operator sees -------------------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    id: str
    kind: str
    status: str
    key: str | None
    run_at: datetime | None
    attempts: int
    failures: int
    leased_until: datetime | None
    lease_owner: str | None
    created_at: datetime | None
    finished_at: datetime | None
    last_error: str | None
    note: str | None


def list_jobs(core: Core, status: str | None = None, limit: int = 100) -> list[JobView]:
    """Jobs for an operator (never their payloads: a payload is the handler's business)."""
    with core.db.read() as session:
        statement = select(JobRow).order_by(JobRow.run_at.asc().nulls_first()).limit(limit)
        if status is not None:
            statement = statement.where(JobRow.status == status)
        return [
            JobView(
                row.id,
                row.kind,
                row.status,
                row.key,
                row.run_at,
                row.attempts,
                row.failures,
                row.leased_until,
                row.lease_owner,
                row.created_at,
                row.finished_at,
                row.last_error,
                row.note,
            )
            for row in session.scalars(statement)
        ]


# --- worker threads --------------------------------------------------------------------------------


@dataclass
class Workers:
    """`threads` worker threads of this process, each claiming one job at a time.

    An idle thread sleeps `poll` seconds (real time) or until a local enqueue commits, then looks
    again; due times are the core clock's. The threads never touch an event loop: they reach the
    database through the core's synchronous engine, as the CLI does. `stop` lets each thread finish
    the job in hand, then joins them.
    """

    core: Core
    threads: int
    poll: float = 1.0
    lease: timedelta = DEFAULT_LEASE
    name: str = "worker"
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _wakers: list[threading.Event] = field(default_factory=list)
    _last_purge: float = 0.0

    def start(self) -> None:
        load_handlers()
        self._stopping.clear()
        for index in range(self.threads):
            waker = threading.Event()
            _WAKERS.add(waker)
            self._wakers.append(waker)
            thread = threading.Thread(
                target=self._loop,
                args=(new_owner(f"{self.name}-{index}"), waker, index == 0),
                name=f"tokensmith-{self.name}-{index}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        if self.threads:
            logger.info("%d job worker thread(s) started", self.threads)

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        for waker in self._wakers:
            waker.set()
        for thread in self._threads:
            thread.join(timeout)
        for waker in self._wakers:
            _WAKERS.discard(waker)
        self._threads, self._wakers = [], []

    @property
    def alive(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    def _loop(self, owner: str, waker: threading.Event, purges: bool) -> None:
        import time

        while not self._stopping.is_set():
            try:
                if purges and time.monotonic() - self._last_purge > 3600:
                    self._last_purge = time.monotonic()
                    purge(self.core, self.core.clock.now() - KEEP_DONE)
                claimed = claim(self.core, owner, lease=self.lease)
                if claimed:
                    run_claimed(self.core, claimed[0])
                    continue
            except Exception:  # the database away, a reset in testing mode: log, wait, try again
                logger.exception("job worker %s: claiming or recording failed", owner)
            waker.wait(self.poll)
            waker.clear()
