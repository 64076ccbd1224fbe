"""Migration 0002 computes every existing account's username key; names that now collide keep the key
for the oldest account only, and the others are parked (audited) instead of failing the upgrade."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import PASSWORD, PG_URL, SECRET, TEST_ARGON2, _pg_url_with_schema
from tokensmith import users
from tokensmith.clock import MovableClock
from tokensmith.core import Core
from tokensmith.db import Database
from tokensmith.errors import LoginFailed
from tokensmith.passwords import Passwords


@pytest.fixture
def at_0001(tmp_path):
    """A database migrated to revision 0001 only, of the backend under test."""
    if PG_URL:
        schema = f"ts_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(Database(PG_URL).engine.url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        db = Database(_pg_url_with_schema(PG_URL, schema))
    else:
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(db._alembic_config(), "0001")
    yield db
    db.dispose()
    if PG_URL:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _insert_users(db: Database, names: list[str]) -> None:
    password_hash = Passwords(TEST_ARGON2).hash(PASSWORD)
    with db.engine.begin() as conn:
        for name in names:
            conn.execute(
                sa.text(
                    "INSERT INTO users (username, password_hash, role, auth_source, disabled, created_at)"
                    " VALUES (:name, :hash, 'user', 'local', false, :at)"
                ),
                {"name": name, "hash": password_hash, "at": datetime(2026, 1, 1, tzinfo=UTC)},
            )


def test_upgrade_computes_keys_and_parks_later_collisions(at_0001):
    _insert_users(at_0001, ["Ünal", "bob", "ünal", "ＢＯＢ"])
    at_0001.upgrade()
    with at_0001.engine.connect() as conn:
        keys = dict(conn.execute(sa.text("SELECT username, username_key FROM users")).all())
        parked = conn.execute(
            sa.text("SELECT target FROM audit_events WHERE action = 'user.username_collision'")
        ).all()
    assert keys["Ünal"] == "ünal" and keys["bob"] == "bob"
    assert keys["ünal"].startswith("DUPLICATE-") and keys["ＢＯＢ"].startswith("DUPLICATE-")
    assert len(parked) == 2
    core = Core(db=at_0001, key=SECRET, clock=MovableClock(), passwords=Passwords(TEST_ARGON2))
    assert users.authenticate(core, "ÜNAL", PASSWORD, None).username == "Ünal"
    with pytest.raises(LoginFailed):
        users.authenticate(core, keys["ünal"], PASSWORD, None)


def test_the_key_is_unique_in_the_database_itself(at_0001):
    at_0001.upgrade()
    insert = sa.text(
        "INSERT INTO users (username, username_key, role, auth_source, disabled, created_at)"
        " VALUES (:name, 'ünal', 'user', 'local', false, :at)"
    )
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(sa.exc.IntegrityError), at_0001.engine.begin() as conn:
        conn.execute(insert, {"name": "Ünal", "at": at})
        conn.execute(insert, {"name": "ünal", "at": at})
