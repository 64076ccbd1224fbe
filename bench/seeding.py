"""The cached, seeded SQLite file for each token count, and the per-run working copy of it.

The cache (`bench/results/cache/sqlite-<tokens>-v<version>.db` and its `.pool.json`) is built once:
tokensmith's rows (`bench.seed_tokensmith`), then simplejwt's (`bench.apps.simplejwt_project.seed`, in
a process of its own). It is built under a temporary name and renamed when complete, so an interrupted
seed never leaves a half-filled cache behind. A run works on a copy, so writes made under load (issuing
tokens, last-used times) never leak into the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from bench import dataset, seed_tokensmith
from tokensmith.db import Database

DJANGO_SEED_TIMEOUT_S = 1800


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def django_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "BENCH_DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.apps.simplejwt_project.settings",
        "PYTHONPATH": str(dataset.REPO),
    }


def seed_simplejwt(url: str, tokens: int, out: Path) -> list[str]:
    """simplejwt's tables and tokens in the database at `url`; returns the JWT pool."""
    subprocess.run(
        [sys.executable, "-m", "bench.apps.simplejwt_project.seed", str(tokens), str(out)],
        cwd=dataset.REPO,
        env=django_env(url),
        check=True,
        timeout=DJANGO_SEED_TIMEOUT_S,
    )
    return json.loads(out.read_text())


def ensure_cache(tokens: int, log: Callable[[str], None]) -> tuple[Path, dataset.Pool]:
    """The cached database for `tokens` live tokens (built now if missing) and its pool."""
    db_path, pool_path = dataset.cache_db(tokens), dataset.cache_pool(tokens)
    if db_path.exists() and pool_path.exists():
        database = Database(dataset.sqlite_url(db_path))
        try:
            if not database.is_current():
                log(f"  migrating the cached {tokens:,}-token database to the newest schema")
                database.upgrade()
        finally:
            database.dispose()
        return db_path, dataset.Pool.load(pool_path)

    dataset.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    building = db_path.with_name(db_path.stem + ".building.db")
    _remove_sqlite(building)
    started = time.monotonic()
    log(f"  seeding {tokens:,} tokensmith tokens into {building.name} (cached for later runs)")
    access, refresh = seed_tokensmith.seed(dataset.sqlite_url(building), tokens)
    log(f"  seeding {tokens:,} simplejwt tokens ({time.monotonic() - started:.0f} s so far)")
    jwt = seed_simplejwt(dataset.sqlite_url(building), tokens, building.with_suffix(".jwt.json"))
    building.with_suffix(".jwt.json").unlink(missing_ok=True)
    with closing(sqlite3.connect(building)) as conn:
        conn.execute("ANALYZE")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _remove_sqlite(db_path)
    building.rename(db_path)
    _remove_sqlite(building)
    pool = dataset.Pool(access=access, refresh=refresh, jwt=jwt)
    pool.save(pool_path)
    log(f"  seeded in {time.monotonic() - started:.0f} s")
    return db_path, pool


def working_copy(tokens: int, directory: Path) -> Path:
    """A fresh copy of the cached database for one run, at the newest schema."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"work-{tokens}.db"
    _remove_sqlite(target)
    shutil.copyfile(dataset.cache_db(tokens), target)
    database = Database(dataset.sqlite_url(target))
    try:
        database.upgrade()
    finally:
        database.dispose()
    return target


def remove_working_copy(path: Path) -> None:
    _remove_sqlite(path)
