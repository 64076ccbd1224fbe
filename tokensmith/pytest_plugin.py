"""The pytest plugin (`pytest11` entry point `tokensmith`): a real tokensmith in testing mode per session.

```python
def test_expired_tokens_are_refused(tokensmith):
    tokensmith.seed({"users": [{"username": "alice", "password": "correct horse battery"}]})
    ...
    tokensmith.advance(3 * 3600)
```

`tokensmith_server` (session scope) starts `tokensmith serve --testing` in a subprocess on a free
loopback port over a fresh SQLite database in a temporary directory, with a generated server secret
and admin password, and stops it at the end of the session. `tokensmith` (function scope) is the same
server, reset before each test (database as right after the last seed, clock as it was then, faults
and journal cleared). Override the `tokensmith_database_url` fixture to run it on another database
(a PostgreSQL URL of a database or schema of its own: every reset empties it).

This module is imported by pytest wherever tokensmith is installed, so it imports nothing heavy at
module level and talks to the server over HTTP only (the standard library's client).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT_SECONDS = 60.0
TESTING = "/api/v1/testing"


class TokensmithServerError(RuntimeError):
    """The testing API refused a call (the message carries its problem detail) or the server died."""


class TokensmithServer:
    """A running tokensmith in testing mode, and its testing API as methods."""

    def __init__(self, url: str, admin_password: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.admin_password = admin_password
        self.admin_username = "admin"
        self.process = process
        self.log = log
        self.start_seconds: float | None = None

    # --- the testing API ----------------------------------------------------------------------
    def seed(self, document: dict[str, Any]) -> dict[str, Any]:
        """Create users, tenants, tokens and workflows; `reset` returns here from now on."""
        return self._call("POST", "/seed", document)

    def reset(self, fresh: bool = False) -> dict[str, Any]:
        """Back to right after the last seed (`fresh`: to the server as it started, seeds forgotten)."""
        return self._call("POST", "/reset", {"fresh": fresh})

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/clock")

    def set_clock(self, now: str | None = None, *, frozen: bool | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if now is not None:
            body["now"] = now
        if frozen is not None:
            body["frozen"] = frozen
        return self._call("PUT", "/clock", body)

    def advance(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "/clock/advance", {"seconds": seconds})

    def freeze(self, now: str | None = None) -> dict[str, Any]:
        return self.set_clock(now, frozen=True)

    def unfreeze(self) -> dict[str, Any]:
        return self.set_clock(frozen=False)

    def fault(
        self,
        operation_id: str,
        kind: str = "response",
        *,
        status: int | None = None,
        body: Any = None,
        delay_ms: int | None = None,
        times: int = 1,
        probability: float = 1.0,
    ) -> dict[str, Any]:
        """Make the operation misbehave for its next `times` calls (see openapi/testing.yaml)."""
        request: dict[str, Any] = {
            "operationId": operation_id,
            "kind": kind,
            "times": times,
            "probability": probability,
        }
        for key, value in (("status", status), ("body", body), ("delayMs", delay_ms)):
            if value is not None:
                request[key] = value
        return self._call("POST", "/faults", request)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def requests(self, operation_id: str | None = None) -> list[dict[str, Any]]:
        """The journal: every request served since the last reset or clear (never a secret)."""
        query = "" if operation_id is None else "?" + urllib.parse.urlencode({"operationId": operation_id})
        return self._call("GET", "/requests" + query)

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    # --- plumbing -----------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + TESTING + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (our own URL)
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise TokensmithServerError(f"{method} {TESTING}{path}: {exc.code} {detail}") from None
        return json.loads(raw) if raw else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(directory: Path, database_url: str | None = None) -> TokensmithServer:
    """`tokensmith serve --testing` on a free loopback port, ready to answer when this returns."""
    began = time.perf_counter()
    port = _free_port()
    admin_password = "ts-" + secrets.token_urlsafe(18)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update(
        TOKENSMITH_DATABASE_URL=database_url or f"sqlite:///{directory / 'tokensmith.db'}",
        TOKENSMITH_SECRET_KEY=secrets.token_urlsafe(48),
        TOKENSMITH_ADMIN_PASSWORD=admin_password,
        TOKENSMITH_HOST="127.0.0.1",
        TOKENSMITH_PORT=str(port),
    )
    log = directory / "tokensmith.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tokensmith.cli", "serve", "--testing"],
            cwd=directory,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = TokensmithServer(f"http://127.0.0.1:{port}", admin_password, process, log)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise TokensmithServerError(f"tokensmith exited while starting:\n{log.read_text()[-4000:]}")
        try:
            server.clock()
            break
        except (OSError, TokensmithServerError):
            if time.monotonic() > deadline:
                server.stop()
                raise TokensmithServerError(f"tokensmith did not start:\n{log.read_text()[-4000:]}") from None
            time.sleep(0.05)
    server.start_seconds = time.perf_counter() - began
    return server


@pytest.fixture(scope="session")
def tokensmith_database_url() -> str | None:
    """Override to serve from another database (None: a fresh SQLite file in a temporary directory)."""
    return None


@pytest.fixture(scope="session")
def tokensmith_server(tokensmith_database_url: str | None) -> Iterator[TokensmithServer]:
    """A real `tokensmith serve --testing` for the whole session: `.url`, `.admin_password`, `.seed()`,
    `.reset()`, `.advance()`, `.freeze()`, `.fault()`, `.requests()`."""
    with tempfile.TemporaryDirectory(prefix="tokensmith-") as directory:
        server = start_server(Path(directory), tokensmith_database_url)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def tokensmith(tokensmith_server: TokensmithServer) -> TokensmithServer:
    """The session's server, reset to right after the last seed (or to fresh) before this test."""
    tokensmith_server.reset()
    return tokensmith_server
