"""`tokensmith jobs` (what an operator sees of the jobs) and `tokensmith worker` (jobs run apart from
`serve`, stopped gracefully), through Click's runner and a real process against this test's database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokensmith import jobs
from tokensmith.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TOKENSMITH_SECRET_KEY", settings.secret_key.decode())

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def test_jobs_lists_a_dead_job_with_its_error_and_never_its_payload(cli, core, monkeypatch):
    def broken(core_, job):
        raise ValueError("the receiver is gone")

    monkeypatch.setitem(jobs.HANDLERS, "test.broken", jobs.Kind(broken, max_attempts=1))
    with core.db.write() as session:
        jobs.enqueue(session, "test.broken", {"secret-ish": "payload"}, key="k1", now=core.clock.now())
        jobs.enqueue(session, "test.later", {}, run_at=core.clock.now(), now=core.clock.now())
    jobs.run_due(core, limit=1)
    dead = cli("jobs", "--status", "dead", "--json")
    assert dead.exit_code == 0, dead.output
    (row,) = [json.loads(line) for line in dead.output.splitlines()]
    assert (row["kind"], row["status"], row["key"], row["attempts"]) == ("test.broken", "dead", "k1", 1)
    assert "ValueError: the receiver is gone" in row["last_error"] and "payload" not in dead.output
    everything = cli("jobs")
    assert everything.exit_code == 0 and len(everything.output.splitlines()) == 2
    assert "test.later\tqueued" in everything.output


def test_worker_runs_jobs_and_stops_gracefully_on_sigterm(settings, core, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update(
        TOKENSMITH_DATABASE_URL=settings.database_url,
        TOKENSMITH_SECRET_KEY=settings.secret_key.decode(),
        TOKENSMITH_JOB_POLL_INTERVAL="0.1",
    )
    with core.db.write() as session:  # a kind this process knows: a run of a run that no longer exists
        jobs.enqueue(session, "workflow.run", {"run_id": 123456}, now=core.clock.now())
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "tokensmith.cli", "worker", "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while {view.status for view in jobs.list_jobs(core)} != {jobs.DONE}:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()
    assert "2 thread(s)" in output and output.rstrip().endswith("tokensmith worker: stopped.")


def test_worker_refuses_a_database_that_is_not_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOKENSMITH_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code != 0 and "There is no tokensmith database" in result.output
