"""The job mechanism (tokensmith.jobs): the outbox in the caller's transaction, keys, claiming under a
lease and taking over an expired one, Retry, backoff, dead jobs, and real worker threads."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tokensmith import jobs
from tokensmith.jobs import Retry
from tokensmith.models import Job as JobRow


@pytest.fixture
def ran(monkeypatch):
    """A kind `test.record` whose handler records (job id, attempts, payload) of every run."""
    seen: list[tuple[str, int, dict]] = []

    def record(core, job):
        seen.append((job.id, job.attempts, job.payload))

    monkeypatch.setitem(jobs.HANDLERS, "test.record", jobs.Kind(record))
    return seen


def rows(core):
    with core.db.read() as session:
        return list(session.scalars(select(JobRow).order_by(JobRow.created_at)))


def enqueue(core, kind="test.record", payload=None, **kwargs):
    with core.db.write() as session:
        jobs.enqueue(session, kind, payload or {}, now=core.clock.now(), **kwargs)


def test_a_job_enqueued_in_a_rolled_back_transaction_never_exists(core, ran):
    with pytest.raises(RuntimeError), core.db.write() as session:
        jobs.enqueue(session, "test.record", {"n": 1})
        raise RuntimeError("the change that caused it failed")
    assert rows(core) == []
    assert jobs.run_due(core) == 0 and ran == []


def test_a_committed_job_runs_once_with_its_payload_and_is_kept_done(core, ran):
    enqueue(core, payload={"n": 1})
    assert jobs.run_due(core) == 1
    assert jobs.run_due(core) == 0
    (row,) = rows(core)
    assert ran == [(row.id, 1, {"n": 1})]
    assert row.status == jobs.DONE and row.finished_at == core.clock.now() and row.leased_until is None


def test_a_second_enqueue_with_the_same_key_is_a_no_op_even_after_the_first_ran(core, ran):
    enqueue(core, payload={"n": 1}, key="once")
    with core.db.write() as session:  # twice in one transaction, too
        jobs.enqueue(session, "test.record", {"n": 2}, key="once")
        jobs.enqueue(session, "test.record", {"n": 3}, key="once")
    jobs.run_due(core)
    enqueue(core, payload={"n": 4}, key="once")
    assert jobs.run_due(core) == 0
    assert [payload for _, _, payload in ran] == [{"n": 1}]
    enqueue(core, payload={"n": 5})  # no key: no deduplication
    enqueue(core, payload={"n": 5})
    assert jobs.run_due(core) == 2


def test_a_job_waits_for_its_run_at_on_the_core_clock(core, ran, clock):
    enqueue(core, run_at=clock.now() + timedelta(minutes=5))
    assert jobs.run_due(core) == 0
    clock.advance(minutes=4, seconds=59)
    assert jobs.run_due(core) == 0
    clock.advance(seconds=1)
    assert jobs.run_due(core) == 1


def test_a_leased_job_is_not_claimed_again_until_its_lease_expires_then_it_is_taken_over(core, ran, clock):
    enqueue(core)
    lease = timedelta(seconds=60)
    (first,) = jobs.claim(core, "worker-a", lease=lease)
    assert first.attempts == 1 and first.lease_owner == "worker-a"
    assert jobs.claim(core, "worker-b", lease=lease) == []
    clock.advance(seconds=60)
    assert jobs.claim(core, "worker-b", lease=lease) == []  # the lease holds up to its last instant
    clock.advance(seconds=1)
    (second,) = jobs.claim(core, "worker-b", lease=lease)
    assert second.id == first.id and second.attempts == 2 and second.failures == 1  # a lost run counts
    assert rows(core)[0].last_error == jobs.LOST
    jobs.run_claimed(core, first)  # worker A wakes up late: its result is not recorded
    assert rows(core)[0].status == jobs.QUEUED and rows(core)[0].lease_owner == "worker-b"
    jobs.run_claimed(core, second)
    assert rows(core)[0].status == jobs.DONE
    assert [(job_id, attempts) for job_id, attempts, _ in ran] == [(first.id, 1), (first.id, 2)]


def test_extend_lease_keeps_a_long_job_its_workers(core, ran, clock):
    enqueue(core)
    lease = timedelta(seconds=60)
    (job,) = jobs.claim(core, "worker-a", lease=lease)
    clock.advance(seconds=50)
    assert jobs.extend_lease(core, job, lease)
    clock.advance(seconds=50)
    assert jobs.claim(core, "worker-b", lease=lease) == []
    clock.advance(seconds=11)
    assert jobs.claim(core, "worker-b", lease=lease) != []
    assert not jobs.extend_lease(core, job, lease)  # lost: the handler is told


def test_retry_runs_the_same_job_again_later_without_counting_a_failure(core, clock, monkeypatch):
    seen = []

    def waits_once(core_, job):
        seen.append((job.id, job.attempts))
        if job.attempts == 1:
            raise Retry(timedelta(seconds=30), "waiting for something")

    monkeypatch.setitem(jobs.HANDLERS, "test.wait", jobs.Kind(waits_once, max_attempts=1))
    enqueue(core, "test.wait")
    assert jobs.run_due(core) == 1
    row = rows(core)[0]
    assert row.status == jobs.QUEUED and row.failures == 0 and row.note == "waiting for something"
    assert row.run_at == clock.now() + timedelta(seconds=30) and row.lease_owner is None
    clock.advance(seconds=29)
    assert jobs.run_due(core) == 0
    clock.advance(seconds=1)
    assert jobs.run_due(core) == 1
    assert seen == [(row.id, 1), (row.id, 2)] and rows(core)[0].status == jobs.DONE


def test_backoff_doubles_from_ten_seconds_and_is_capped_at_an_hour():
    assert [jobs.backoff(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 80, 160]
    assert (
        jobs.backoff(9) == timedelta(seconds=2560)
        and jobs.backoff(10) == timedelta(hours=1)
        and jobs.backoff(10**6) == timedelta(hours=1)
    )


def test_a_failing_job_backs_off_then_dies_keeping_its_error_and_closing_what_it_stood_for(
    core, clock, monkeypatch
):
    closed = []

    def broken(core_, job):
        raise ValueError(f"broken on attempt {job.attempts}")

    def on_dead(session, job, error, now):
        closed.append((job.id, error, now))

    monkeypatch.setitem(jobs.HANDLERS, "test.broken", jobs.Kind(broken, max_attempts=3, on_dead=on_dead))
    enqueue(core, "test.broken")
    assert jobs.run_due(core) == 1
    row = rows(core)[0]
    assert row.failures == 1 and row.last_error == "ValueError: broken on attempt 1"
    assert row.run_at == clock.now() + timedelta(seconds=10)
    clock.advance(seconds=10)
    assert jobs.run_due(core) == 1
    assert rows(core)[0].run_at == clock.now() + timedelta(seconds=20)
    clock.advance(seconds=20)
    assert jobs.run_due(core) == 1
    row = rows(core)[0]
    assert row.status == jobs.DEAD and row.failures == 3 and row.attempts == 3
    assert "broken on attempt 3" in row.last_error and row.finished_at == clock.now()
    assert closed == [(row.id, row.last_error, clock.now())]
    clock.advance(hours=2)
    assert jobs.run_due(core) == 0  # dead is final
    assert [view.id for view in jobs.list_jobs(core, jobs.DEAD)] == [row.id]


def test_a_job_whose_worker_keeps_dying_ends_dead_not_in_a_loop(core, clock, monkeypatch):
    monkeypatch.setitem(jobs.HANDLERS, "test.fatal", jobs.Kind(lambda core_, job: None, max_attempts=2))
    enqueue(core, "test.fatal")
    lease = timedelta(seconds=5)
    for _ in range(2):  # claimed, and its worker dies without a word
        assert jobs.claim(core, "doomed", lease=lease)
        clock.advance(seconds=6)
    (job,) = jobs.claim(core, "survivor", lease=lease)
    jobs.run_claimed(core, job)
    row = rows(core)[0]
    assert row.status == jobs.DEAD and jobs.LOST in row.last_error


def test_a_kind_without_a_handler_here_fails_like_an_error_and_is_retried(core):
    enqueue(core, "test.unknown")
    jobs.run_due(core)
    row = rows(core)[0]
    assert row.status == jobs.QUEUED and row.failures == 1 and "no handler" in row.last_error


def test_done_jobs_are_purged_after_a_while_and_dead_ones_are_kept(core, ran, clock, monkeypatch):
    enqueue(core)
    jobs.run_due(core)
    monkeypatch.setitem(jobs.HANDLERS, "test.broken", jobs.Kind(lambda c, j: 1 / 0, max_attempts=1))
    enqueue(core, "test.broken")
    jobs.run_due(core)
    assert jobs.purge(core, clock.now() - timedelta(days=7)) == 0
    clock.advance(days=8)
    assert jobs.purge(core, clock.now() - timedelta(days=7)) == 1
    assert [row.status for row in rows(core)] == [jobs.DEAD]


def test_worker_threads_run_jobs_promptly_when_woken_and_stop_cleanly(core, monkeypatch):
    done = threading.Event()
    seen = []

    def record(core_, job):
        seen.append(threading.current_thread().name)
        if len(seen) == 3:
            done.set()

    monkeypatch.setitem(jobs.HANDLERS, "test.record", jobs.Kind(record))
    workers = jobs.Workers(core, threads=2, poll=30.0)  # a wake-up, not the poll, must start them
    workers.start()
    try:
        time.sleep(0.2)  # the threads are idle, waiting
        started = time.monotonic()
        for n in range(3):
            enqueue(core, payload={"n": n})
        assert done.wait(10)
        assert time.monotonic() - started < 5
    finally:
        workers.stop(timeout=10)
    assert workers.alive == 0
    assert all(name.startswith("tokensmith-worker-") for name in seen)
    assert {row.status for row in rows(core)} == {jobs.DONE}
