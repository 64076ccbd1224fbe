"""The database on the event loop: on PostgreSQL a request's round trips suspend only that request
(`Database.run`), a synchronous call on the loop is refused, and an exhausted pool is a 503 in the
dialect's own format rather than a hang."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import orjson
import psycopg
import pytest
from sqlalchemy import text

from handlers import errors, routes
from handlers.app import create_app
from tests.conftest import PG_URL, SECRET
from tests.integration.helpers import access_token, refresh_token
from tokensmith.config import Settings
from tokensmith.db import BlockingDatabaseCall, Database, PoolSettings
from tokensmith.errors import NotFound, Unavailable

postgres_only = pytest.mark.skipif(
    not PG_URL,
    reason="the loop engine exists on PostgreSQL only (SQLite stays synchronous): "
    "set TOKENSMITH_TEST_DATABASE_URL to run this",
)


@postgres_only
def test_a_waiting_query_lets_the_loop_serve_others(database_url: str) -> None:
    db = Database(database_url)
    ticks: list[int] = []

    def slow_read() -> int:
        with db.read() as session:
            session.execute(text("SELECT pg_sleep(0.4)"))
        return len(ticks)

    async def ticker() -> None:
        for _ in range(5):
            await asyncio.sleep(0.01)
            ticks.append(1)

    async def both() -> int:
        seen, _ = await asyncio.gather(db.run(slow_read), ticker())
        return seen

    try:
        assert asyncio.run(both()) == 5  # every tick ran while the query was still in flight
    finally:
        db.dispose()


@postgres_only
def test_sessions_and_the_fast_read_inside_run_use_the_loop_engine(database_url: str) -> None:
    db = Database(database_url)

    def binds() -> tuple[object, object]:
        with db.read() as reading, db.write() as writing:
            return reading.get_bind(), writing.get_bind()

    async def inside() -> tuple[tuple[object, object], object]:
        return await db.run(binds), await db.run(db.fast.credential, "no-such-public-id")

    try:
        (read_bind, write_bind), found = asyncio.run(inside())
        assert db.loop_engine is not None
        assert read_bind is db.loop_engine.sync_engine and write_bind is db.loop_engine.sync_engine
        assert found is None
        assert binds() == (db.engine, db.engine)  # off the loop: the synchronous engine
    finally:
        db.dispose()


@postgres_only
def test_a_synchronous_round_trip_on_the_loop_is_refused_once_serving(database_url: str) -> None:
    db = Database(database_url)

    async def at_start_up() -> int:  # migrations and checks before serving may block
        with db.read() as session:
            return session.execute(text("SELECT 1")).scalar_one()

    assert asyncio.run(at_start_up()) == 1
    db.guard_event_loop()

    async def forgot_run() -> None:
        with db.read() as session:
            session.execute(text("SELECT 1"))

    async def forgot_run_fast() -> None:
        db.fast.credential("no-such-public-id")

    try:
        with pytest.raises(BlockingDatabaseCall):
            asyncio.run(forgot_run())
        with pytest.raises(BlockingDatabaseCall):
            asyncio.run(forgot_run_fast())
    finally:
        db.dispose()


@postgres_only
def test_an_exhausted_pool_is_unavailable_after_its_timeout(database_url: str) -> None:
    db = Database(database_url, pool=PoolSettings(size=1, overflow=0, timeout=0.2))

    def hold() -> None:
        with db.read() as session:
            session.execute(text("SELECT pg_sleep(0.8)"))

    def read() -> int:
        with db.read() as session:
            return session.execute(text("SELECT 1")).scalar_one()

    async def race() -> None:
        holder = asyncio.ensure_future(db.run(hold))
        await asyncio.sleep(0.1)
        with pytest.raises(Unavailable):
            await db.run(read)
        await holder
        assert await db.run(read) == 1  # the pool serves again once the connection is back

    try:
        asyncio.run(race())
    finally:
        db.dispose()


@postgres_only
def test_the_hot_read_waits_its_timeout_for_a_busy_connection_then_is_unavailable(database_url: str) -> None:
    db = Database(database_url, pool=PoolSettings(size=1, overflow=0, timeout=0.2))
    blocker = psycopg.connect(_plain(database_url), autocommit=False)

    async def race() -> None:
        blocker.execute("LOCK TABLE credentials IN ACCESS EXCLUSIVE MODE")
        first = asyncio.ensure_future(db.run(db.fast.credential, "no-such-public-id"))
        await asyncio.sleep(0.1)  # the first read now waits on the lock, holding the one connection
        with pytest.raises(Unavailable):
            await db.run(db.fast.credential, "no-such-public-id")
        blocker.commit()
        assert await first is None
        assert await db.run(db.fast.credential, "no-such-public-id") is None  # served again

    try:
        asyncio.run(race())
    finally:
        blocker.close()
        db.dispose()


@postgres_only
def test_the_hot_read_survives_its_connection_being_dropped(database_url: str) -> None:
    db = Database(database_url)

    async def read_twice() -> None:
        assert await db.run(db.fast.credential, "no-such-public-id") is None
        with psycopg.connect(_plain(database_url), autocommit=True) as admin:  # a server restart, as seen
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND state = 'idle'"
                " AND query LIKE 'SELECT c.id, c.public_id%'"
            ).fetchall()
            assert ended  # the reader's idle connection was there, and is gone
        assert await db.run(db.fast.credential, "no-such-public-id") is None

    try:
        asyncio.run(read_twice())
    finally:
        db.dispose()


@pytest.mark.parametrize("base_path", sorted({row[1] for row in routes.mounted(testing=True)}))
def test_unavailable_is_a_503_in_each_dialects_error_format(base_path: str) -> None:
    path = base_path + "/anything"
    status, headers, body, media_type = errors.render(path, Unavailable("The database is busy."))
    other_status, _, other_body, other_media_type = errors.render(path, NotFound("No such thing."))
    assert (status, headers["Retry-After"], media_type) == (503, "1", other_media_type)
    assert other_status == 404
    assert orjson.loads(body).keys() == orjson.loads(other_body).keys()  # the dialect's own shape
    assert b"busy" in body


@postgres_only
def test_a_request_finding_the_pool_exhausted_gets_503_and_the_waiting_one_completes(
    database_url: str, settings: Settings, alice: object
) -> None:
    application = create_app(
        dataclasses.replace(settings, db_pool_size=1, db_pool_overflow=0, db_pool_timeout=0.3),
        migrate=False,
    )
    try:
        with _sync_client(application) as client:
            token = access_token(client, refresh_token(client, username="alice"))["api_access_token"]
        blocker = psycopg.connect(_plain(database_url), autocommit=False)
        blocker.execute("LOCK TABLE credentials IN ACCESS EXCLUSIVE MODE")

        async def race() -> tuple[httpx.Response, httpx.Response]:
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                first = asyncio.ensure_future(client.get("/api/v1/whoami", headers={"TOKEN": token}))
                await asyncio.sleep(0.1)  # the first request now holds the pool's one connection
                second = await client.get("/api/v1/whoami", headers={"TOKEN": token})
                blocker.commit()
                return await first, second

        first, second = asyncio.run(race())
        blocker.close()
        assert second.status_code == 503
        assert second.headers["Retry-After"] == "1"
        assert "busy" in second.json()["detail"]
        assert first.status_code == 200
    finally:
        application.core.db.dispose()


def _sync_client(application: object) -> object:
    from starlette.testclient import TestClient

    return TestClient(application, raise_server_exceptions=False)


def _plain(url: str) -> str:
    """The test database's URL as psycopg takes it (the schema travels in `options`)."""
    assert url.startswith("postgresql")
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_settings_read_the_pool_from_the_environment() -> None:
    env = {
        "TOKENSMITH_SECRET_KEY": SECRET.decode(),
        "TOKENSMITH_DATABASE_URL": "sqlite:///:memory:",
        "TOKENSMITH_DB_POOL_SIZE": "3",
        "TOKENSMITH_DB_POOL_OVERFLOW": "0",
        "TOKENSMITH_DB_POOL_TIMEOUT": "1.5",
    }
    read = Settings.from_env(env)
    assert (read.db_pool_size, read.db_pool_overflow, read.db_pool_timeout) == (3, 0, 1.5)
