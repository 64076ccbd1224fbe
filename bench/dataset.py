"""The bench data set: who owns the tokens, how many there are, which of them the load generator sends.

Every app in a run reads the same database (the same SQLite file, or the same PostgreSQL schema) and is
sent the same tokens, so their figures compare like with like. The seeded SQLite file is cached under
`bench/results/cache/`, keyed by the token count and `DATASET_VERSION`; PostgreSQL runs are loaded from
that cache, so both databases hold byte-identical tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
CACHE_DIR = RESULTS_DIR / "cache"

# Bump when the shape of the seeded data changes, so stale caches are never reused.
DATASET_VERSION = 1
# The bench's own server key: every token in the data set is hashed with it (never a real secret).
SECRET_KEY = b"tokensmith-bench-secret-key-0123456789-abcdefghijklmnop"
USERS = 100
REFRESH_TOKENS = 1000
# Distinct tokens the load generator cycles through: enough that the lookup is never one hot row.
POOL_SIZE = 1000
# Seeded tokens live this long, so a cache made today is still valid when the bench runs next year.
LIFESPAN_DAYS = 3650
# A share of the simplejwt outstanding tokens is blacklisted (none of them in the pool), so the
# blacklist table it consults on every verify is not empty.
BLACKLISTED_EVERY = 100


@dataclass(frozen=True)
class Pool:
    """The tokens sent under load: (access token, owner id), (refresh token, owner id), JWTs."""

    access: list[tuple[str, int]]
    refresh: list[tuple[str, int]]
    jwt: list[str]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"access": self.access, "refresh": self.refresh, "jwt": self.jwt}))

    @classmethod
    def load(cls, path: Path) -> Pool:
        data = json.loads(path.read_text())
        return cls(
            access=[(token, int(uid)) for token, uid in data["access"]],
            refresh=[(token, int(uid)) for token, uid in data["refresh"]],
            jwt=list(data["jwt"]),
        )


def cache_stem(tokens: int) -> Path:
    return CACHE_DIR / f"sqlite-{tokens}-v{DATASET_VERSION}"


def cache_db(tokens: int) -> Path:
    return cache_stem(tokens).with_suffix(".db")


def cache_pool(tokens: int) -> Path:
    return cache_stem(tokens).with_suffix(".pool.json")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
