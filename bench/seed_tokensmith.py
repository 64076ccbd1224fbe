"""Seed tokensmith's own tables fast: rows minted with `tokensmith.crypto.mint`, bulk-inserted through the
models' tables (never through HTTP, which would take hours for a million tokens).

Minting is the slow part (~50 µs a token: 44 `secrets.choice` calls and an HMAC), so it runs in worker
processes while the parent inserts finished chunks.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import dataset
from tokensmith import crypto
from tokensmith.db import Database
from tokensmith.models import Credential, User

CHUNK = 20_000
DIALECT = "integration"


def _mint_chunk(kind: str, count: int) -> list[tuple[str, str, str]]:
    """(value, public id, keyed hash) for `count` fresh tokens; runs in a worker process."""
    minted = (crypto.mint(kind, dataset.SECRET_KEY) for _ in range(count))
    return [(token.value, token.public_id, token.secret_hash) for token in minted]


def _minted(kind: str, total: int) -> Iterator[tuple[str, str, str]]:
    """Every token in order, minted in parallel chunks (at most two workers: the machine has two cores)."""
    if total <= CHUNK:  # small data sets (the smoke test): worker processes would cost more than they save
        yield from _mint_chunk(kind, total)
        return
    sizes = [min(CHUNK, total - start) for start in range(0, total, CHUNK)]
    workers = max(1, min(2, len(os.sched_getaffinity(0))))
    with ProcessPoolExecutor(max_workers=workers) as executor:
        for chunk in executor.map(_mint_chunk, [kind] * len(sizes), sizes):
            yield from chunk


def _credential(
    token: tuple[str, str, str], kind: str, user_id: int, now: datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "public_id": token[1],
        "kind": kind,
        "dialect": DIALECT,
        "user_id": user_id,
        "tenant_id": None,
        "parent_id": None,
        "scopes": [],
        "attributes": {},
        "secret_hash": token[2],
        "created_at": now,
        "expires_at": now + timedelta(days=dataset.LIFESPAN_DAYS),
        "renewable_until": None,
        "revoked_at": None,
        "revoked_reason": None,
        "last_used_at": None,
        **extra,
    }


def seed(url: str, tokens: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Migrate `url` and fill it: users, refresh tokens, `tokens` live access tokens minted from them.

    Returns the load generator's pools: (access token, owner) for a random sample of the access tokens,
    and (refresh token, owner) for every refresh token.
    """
    db = Database(url)
    db.upgrade()
    now = datetime.now(UTC)
    user_ids = list(range(1, dataset.USERS + 1))
    table = Credential.__table__
    refresh_pool: list[tuple[str, int]] = []
    access_pool: list[tuple[str, int]] = []
    sampled = set(random.Random(tokens).sample(range(tokens), min(dataset.POOL_SIZE, tokens)))
    try:
        with db.engine.begin() as conn:
            conn.execute(
                User.__table__.insert(),
                [
                    {
                        "id": uid,
                        "username": f"bench-user-{uid}",
                        "username_key": f"bench-user-{uid}",  # usernames.key() of the name: ASCII lower-case
                        "password_hash": None,
                        "role": "user",
                        "auth_source": "local",
                        "disabled": False,
                        "created_at": now,
                        "tenant_id": None,
                    }
                    for uid in user_ids
                ],
            )
            refresh_rows = []
            families = []
            for index, token in enumerate(_minted("refresh", dataset.REFRESH_TOKENS)):
                owner = user_ids[index % len(user_ids)]
                families.append(uuid.uuid4().hex)
                refresh_rows.append(
                    _credential(
                        token, "refresh", owner, now, id=index + 1, name=f"bench-{index}", family=families[-1]
                    )
                )
                refresh_pool.append((token[0], owner))
            conn.execute(table.insert(), refresh_rows)

            batch: list[dict[str, Any]] = []
            for index, token in enumerate(_minted("access", tokens)):
                parent = index % dataset.REFRESH_TOKENS
                owner = refresh_pool[parent][1]
                batch.append(
                    _credential(
                        token,
                        "access",
                        owner,
                        now,
                        id=dataset.REFRESH_TOKENS + index + 1,
                        name=None,
                        family=families[parent],
                        parent_id=parent + 1,
                    )
                )
                if index in sampled:
                    access_pool.append((token[0], owner))
                if len(batch) >= CHUNK:
                    conn.execute(table.insert(), batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
    finally:
        db.dispose()
    random.Random(tokens + 1).shuffle(access_pool)
    return access_pool, refresh_pool


def seeded_max_id(tokens: int) -> int:
    """The highest credential id the seed wrote: rows above it were added by a bench run (issue)."""
    return dataset.REFRESH_TOKENS + tokens
