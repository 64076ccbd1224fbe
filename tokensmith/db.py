"""The engine, sessions and migrations: the one module that opens the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, event, insert, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.util import await_only, greenlet_spawn

from tokensmith.errors import Unavailable

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
OWNER_ONLY = stat.S_IRUSR | stat.S_IWUSR  # 0600
logger = logging.getLogger("tokensmith.db")


T = TypeVar("T")


@dataclass(frozen=True)
class PoolSettings:
    """The PostgreSQL connection pool of one worker process (`TOKENSMITH_DB_POOL_*`).

    `size` connections stay open; up to `overflow` more are opened under load and closed when idle;
    a request that finds all of them busy waits up to `timeout` seconds and is then refused with 503
    (`Unavailable`) instead of hanging. Defaults suit one worker: a request holds a connection for a
    few round trips, so 10 to 20 connections keep that many transactions in flight while the event loop
    serves the rest (about 4,000 look-ups a second with the database 2 ms away). Multiply by workers and
    instances when sizing PostgreSQL's `max_connections`."""

    size: int = 10
    overflow: int = 10
    timeout: float = 5.0


# Connections for the work that runs in threads (Argon2id hashing beside its writes), the CLI and
# migrations: not the request path, so a few suffice.
THREAD_POOL = PoolSettings(size=5, overflow=15, timeout=10.0)


