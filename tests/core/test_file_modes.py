"""Files that hold secrets are created owner-only (0600): the SQLite database with its -wal and -shm
files (password and token hashes), and the generated server key. (PostgreSQL keeps no file of ours.)"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tokensmith.config import Settings
from tokensmith.db import Database


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common 022: without our care, new files would be 0644, readable by every local user."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_sqlite_database_and_its_wal_and_shm_files_are_owner_only(tmp_path, usual_umask):
    path = tmp_path / "fresh.db"
    db = Database(f"sqlite:///{path}")
    try:
        db.upgrade()
        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE probe (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO probe VALUES (1)"))
        with db.engine.connect() as conn:  # an open connection keeps the -wal and -shm files
            conn.execute(sa.text("SELECT x FROM probe")).all()
            files = [path, tmp_path / "fresh.db-wal", tmp_path / "fresh.db-shm"]
            assert all(file.exists() for file in files)
            assert {file.name: _mode(file) for file in files} == {file.name: 0o600 for file in files}
    finally:
        db.dispose()


def test_the_generated_server_key_is_owner_only(tmp_path, usual_umask):
    Settings.from_env({"TOKENSMITH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, cwd=tmp_path)
    assert _mode(tmp_path / "x.db.secret") == 0o600


def test_an_existing_database_readable_by_others_is_warned_about(tmp_path, usual_umask, caplog):
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    with caplog.at_level(logging.WARNING, logger="tokensmith.db"):
        Database(f"sqlite:///{path}").dispose()
    assert "chmod 600" in caplog.text and _mode(path) == 0o644  # an operator's own choice is left alone
