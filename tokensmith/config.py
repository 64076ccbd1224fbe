"""Process settings: read once from the environment into one frozen object.

Runtime settings (lifespans, feature flags) live in the database instead (see `runtime.py`), so that
every worker and instance sees the same value; only what a process needs before it can reach the
database is here.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB_FILE = "tokensmith.db"
SECRET_FILE_SUFFIX = ".secret"


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: bytes
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1024 * 1024
    validate_responses: bool = False
    trust_forwarded_for: bool = False
    forward_auth_uri_header: str = "X-Forwarded-Uri"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
        """Build settings from `TOKENSMITH_*` variables, with laptop defaults for the rest."""
        env = dict(os.environ if env is None else env)
        cwd = cwd or Path.cwd()
        url = env.get("TOKENSMITH_DATABASE_URL") or f"sqlite:///{cwd / DEFAULT_DB_FILE}"
        key_text = env.get("TOKENSMITH_SECRET_KEY")
        key = key_text.encode() if key_text else load_or_create_secret(secret_path_for(url, cwd))
        if len(key) < 16:
            raise ValueError("TOKENSMITH_SECRET_KEY must be at least 16 bytes long")
        return cls(
            database_url=url,
            secret_key=key,
            host=env.get("TOKENSMITH_HOST", "127.0.0.1"),
            port=int(env.get("TOKENSMITH_PORT", "8000")),
            max_body_bytes=int(env.get("TOKENSMITH_MAX_BODY_BYTES", str(1024 * 1024))),
            validate_responses=_truthy(env.get("TOKENSMITH_VALIDATE_RESPONSES", "")),
            trust_forwarded_for=_truthy(env.get("TOKENSMITH_TRUST_FORWARDED_FOR", "")),
            forward_auth_uri_header=env.get("TOKENSMITH_FORWARD_AUTH_URI_HEADER", "X-Forwarded-Uri").strip(),
        )


def _truthy(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def secret_path_for(database_url: str, cwd: Path) -> Path:
    """The generated key lives beside the SQLite file it protects (or in the working directory)."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        db_file = Path(database_url.removeprefix("sqlite:///"))
        return db_file.with_name(db_file.name + SECRET_FILE_SUFFIX)
    return cwd / ("tokensmith" + SECRET_FILE_SUFFIX)


def load_or_create_secret(path: Path) -> bytes:
    """Read the server secret, creating it (owner-only permissions) the first time.

    Every token hash depends on this key: losing it invalidates every token, which is the safe failure.
    """
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
