"""The asynchronous floor: the floor's exact work (`bench.apps.floor`) with an async driver and a pool,
for PostgreSQL only — the least a correct endpoint can cost when the database is a round trip away.

The sync floor holds one psycopg connection and blocks the event loop for each query, which is the
fastest thing on loopback and a one-query-at-a-time ceiling (1 ÷ round trip) once the database is
remote. This one awaits each query on a connection from a `psycopg_pool.AsyncConnectionPool`, so one
worker overlaps as many round trips as the pool has connections.

Why psycopg's async pool and not asyncpg: it is the driver tokensmith itself uses (psycopg 3), so the
gap between tokensmith and this floor is the application's cost, not a difference between drivers
(asyncpg's binary protocol and Cython would lower the floor's CPU per query and move the target for a
reason tokensmith could only meet by changing drivers); and `psycopg-pool` is already in the bench
extra, where asyncpg would be one more compiled dependency. Every request and answer is the sync
floor's, through the same functions.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.apps import environment
from bench.apps.floor import (
    VALIDATE_PATH,
    WHOAMI_PATH,
    PostgresValues,
    validate_answer,
    validate_request,
    whoami_answer,
    whoami_request,
)

POOL_SIZE_ENV = "BENCH_POOL_SIZE"
# Enough connections to keep one worker's CPU busy across a ≈ 2 ms round trip (a query's CPU in the
# app is ≈ 0.1–0.2 ms), and few enough that every app of a run fits in PostgreSQL's 100 connections.
DEFAULT_POOL_SIZE = 10
POOL_TIMEOUT_S = 10.0


def pool_size() -> int:
    return int(os.environ.get(POOL_SIZE_ENV) or DEFAULT_POOL_SIZE)


class AsyncPostgresStore(PostgresValues):
    """A fixed-size pool of autocommit connections; psycopg prepares repeated statements per connection."""

    def __init__(self, url: str, size: int) -> None:
        self.pool = AsyncConnectionPool(
            environment.libpq_url(url),
            min_size=size,
            max_size=size,
            timeout=POOL_TIMEOUT_S,
            kwargs={"autocommit": True},
            open=False,
        )

    async def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchone()

    async def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(sql, params)


def create() -> Starlette:
    url = environment.database_url()
    if environment.sqlite_path(url):
        raise SystemExit("the asynchronous floor serves PostgreSQL only (SQLite has the sync floor)")
    store = AsyncPostgresStore(url, pool_size())
    key = environment.secret_key()

    async def validate(request: Request) -> Response:
        asked = validate_request(await request.body())
        if isinstance(asked, Response):
            return asked
        data, public_id = asked
        return validate_answer(store, key, data, await store.one(store.validate_sql, (public_id,)))

    async def whoami(request: Request) -> Response:
        asked = whoami_request(request)
        if isinstance(asked, Response):
            return asked
        value, public_id = asked
        answer = whoami_answer(store, key, value, await store.one(store.principal_sql, (public_id,)))
        if answer.touch is not None:
            await store.execute(store.touch_sql, answer.touch)
        return answer.response

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await store.pool.open(wait=True, timeout=30)
        try:
            yield
        finally:
            await store.pool.close()

    return Starlette(
        routes=[
            Route(VALIDATE_PATH, validate, methods=["POST"]),
            Route(WHOAMI_PATH, whoami, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
