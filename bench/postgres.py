"""PostgreSQL runs: a schema of the bench's own per token count, loaded from the cached SQLite file (so
both databases hold the very same tokens), dropped when the run ends.

The schema is selected with the URL option `options=-csearch_path%3D<schema>`, which tokensmith, the
reference apps and Django all honour. Loading uses COPY, which takes a million rows in seconds where
row-by-row inserts would take minutes. Schemas left by a bench run that was killed are dropped at the
start of the next (their name carries the dead process's id).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench import dataset, seed_tokensmith, seeding
from bench.apps.environment import libpq_url
from tokensmith.db import Database

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
URL_ENV = "TOKENSMITH_BENCH_PG_URL"
SCHEMA_PREFIX = "tsbench_"
# Copied in this order (foreign keys point backwards); the Django tables were made by Django's migrate.
TABLES = (
    "users",
    "credentials",
    "auth_user",
    "token_blacklist_outstandingtoken",
    "token_blacklist_blacklistedtoken",
)


def base_url(cli_value: str | None) -> str:
    return cli_value or os.environ.get(URL_ENV) or DEFAULT_URL


def with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def available(url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


def drop_stale_schemas(url: str, log: Callable[[str], None]) -> None:
    pattern = re.compile(rf"^{SCHEMA_PREFIX}\d+_(\d+)_[0-9a-f]+$")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        names = [row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")]
        for name in names:
            match = pattern.match(name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                log(f"  dropping schema {name} left by an earlier, killed run")
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def _reset_sequence(cursor: psycopg.Cursor[Any], table: str) -> None:
    """Rows were written with explicit ids: the next id the table hands out comes after them."""
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
        f'COALESCE((SELECT max(id) FROM "{table}"), 1))'
    )


def _copy_table(source: sqlite3.Connection, target: psycopg.Connection, table: str) -> None:
    columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
    names = ", ".join(f'"{column}"' for column in columns)
    with target.cursor() as cursor:
        with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in source.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid'):
                copy.write_row(row)
        _reset_sequence(cursor, table)


def _new_schema(url: str, tokens: int) -> tuple[str, str]:
    """An empty schema named so that `drop_stale_schemas` finds it if this process dies: (name, URL)."""
    schema = f"{SCHEMA_PREFIX}{tokens}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, with_schema(url, schema)


def create_small(url: str, tokens: int) -> tuple[str, str, dataset.Pool]:
    """A new schema seeded directly with tokensmith's rows only (no cache, no simplejwt): for the smoke
    test, where a few tokens take a fraction of a second. Returns (schema, URL selecting it, pool)."""
    schema, scoped = _new_schema(url, tokens)
    access, refresh = seed_tokensmith.seed(scoped, tokens)
    with psycopg.connect(libpq_url(scoped), autocommit=True) as conn, conn.cursor() as cursor:
        for table in ("users", "credentials"):
            _reset_sequence(cursor, table)
    return schema, scoped, dataset.Pool(access=access, refresh=refresh, jwt=[])


def create(url: str, tokens: int, log: Callable[[str], None]) -> tuple[str, str]:
    """A new schema holding the cached data set for `tokens`; returns (schema, URL selecting it)."""
    schema, scoped = _new_schema(url, tokens)
    log(f"  loading {tokens:,} tokens into PostgreSQL schema {schema}")
    database = Database(scoped)
    try:
        database.upgrade()
    finally:
        database.dispose()
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
        cwd=dataset.REPO,
        env=seeding.django_env(scoped),
        check=True,
        timeout=600,
    )
    source = sqlite3.connect(dataset.cache_db(tokens))
    try:
        with psycopg.connect(libpq_url(scoped)) as target:
            target.execute("SET TIME ZONE 'UTC'")
            for table in TABLES:
                _copy_table(source, target, table)
        with psycopg.connect(libpq_url(scoped), autocommit=True) as target:
            for table in TABLES:
                target.execute(f'ANALYZE "{table}"')
    finally:
        source.close()
    return schema, scoped


def drop(url: str, schema: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
