"""What an app process is told by the harness, through environment variables (uvicorn passes no
arguments to a factory)."""

from __future__ import annotations

import os

DATABASE_URL = "BENCH_DATABASE_URL"
SECRET_KEY = "BENCH_SECRET_KEY"
VALIDATE_RESPONSES = "BENCH_VALIDATE_RESPONSES"


def database_url() -> str:
    """The SQLAlchemy-style URL of the bench database: `sqlite:///…` or `postgresql://…`."""
    return os.environ[DATABASE_URL]


def secret_key() -> bytes:
    return os.environ[SECRET_KEY].encode()


def validate_responses() -> bool:
    return os.environ.get(VALIDATE_RESPONSES, "") == "1"


def sqlite_path(url: str) -> str | None:
    """The file behind an SQLite URL, or None for any other database."""
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None


def libpq_url(url: str) -> str:
    """A URL psycopg and libpq accept (no SQLAlchemy driver suffix)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return url
