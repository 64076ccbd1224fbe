"""An outside project's conftest: it uses only the plugin's fixtures (`pip install tokensmith` is enough).

The one thing it adds is this suite's own: with TOKENSMITH_TEST_DATABASE_URL set (a PostgreSQL URL),
the plugin's server runs on a schema of its own in that database instead of a fresh SQLite file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("TOKENSMITH_TEST_DATABASE_URL", "").strip()


@pytest.fixture(scope="session")
def tokensmith_database_url() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    schema = f"ts_plugin_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    joiner = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{joiner}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()
