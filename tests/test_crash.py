"""Crashes with real processes: `tokensmith serve` is killed with SIGKILL while a run waits in a `wait`
step; after a restart (as `tokensmith worker`) the run ends COMPLETED, nothing left RUNNING. Runs on
this test's database: an SQLite file, or PostgreSQL when TOKENSMITH_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from handlers.gateway import wire
from tests.conftest import _free_port, stop_process
from tokensmith import tenants, workflows
from tokensmith.clock import SystemClock
from tokensmith.core import Core
from tokensmith.db import Database
from tokensmith.models import WorkflowRun, WorkflowStep

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 2

NAP = {
    "identifier": "nap",
    "name": "Nap",
    "inputParameters": {"parameters": [{"parameter": "who", "dataType": "TEXT", "required": True}]},
    "steps": [
        {"id": "hello", "name": "Say hello", "kind": "set", "values": {"greeting": "Hello ${who}"}},
        {"id": "nap", "name": "Nap", "kind": "wait", "seconds": WAIT_SECONDS},
        {
            "id": "bye",
            "name": "Say bye",
            "kind": "compute",
            "op": "concat",
            "args": ["${greeting}", "!"],
            "into": "x",
        },
    ],
}


@pytest.fixture
def world(settings: Any) -> Iterator[tuple[Core, str]]:
    """A tenant with the `nap` workflow; yields the core (real clock) and the tenant's access token."""
    core = Core(db=Database(settings.database_url), key=settings.secret_key, clock=SystemClock())
    new = tenants.NewTenant("crash", None, "crash", "admin@crash.example", "a long enough password")
    tenant, issued = tenants.create_tenant(core, new, wire.TENANT_TOKEN, actor="test")
    workflows.import_definitions(core, tenant.external_id, wire.definitions_from_document([NAP]))
    yield core, issued.value
    core.db.dispose()


def _start(args: list[str], settings: Any, log: Path, **extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update(
        TOKENSMITH_DATABASE_URL=settings.database_url,
        TOKENSMITH_SECRET_KEY=settings.secret_key.decode(),
        TOKENSMITH_ADMIN_PASSWORD="a long enough password",
        TOKENSMITH_JOB_POLL_INTERVAL="0.1",
        TOKENSMITH_JOB_LEASE="2",
        TOKENSMITH_ARGON2_TIME_COST="1",
        TOKENSMITH_ARGON2_MEMORY_COST="1024",
        TOKENSMITH_ARGON2_PARALLELISM="1",
        **extra,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tokensmith.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _until(condition: Callable[[], Any], what: str, process: subprocess.Popen | None, log: Path) -> Any:
    deadline = time.monotonic() + 60
    while True:
        found = condition()
        if found:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended while waiting for {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within 60 s:\n{log.read_text()}")
        time.sleep(0.05)


def _statuses(core: Core, trigger_id: str) -> tuple[str, list[str]]:
    with core.db.read() as session:
        run = session.scalar(select(WorkflowRun).where(WorkflowRun.trigger_id == trigger_id))
        steps = session.scalars(
            select(WorkflowStep.status).where(WorkflowStep.run_id == run.id).order_by(WorkflowStep.position)
        )
        return run.status, list(steps)


def test_a_run_killed_during_a_wait_step_ends_after_a_restart(world, settings, tmp_path):
    core, token = world
    log = tmp_path / "processes.log"
    port = _free_port()
    server = _start(["serve", "--port", str(port)], settings, log, TOKENSMITH_WORKERS="1")
    try:
        base = f"http://127.0.0.1:{port}/gateway/api/v1"

        def answering() -> bool:
            try:
                return httpx.get(
                    f"{base}/workflowdefinition", headers={"itas-api-access-key": token}
                ).is_success
            except httpx.HTTPError:
                return False

        _until(answering, "answer from serve", server, log)
        reply = httpx.post(
            f"{base}/workflow/trigger",
            json={"workflowIdentifier": "nap", "variables": {"who": "crash"}},
            headers={"itas-api-access-key": token},
        )
        assert reply.status_code == 200, reply.text
        trigger_id = reply.json()["resultData"]["triggerId"]
        _until(
            lambda: _statuses(core, trigger_id) == ("running", ["completed", "running", "pending"]),
            "run waiting in its wait step",
            server,
            log,
        )
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=15)
    finally:
        stop_process(server)
    assert _statuses(core, trigger_id) == ("running", ["completed", "running", "pending"])  # as it died

    worker = _start(["worker", "--threads", "1"], settings, log)
    try:
        _until(lambda: _statuses(core, trigger_id)[0] != "running", "the run to end", worker, log)
    finally:
        stop_process(worker)
    assert _statuses(core, trigger_id) == ("completed", ["completed", "completed", "completed"])
    with core.db.read() as session:
        run = session.scalar(select(WorkflowRun).where(WorkflowRun.trigger_id == trigger_id))
        nap = session.scalar(
            select(WorkflowStep).where(WorkflowStep.run_id == run.id, WorkflowStep.position == 1)
        )
    assert (nap.end_time - nap.start_time).total_seconds() >= WAIT_SECONDS  # it waited its whole time
    assert b"tokensmith worker: stopped." in log.read_bytes()  # SIGTERM stopped the worker gracefully
