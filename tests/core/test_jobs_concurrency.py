"""Several workers, each with its own engine (as separate processes or instances would have), on one
PostgreSQL database never execute one job twice: `FOR UPDATE SKIP LOCKED` plus the conditional UPDATE
in `jobs.claim`. On SQLite the same test runs too (its one writer serialises the claims)."""

from __future__ import annotations

import collections
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import PG_URL, SECRET
from tokensmith import jobs
from tokensmith.clock import SystemClock
from tokensmith.core import Core
from tokensmith.db import Database
from tokensmith.models import Job as JobRow

WORKERS = 4
JOBS = 200


def test_many_workers_on_one_database_run_every_job_exactly_once(database_url, monkeypatch):
    runs: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def record(core, job):
        with lock:
            runs[job.id] += 1
        time.sleep(0.001)  # long enough for the others to be claiming meanwhile

    monkeypatch.setitem(jobs.HANDLERS, "test.once", jobs.Kind(record))
    cores = [Core(db=Database(database_url), key=SECRET, clock=SystemClock()) for _ in range(WORKERS)]
    try:
        with cores[0].db.write() as session:
            for n in range(JOBS):
                jobs.enqueue(session, "test.once", {"n": n})
        start = threading.Barrier(WORKERS)
        errors: list[BaseException] = []

        def work(core: Core, index: int) -> None:
            try:
                start.wait()
                jobs.run_due(core, owner=f"worker-{index}", lease=timedelta(minutes=5))
            except BaseException as exc:  # reported below: a thread's exception is otherwise lost
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(core, i)) for i, core in enumerate(cores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors
        with cores[0].db.read() as session:
            statuses = dict(
                session.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all()
            )
            owners = set(session.scalars(select(JobRow.lease_owner)))
        assert statuses == {jobs.DONE: JOBS}
        assert len(runs) == JOBS and set(runs.values()) == {1}
        if PG_URL:
            assert len(owners) > 1  # the work really was shared, not done by one while the rest waited
    finally:
        for core in cores:
            core.db.dispose()


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set TOKENSMITH_TEST_DATABASE_URL")
def test_a_row_locked_by_one_claim_is_skipped_by_another_not_waited_for(database_url, monkeypatch):
    """While one transaction holds a candidate locked, a second claim takes the next job at once."""
    first, second = (Core(db=Database(database_url), key=SECRET, clock=SystemClock()) for _ in range(2))
    try:
        with first.db.write() as session:
            jobs.enqueue(session, "test.any", {"n": 1}, now=first.clock.now())
            jobs.enqueue(session, "test.any", {"n": 2}, now=first.clock.now() + timedelta(seconds=1))
        with first.db.write() as session:
            locked = session.scalars(
                select(JobRow.id).order_by(JobRow.created_at).limit(1).with_for_update()
            ).one()
            started = time.monotonic()
            claimed = jobs.claim(second, "other")
            assert time.monotonic() - started < 5
            assert [job.payload for job in claimed] == [{"n": 2}] and claimed[0].id != locked
    finally:
        first.db.dispose()
        second.db.dispose()