def make_engine(url: str, pool: PoolSettings = THREAD_POOL, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(_psycopg_url(url), **_pool_arguments(pool), **kwargs)
    _ping_idle_connections(engine)
    return engine


def make_loop_engine(url: str, pool: PoolSettings) -> AsyncEngine:
    """The engine the event loop uses on PostgreSQL: psycopg's asynchronous connection, so that a round
    trip to the database suspends the request that waits for it instead of the whole worker."""
    engine = create_async_engine(_psycopg_url(url), **_pool_arguments(pool))
    _ping_idle_connections(engine.sync_engine)
    return engine


def _psycopg_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _pool_arguments(pool: PoolSettings) -> dict[str, Any]:
    return {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout}


class BlockingDatabaseCall(RuntimeError):
    """A synchronous PostgreSQL round trip was about to run on the event loop's thread: it would stall
    every request of the worker for its duration. Code on the loop reaches the database through
    `Database.run`; code in a worker thread (`off_loop`) may block."""


def _require_off_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise BlockingDatabaseCall(
        "a synchronous database call on the event loop; run it through Database.run (or off_loop)"
    )


def _private_sqlite_file(url: str) -> None:
    """Create the database file owner-only (0600) before SQLite does (it would make it 0644, less the
    umask). SQLite gives its -wal and -shm files the database file's permissions, so they follow. An
    empty file is an empty database. A file that already exists keeps its mode, with a warning when
    others may read it: it holds password hashes and token hashes."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning(
                "%s is readable by others (mode %o); chmod 600 it and its -wal and -shm files", path, mode
            )
    except OSError:
        return  # a directory that does not exist yet, say: SQLite reports it as it would have


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_idle_connections(engine: Engine) -> None:
    """A pooled connection that sat idle is pinged before use, so one that a server restart or a
    firewall dropped is replaced instead of failing a request. `pool_pre_ping` does that on every
    checkout: a round trip per transaction, which under load (connections back in the pool within
    milliseconds) only ever finds live connections."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_conn.cursor()  # the driver's cursor, or SQLAlchemy's adapter of the async one
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()
        except Exception as exc:  # the pool reconnects and retries on DisconnectionError
            raise DisconnectionError() from exc


# Pages read through a memory map instead of a read() call each: with a million tokens the indexes
# outgrow SQLite's page cache, and an issue request's inserts land on pages not read for a while.
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers; explicit BEGIN IMMEDIATE so two writers queue instead of deadlocking.

    pysqlite's own transaction handling would start transactions lazily and let two writers both take a
    read lock and then fail to upgrade it; taking the write lock at BEGIN makes racing renewals queue.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.connection.driver_connection.execute(f"BEGIN {mode}")  # the driver's own call: ~20 µs less


class Transaction(Protocol):
    """What the statement-level write helpers need of a transaction: its connection. An ORM `Session`
    is one; so is `PlainTransaction`."""

    def connection(self) -> Connection: ...


class PlainTransaction:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def connection(self) -> Connection:
        return self._connection


_ON_LOOP: ContextVar[bool] = ContextVar("tokensmith_db_on_loop", default=False)


class Database:
    """Sessions for the core: `write()` for changes (serialised on SQLite), `read()` for look-ups.

    The core is synchronous code. On PostgreSQL, code on the event loop calls it through `run`, which
    runs it in a greenlet (SQLAlchemy's asyncio bridge): its sessions then use the loop engine, whose
    every round trip suspends only the calling request. Outside `run` (worker threads, the CLI,
    migrations) the same sessions use the synchronous engine. SQLite stays synchronous everywhere: it
    is a local file, and a look-up costs less than the hop to a thread or a greenlet would.
    """

    def __init__(self, url: str, engine: Engine | None = None, pool: PoolSettings | None = None) -> None:
        self.url = url
        self.pool = pool or PoolSettings()
        self.engine = engine or make_engine(url)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        reader_bind = (
            self.engine.execution_options(sqlite_begin="DEFERRED") if self.is_sqlite else self.engine
        )
        self._reader = sessionmaker(reader_bind, expire_on_commit=False)
        self.loop_engine: AsyncEngine | None = None
        if not self.is_sqlite:
            self.loop_engine = make_loop_engine(url, self.pool)
            self._loop_sessions = sessionmaker(self.loop_engine.sync_engine, expire_on_commit=False)
        self.fast = FastReader(self.engine, None if self.is_sqlite else LoopConnections(url, self.pool))
        self._guarded = False
        if self.loop_engine is not None:
            event.listen(self.engine, "checkout", self._on_sync_checkout)

    def guard_event_loop(self) -> None:
        """From now on (the app is built and serving), the synchronous PostgreSQL engine refuses to
        hand out a connection on a thread that runs an event loop: deny by default, so a forgotten
        `Database.run` fails loudly in the PostgreSQL test run instead of quietly capping a worker at
        one round trip at a time. Start-up (migrations, the checks before serving) may block."""
        self._guarded = True
        self.fast.guarded = True

    def _on_sync_checkout(self, _dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if self._guarded:
            _require_off_loop()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the synchronous core function `fn` from the event loop without blocking it."""
        if self.loop_engine is None:
            return fn(*args, **kwargs)
        return await greenlet_spawn(_on_loop, fn, args, kwargs)

    def _looping(self) -> bool:
        """Inside `run` on PostgreSQL: sessions take the loop engine."""
        return self.loop_engine is not None and _ON_LOOP.get()

    def _bind(self) -> Engine:
        return self.loop_engine.sync_engine if self._looping() else self.engine  # type: ignore[union-attr]

    @contextmanager
    def write(self) -> Iterator[Session]:
        factory = self._loop_sessions if self._looping() else self._writer
        with _available(), factory.begin() as session:
            yield session

    @contextmanager
    def write_plain(self) -> Iterator[Transaction]:
        """A write transaction for code that only runs statements (`plain_rows`, `PlainInsert`, Core
        statements on `.connection()`), never ORM objects: the Session's own bookkeeping costs
        ~30 µs a transaction (58 against 26 µs for an empty one), a twentieth of an issue request."""
        with _available(), self._bind().begin() as connection:
            yield PlainTransaction(connection)

    @contextmanager
    def read(self) -> Iterator[Session]:
        factory = self._loop_sessions if self._looping() else self._reader
        with _available(), factory() as session:
            yield session

    def dispose(self) -> None:
        self.fast.close()
        self.engine.dispose()
        if self.loop_engine is not None:
            # The loop engine's connections belong to whichever loop is running; closing them needs
            # none, so they are dropped without a goodbye (the server notices the closed socket).
            self.loop_engine.sync_engine.pool.dispose()

    # --- migrations -------------------------------------------------------------------------
    def _alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self) -> None:
        command.upgrade(self._alembic_config(), "head")

    def is_current(self) -> bool:
        """True when the database is at the newest migration (readiness, and the check before serving)."""
        head = ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        with _available(), self._bind().connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() == head

    def reset(self) -> None:
        """Drop every table and migrate afresh: for contract testers between runs.

        The tables are dropped in the order their foreign keys allow, not by running the migrations
        backwards: on SQLite, undoing a migration that rebuilds a table (Alembic's batch mode drops and
        recreates it) trips the foreign keys of every row that points at it."""
        from tokensmith.models import Base

        with self.engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        self.upgrade()


def _on_loop(fn: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
    token = _ON_LOOP.set(True)
    try:
        return fn(*args, **kwargs)
    finally:
        _ON_LOOP.reset(token)


def _busy() -> Unavailable:
    """Every connection busy past the pool's timeout: a 503 the dialect shapes, not a hang or a 500."""
    return Unavailable("The database is busy: no connection came free in time. Try again.")


@contextmanager
def _available() -> Iterator[None]:
    try:
        yield
    except PoolTimeout:
        raise _busy() from None


# --- the hot path ----------------------------------------------------------------------------------

_LOOKUP_SQL = (
    "SELECT c.id, c.public_id, c.kind, c.dialect, c.user_id, c.tenant_id, c.name, c.family, c.parent_id,"
    " c.scopes, c.attributes, c.secret_hash, c.created_at, c.expires_at, c.renewable_until, c.revoked_at,"
    " c.revoked_reason, c.last_used_at, u.id, u.username, u.role, u.disabled, u.tenant_id"
    " FROM credentials c LEFT JOIN users u ON u.id = c.user_id WHERE c.public_id = {param}"
)


_PARAMETER = {"sqlite": "?", "postgresql": "%s"}  # each driver's DB-API parameter marker


def plain_rows(session: Transaction, sql: str, params: tuple) -> list[tuple]:
    """Plain SQL on the session transaction's own DB-API connection, `{param}` marking each parameter:
    for the few hot-path statements whose values need no type conversion by SQLAlchemy. A Core
    statement costs ~40 µs of SQLAlchemy per call; this costs the driver's few."""
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql.format(param=_PARAMETER[connection.dialect.name]), params)
        return cursor.fetchall()
    finally:
        cursor.close()


class PlainInsert:
    """A one-row INSERT of every column of a table but its id, run like `plain_rows` on the
    transaction's DB-API connection, returning the new id. The SQL text and each column's value
    conversion come from SQLAlchemy itself (the statement compiled for the dialect, the column types'
    bind processors), so a row is stored exactly as a Core insert would store it
    (`tests/core/test_db.py` compares them) at a fraction of the per-call cost (~40 µs a statement).
    """

    def __init__(self, table: Table) -> None:
        self._table = table
        self._columns = [column for column in table.columns if not column.primary_key]
        self._prepared: dict[str, tuple[str, list[tuple[str, Any]], tuple[str, ...] | None]] = {}

    def _prepare(self, dialect: Any) -> tuple[str, list[tuple[str, Any]], tuple[str, ...] | None]:
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            statement = insert(self._table).values({c.name: bindparam(c.name) for c in self._columns})
            if dialect.name != "sqlite":
                statement = statement.returning(self._table.primary_key.columns.values()[0])
            compiled = statement.compile(dialect=dialect)
            processors = [
                (c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in self._columns
            ]
            order = tuple(compiled.positiontup) if compiled.positional else None
            prepared = self._prepared[dialect.name] = (compiled.string, processors, order)
        return prepared

    def __call__(self, session: Transaction, values: dict[str, Any]) -> int:
        connection = session.connection()
        dialect = connection.dialect
        sql, processors, order = self._prepare(dialect)
        params = {
            name: values[name] if process is None else process(values[name]) for name, process in processors
        }
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, [params[name] for name in order] if order is not None else params)
            return cursor.lastrowid if dialect.name == "sqlite" else cursor.fetchone()[0]
        finally:
            cursor.close()


@dataclass(slots=True)
class OwnerRow:
    id: int
    username: str
    role: str
    disabled: bool
    tenant_id: int | None


@dataclass(slots=True)
class CredentialRow:
    """A credential as the hot path reads it: the model's attribute names, without an ORM session."""

    id: int
    public_id: str
    kind: str
    dialect: str
    user_id: int | None
    tenant_id: int | None
    name: str | None
    family: str
    parent_id: int | None
    scopes: list[Any]
    attributes: dict[str, Any]
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None
    renewable_until: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None
    last_used_at: datetime | None
    owner: OwnerRow | None


class FastReader:
    """One prepared, plain-SQL look-up, in autocommit: one round trip, no transaction around it.

    The ORM costs ~0.4 ms a look-up here against a few µs for the driver (bench/ measured it), and the
    validate path is one look-up. Off the loop (and always on SQLite) it runs on a DB-API connection
    held per thread; on the loop (inside `Database.run`, PostgreSQL) on one of `LoopConnections`, so
    that the round trip suspends only its request. Nothing is cached: every call
    reads the database, so a revoke is seen by the very next request on every worker and instance.
    """

    def __init__(self, engine: Engine, loop: LoopConnections | None = None) -> None:
        self._engine = engine
        self._loop = loop
        self._local = threading.local()
        self._sqlite = engine.dialect.name == "sqlite"
        self.guarded = False  # see Database.guard_event_loop
        self._marker = _PARAMETER[engine.dialect.name]
        self._sql = _LOOKUP_SQL.format(param=self._marker)
        self._tenant_sql = _LOOKUP_WITH_TENANT_SQL.format(param=self._marker)

    def _connect(self) -> Any:
        url = self._engine.url
        if self._sqlite:
            conn = sqlite3.connect(url.database or ":memory:", isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            return conn
        import psycopg

        return psycopg.connect(_libpq_url(url), autocommit=True, prepare_threshold=0)

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _one(self, sql: str, params: tuple) -> tuple | None:
        """One row of one statement: on the loop (inside `Database.run`, PostgreSQL) through the
        loop's own connections, so the round trip suspends only its request; otherwise on this
        thread's connection."""
        if self._loop is not None and _ON_LOOP.get():
            return await_only(self._loop.one(sql, params))
        if self.guarded and not self._sqlite:
            _require_off_loop()
        try:
            return self._connection().execute(sql, params).fetchone()
        except Exception:
            self.close()  # a broken connection (a restarted server): one fresh try
            return self._connection().execute(sql, params).fetchone()

    def credential(self, public_id: str) -> CredentialRow | None:
        row = self._one(self._sql, (public_id,))
        return None if row is None else self._credential(row)

    def credential_in(self, session: Transaction, public_id: str) -> CredentialRow | None:
        """The same read inside a write transaction (the session's connection), for writes that must
        decide on the row they change: a fraction of an ORM load's cost, and no identity map."""
        rows = plain_rows(session, _LOOKUP_SQL, (public_id,))
        return self._credential(rows[0]) if rows else None

    def _credential(self, row: tuple) -> CredentialRow:
        values = list(row[:18])
        for i in (9, 10):  # scopes, attributes: JSON text on SQLite, already decoded by psycopg
            if isinstance(values[i], str):
                values[i] = json.loads(values[i])
        for i in (12, 13, 14, 15, 17):
            values[i] = _utc(values[i])
        owner = None if row[18] is None else OwnerRow(row[18], row[19], row[20], bool(row[21]), row[22])
        return CredentialRow(*values, owner=owner)

    # --- the verifier's reads (tokensmith/verifier.py) ---------------------------------------------

    def credential_and_tenant(self, public_id: str) -> tuple[CredentialRow, TenantRow | None] | None:
        """`credential` with the owning tenant beside it, in the same one read: a JWT that names its
        tenant is checked against the tenant's row (external id, disabled) without a second query."""
        row = self._one(self._tenant_sql, (public_id,))
        if row is None:
            return None
        tenant = None if row[23] is None else TenantRow(row[23], bool(row[24]))
        return self._credential(row), tenant

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        if self._loop is not None:
            self._loop.close()


def _libpq_url(url: Any) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE: no transaction open on the connection


class LoopConnections:
    """psycopg's asyncio connections, in autocommit, for the hot path's one-statement reads on the loop.

    Not SQLAlchemy's pool: its checkout, reset and adapter cost ~4× the read itself here (one
    `await` of psycopg against five, measured with the database on this machine), and the read needs
    none of it. Not `psycopg_pool`: it runs tasks bound to the loop that opened it, while a
    `Database` may outlive a loop (the tests run many). These connections belong to no loop: psycopg
    waits on whichever loop is running. At most `pool.size` are open; a read that finds them all
    busy waits up to `pool.timeout` and is then `Unavailable` (503), as a transaction would be.
    """

    def __init__(self, url: str, pool: PoolSettings) -> None:
        self._conninfo = _libpq_url(make_url(url))
        self._size = pool.size
        self._timeout = pool.timeout
        self._idle: list[Any] = []
        self._open = 0
        self._waiters: deque[asyncio.Future] = deque()

    async def one(self, sql: str, params: tuple) -> tuple | None:
        connection, reused = await self._acquire()
        try:
            row = await (await connection.execute(sql, params)).fetchone()
        except Exception:
            self._discard(connection)
            if not reused:
                raise
            # A connection that sat idle may have been dropped (a restarted server): one fresh try.
            connection, _ = await self._acquire(fresh=True)
            try:
                row = await (await connection.execute(sql, params)).fetchone()
            except BaseException:
                self._discard(connection)
                raise
        except BaseException:  # cancelled mid-statement: the connection's state is unknown
            self._discard(connection)
            raise
        self._release(connection)
        return row

    async def _acquire(self, fresh: bool = False) -> tuple[Any, bool]:
        import psycopg

        while True:
            if self._idle and not fresh:
                return self._idle.pop(), True
            if self._open < self._size:
                self._open += 1
                try:
                    connection = await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True, prepare_threshold=0
                    )
                except BaseException:
                    self._open -= 1
                    raise
                return connection, False
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            done, _ = await asyncio.wait((waiter,), timeout=self._timeout)
            if not done and waiter.cancel():
                raise _busy()
            handed = waiter.result()
            if handed is not None:
                return handed, True
            # None: a connection was closed, so there is room to open one; go round again.

    def _release(self, connection: Any) -> None:
        if connection.closed or connection.info.transaction_status != _IDLE:
            self._discard(connection)
            return
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(connection)
        else:
            self._idle.append(connection)

    def _discard(self, connection: Any) -> None:
        self._open -= 1
        with contextlib.suppress(Exception):
            connection.pgconn.finish()
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(None)

    def _next_waiter(self) -> asyncio.Future | None:
        """The longest-waiting reader of the running loop (a waiter of another loop times out)."""
        loop = asyncio.get_running_loop()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done() and waiter.get_loop() is loop:
                return waiter
        return None

    def close(self) -> None:
        """Close the idle connections (no loop needed); any in use close when discarded."""
        idle, self._idle = self._idle, []
        for connection in idle:
            self._open -= 1
            with contextlib.suppress(Exception):
                connection.pgconn.finish()


# --- the verifier's reads (tokensmith/verifier.py) ---------------------------------------------------

_LOOKUP_WITH_TENANT_SQL = (
    "SELECT c.id, c.public_id, c.kind, c.dialect, c.user_id, c.tenant_id, c.name, c.family, c.parent_id,"
    " c.scopes, c.attributes, c.secret_hash, c.created_at, c.expires_at, c.renewable_until, c.revoked_at,"
    " c.revoked_reason, c.last_used_at, u.id, u.username, u.role, u.disabled, u.tenant_id,"
    " t.external_id, t.disabled"
    " FROM credentials c LEFT JOIN users u ON u.id = c.user_id LEFT JOIN tenants t ON t.id = c.tenant_id"
    " WHERE c.public_id = {param}"
)


@dataclass(slots=True)
class TenantRow:
    """What the verifier checks of a credential's tenant: whom a JWT names, and whether it may act."""

    external_id: str
    disabled: bool


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps SQLAlchemy's naive-UTC text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
