"""Shared fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema per run), a clock
the tests move, the app built by the one factory, and factories for users and tokens.

Backend: SQLite by default; with TOKENSMITH_TEST_DATABASE_URL set (a PostgreSQL URL), every database
test runs on PostgreSQL instead, inside a schema of its own made for this run and dropped after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from starlette.testclient import TestClient  # noqa: E402

from handlers.app import TokensmithApp, create_app  # noqa: E402
from tokensmith import users  # noqa: E402
from tokensmith.clock import MovableClock  # noqa: E402
from tokensmith.config import Settings  # noqa: E402
from tokensmith.core import Core  # noqa: E402
from tokensmith.db import Database  # noqa: E402
from tokensmith.models import Base, User  # noqa: E402
from tokensmith.passwords import Argon2Cost  # noqa: E402

PG_URL = os.environ.get("TOKENSMITH_TEST_DATABASE_URL", "").strip()
SECRET = b"test-secret-key-of-enough-length-0123456789"
PASSWORD = "correct horse battery"
# Argon2id still, at a test-sized cost (the TOKENSMITH_ARGON2_* setting): the suite makes hundreds of hashes.
TEST_ARGON2 = Argon2Cost(time_cost=1, memory_cost=1024, parallelism=1)


def _pg_url_with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture(autouse=True, scope="session")
def _dialect_settings() -> None:
    """The dialects' runtime settings, as `create_app` and the CLI register them: for the tests that
    read a setting without building an app."""
    from handlers.routes import register_settings

    register_settings()


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database made once per run: an SQLite file to copy, or a PostgreSQL schema."""
    if PG_URL:
        schema = f"ts_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(Database(PG_URL).engine.url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = _pg_url_with_schema(PG_URL, schema)
        db = Database(url)
        db.upgrade()
        db.dispose()
        yield url
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        db = Database(f"sqlite:///{path}")
        db.upgrade()
        db.dispose()
        yield str(path)


@pytest.fixture(scope="session")
def _emptying(_template: str) -> str:
    """PostgreSQL: the statements that empty the template schema and restart its sequences. DELETE,
    children first, rather than TRUNCATE: on tables holding a test's few rows it takes ~17 ms where
    TRUNCATE takes ~90 ms, and the suite empties the schema before every test. A table whose trigger
    refuses DELETE (the append-only audit log) is truncated, first."""
    if not PG_URL:
        return ""
    db = Database(_template)
    with db.engine.begin() as conn:
        sequences = conn.execute(sa.text(SEQUENCES)).scalars().all()
        guarded = set(conn.execute(sa.text(DELETE_TRIGGERS)).scalars())
    db.dispose()
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    truncates = [f'TRUNCATE "{name}"' for name in tables if name in guarded]
    deletes = [f'DELETE FROM "{name}"' for name in tables if name not in guarded]
    restarts = [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
    return "; ".join(truncates + deletes + restarts)


SEQUENCES = "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema"
DELETE_TRIGGERS = (
    "SELECT event_object_table FROM information_schema.triggers"
    " WHERE trigger_schema = current_schema AND event_manipulation = 'DELETE'"
)


@pytest.fixture
def database_url(_template: str, _emptying: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        db = Database(_template)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(_emptying)
        db.dispose()
        yield _template
    else:
        path = tmp_path / "tokensmith.db"
        shutil.copyfile(_template, path)
        path.chmod(0o600)  # as tokensmith creates its own database files
        yield f"sqlite:///{path}"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET, validate_responses=True, argon2=TEST_ARGON2)


@pytest.fixture
def app(settings: Settings, clock: MovableClock) -> Iterator[TokensmithApp]:
    application = create_app(settings, clock=clock, migrate=False)
    yield application
    application.core.db.dispose()


@pytest.fixture
def core(app: TokensmithApp) -> Core:
    return app.core


@pytest.fixture
def client(app: TokensmithApp) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make_user(core: Core):
    """Create a user: make_user("alice", role="admin"); the password is PASSWORD unless given."""

    def make(username: str = "alice", password: str | None = PASSWORD, **kwargs) -> User:
        return users.create_user(core, username, password, **kwargs)

    return make


@pytest.fixture
def alice(make_user) -> User:
    return make_user("alice")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen) -> None:
    """Stop a server a test started: politely, then for good (the crash tests' SIGKILL is their own)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def live_server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """A real `uvicorn` process serving `create_app()` on this test's database; yields its base URL.

    For vendor SDKs and plain HTTP clients that must talk over a socket. It runs on the real clock.
    """
    import subprocess
    import sys

    port = _free_port()
    env = dict(os.environ)
    env.update(
        TOKENSMITH_DATABASE_URL=settings.database_url,
        TOKENSMITH_SECRET_KEY=settings.secret_key.decode(),
    )
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "handlers.app:app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parent.parent,
    )
    base = f"http://127.0.0.1:{port}"
    with serving(process, base + "/openapi/api_authentication/", tmp_path / "server.log", log):
        yield base


@contextlib.contextmanager
def serving(process: Any, probe_url: str, log_path: Path, log: Any) -> Iterator[None]:
    """Wait (90 s at most) until a server process answers `probe_url`; stop it and close its log after.
    A server that dies or never answers fails the test with its log."""
    import subprocess
    import time

    import httpx

    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                httpx.get(probe_url, timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
