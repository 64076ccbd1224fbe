"""A crash with a real process: `tokensmith serve` acknowledges a revoke and is killed with SIGKILL before
the event could be delivered (the receiver is down); after a restart the event is delivered, signed,
with its `webhook-id`. Runs on this test's database: an SQLite file, or PostgreSQL when
TOKENSMITH_TEST_DATABASE_URL is set."""

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
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as Verifier

from handlers.integration.wire import CHAIN
from tests.conftest import PASSWORD, TEST_ARGON2, _free_port, stop_process
from tests.webhooks.conftest import receiving
from tokensmith import refresh_tokens, users
from tokensmith.clock import SystemClock
from tokensmith.core import Core
from tokensmith.db import Database
from tokensmith.models import Job
from tokensmith.passwords import Passwords

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(settings: Any) -> Iterator[tuple[Core, str]]:
    """The core on the real clock, and an access token of alice's."""
    core = Core(
        db=Database(settings.database_url),
        key=settings.secret_key,
        clock=SystemClock(),
        passwords=Passwords(TEST_ARGON2),
    )
    users.create_user(core, "alice", PASSWORD)
    refresh = refresh_tokens.create_refresh_token(core, "alice", PASSWORD, "crash", None, chain=CHAIN)
    access = refresh_tokens.create_access_token(core, refresh.value, refresh.credential.user_id, chain=CHAIN)
    yield core, access.value
    core.db.dispose()


def _serve(settings: Any, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update(
        TOKENSMITH_DATABASE_URL=settings.database_url,
        TOKENSMITH_SECRET_KEY=settings.secret_key.decode(),
        TOKENSMITH_ADMIN_PASSWORD="a long enough password",
        TOKENSMITH_WORKERS="1",
        TOKENSMITH_JOB_POLL_INTERVAL="0.1",
        TOKENSMITH_JOB_LEASE="2",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tokensmith.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _until(condition: Callable[[], Any], what: str, process: subprocess.Popen, log: Path) -> Any:
    deadline = time.monotonic() + 60
    while True:
        found = condition()
        if found:
            return found
        if process.poll() is not None:
            raise AssertionError(f"serve ended while waiting for {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within 60 s:\n{log.read_text()}")
        time.sleep(0.05)


def _answering(base: str, token: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(f"{base}/api/v1/whoami", headers={"TOKEN": token}).is_success
        except httpx.HTTPError:
            return False

    return check


def test_an_acknowledged_revoke_is_delivered_after_a_kill_and_a_restart(world, settings, tmp_path):
    core, token = world
    log = tmp_path / "serve.log"
    receiver_port = _free_port()  # nothing listens there yet: the receiver is down
    victim = refresh_tokens.create_refresh_token(core, "alice", PASSWORD, "victim", None, chain=CHAIN)
    victim_id = victim.credential.public_id
    port = _free_port()
    server = _serve(settings, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        _until(_answering(base, token), "an answer from serve", server, log)
        hook = httpx.post(
            f"{base}/api/v1/webhooks",
            json={"url": f"http://127.0.0.1:{receiver_port}/hook", "events": ["token.revoked"]},
            headers={"TOKEN": token},
        )
        assert hook.status_code == 201, hook.text
        revoked = httpx.post(f"{base}/api/v1/credentials/{victim_id}/revoke", headers={"TOKEN": token})
        assert revoked.status_code == 200 and revoked.json() == {"revoked": 1}  # acknowledged
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=15)
    finally:
        stop_process(server)
    with core.db.read() as session:  # the event was committed with the revoke
        kinds = set(session.scalars(sa.select(Job.kind)))
    assert "webhook.event" in kinds

    with receiving(receiver_port) as receiver:
        port = _free_port()
        restarted = _serve(settings, port, log)
        try:
            _until(lambda: receiver.received, "the delivery after the restart", restarted, log)
            base = f"http://127.0.0.1:{port}"
            attempts = httpx.get(
                f"{base}/api/v1/webhooks/{hook.json()['id']}/deliveries", headers={"TOKEN": token}
            )
        finally:
            stop_process(restarted)
    request = receiver.received[0]
    payload = Verifier(hook.json()["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "token.revoked" and payload["data"]["publicId"] == victim_id
    items = attempts.json()["items"]
    assert items[0]["status"] == "succeeded"
    assert {item["message_id"] for item in items} == {request.headers["webhook-id"]}  # one message throughout
