"""Process settings: read once from the environment into one frozen object.

Runtime settings (lifespans, feature flags) live in the database instead (see `runtime.py`), so that
every worker and instance sees the same value; only what a process needs before it can reach the
database (or before it has authenticated anyone: the transport limits) is here.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from tokensmith import networks
from tokensmith.passwords import Argon2Cost

DEFAULT_DB_FILE = "tokensmith.db"
SECRET_FILE_SUFFIX = ".secret"
OWNER_ONLY = stat.S_IRUSR | stat.S_IWUSR  # 0600: database and secret files


class SettingsError(ValueError):
    """A process setting that cannot be used; the message names the variable and what it accepts."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: bytes = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1024 * 1024
    validate_responses: bool = False
    forward_auth_uri_header: str = "X-Forwarded-Uri"
    # Limits applied before anyone is authenticated (see handlers/serving.py and handlers/bodies.py).
    body_timeout: float = 30.0  # seconds from the request's headers to the last byte of its body
    max_header_bytes: int = 16 * 1024  # the request line and every header, together
    max_headers: int = 100
    header_timeout: float = 10.0  # seconds from connection (or a request's first byte) to its last header
    keep_alive_timeout: float = 5.0  # an idle connection between requests is closed after this
    max_connections: int = 1000  # per worker: connections or running requests beyond it get 503
    trusted_proxies: tuple[str, ...] = ()  # normalised networks (networks.parse_networks)
    metrics_token: str | None = field(default=None, repr=False)
    # The PostgreSQL connection pool of each worker (tokensmith.db.PoolSettings says how it behaves).
    db_pool_size: int = 10
    db_pool_overflow: int = 10
    db_pool_timeout: float = 5.0
    # Testing mode (tokensmith/testing/, openapi/testing.yaml): a settable clock, seed/reset, faults.
    testing: bool = False
    testing_allow_remote: bool = False  # testing mode listens on loopback only unless this is set
    # Argon2id's cost for password hashes (tokensmith.passwords); a login upgrades a hash made with another.
    argon2: Argon2Cost = Argon2Cost()
    # Background jobs (tokensmith/jobs.py, docs/workers.md): worker threads in each `serve` process
    # (0: none, for deployments that run `tokensmith worker` apart), how often an idle worker looks for
    # due jobs, and how long a claimed job is its worker's before another may take it over.
    workers: int = 2
    job_poll_interval: float = 1.0
    job_lease: float = 300.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
        """Build settings from `TOKENSMITH_*` variables, with laptop defaults for the rest."""
        env = dict(os.environ if env is None else env)
        cwd = cwd or Path.cwd()
        if _truthy(env.get("TOKENSMITH_TRUST_FORWARDED_FOR", "")):
            raise SettingsError(
                "TOKENSMITH_TRUST_FORWARDED_FOR is no longer supported: it took the client address from "
                "any client's X-Forwarded-For. List your proxies in TOKENSMITH_TRUSTED_PROXIES instead "
                "(addresses and CIDRs, comma-separated) and unset TOKENSMITH_TRUST_FORWARDED_FOR."
            )
        url = database_url(env, cwd)
        key_text = env.get("TOKENSMITH_SECRET_KEY")
        key = key_text.encode() if key_text else load_or_create_secret(secret_path_for(url, cwd))
        if len(key) < 16:
            raise SettingsError("TOKENSMITH_SECRET_KEY must be at least 16 bytes long")
        defaults = cls(database_url=url, secret_key=key)
        read = _Reader(env)
        try:
            proxies = networks.parse_networks(env.get("TOKENSMITH_TRUSTED_PROXIES", ""))
        except ValueError as exc:
            raise SettingsError(f"TOKENSMITH_TRUSTED_PROXIES: {exc}") from None
        return cls(
            database_url=url,
            secret_key=key,
            host=env.get("TOKENSMITH_HOST", defaults.host),
            port=read.integer("TOKENSMITH_PORT", defaults.port, minimum=0),
            max_body_bytes=read.integer("TOKENSMITH_MAX_BODY_BYTES", defaults.max_body_bytes),
            validate_responses=_truthy(env.get("TOKENSMITH_VALIDATE_RESPONSES", "")),
            forward_auth_uri_header=env.get(
                "TOKENSMITH_FORWARD_AUTH_URI_HEADER", defaults.forward_auth_uri_header
            ).strip(),
            body_timeout=read.seconds("TOKENSMITH_BODY_TIMEOUT", defaults.body_timeout),
            max_header_bytes=read.integer("TOKENSMITH_MAX_HEADER_BYTES", defaults.max_header_bytes),
            max_headers=read.integer("TOKENSMITH_MAX_HEADERS", defaults.max_headers),
            header_timeout=read.seconds("TOKENSMITH_HEADER_TIMEOUT", defaults.header_timeout),
            keep_alive_timeout=read.seconds("TOKENSMITH_KEEP_ALIVE_TIMEOUT", defaults.keep_alive_timeout),
            max_connections=read.integer("TOKENSMITH_MAX_CONNECTIONS", defaults.max_connections),
            trusted_proxies=proxies,
            metrics_token=env.get("TOKENSMITH_METRICS_TOKEN") or None,
            db_pool_size=read.integer("TOKENSMITH_DB_POOL_SIZE", defaults.db_pool_size),
            db_pool_overflow=read.integer(
                "TOKENSMITH_DB_POOL_OVERFLOW", defaults.db_pool_overflow, minimum=0
            ),
            db_pool_timeout=read.seconds("TOKENSMITH_DB_POOL_TIMEOUT", defaults.db_pool_timeout),
            testing=_truthy(env.get("TOKENSMITH_TESTING", "")),
            testing_allow_remote=_truthy(env.get("TOKENSMITH_TESTING_ALLOW_REMOTE", "")),
            argon2=_argon2_cost(read, defaults.argon2),
            workers=read.integer("TOKENSMITH_WORKERS", defaults.workers, minimum=0),
            job_poll_interval=read.seconds("TOKENSMITH_JOB_POLL_INTERVAL", defaults.job_poll_interval),
            job_lease=read.seconds("TOKENSMITH_JOB_LEASE", defaults.job_lease),
        )


def database_url(env: Mapping[str, str], cwd: Path) -> str:
    """The database every process of one installation shares: `serve`, its workers and every CLI
    command resolve it here, so that they cannot disagree about which file they mean."""
    return env.get("TOKENSMITH_DATABASE_URL") or f"sqlite:///{cwd / DEFAULT_DB_FILE}"


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names (relative to the working directory, as SQLite reads it), or None
    for another database or an in-memory one: what can be checked for existence without creating it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _argon2_cost(read: _Reader, default: Argon2Cost) -> Argon2Cost:
    parallelism = read.integer("TOKENSMITH_ARGON2_PARALLELISM", default.parallelism)
    least_memory = 8 * parallelism  # Argon2 needs 8 KiB for each lane
    return Argon2Cost(
        time_cost=read.integer("TOKENSMITH_ARGON2_TIME_COST", default.time_cost),
        memory_cost=read.integer("TOKENSMITH_ARGON2_MEMORY_COST", default.memory_cost, minimum=least_memory),
        parallelism=parallelism,
    )


class _Reader:
    """Numbers from the environment, refused with the variable's name when they are not numbers."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def integer(self, name: str, default: int, minimum: int = 1) -> int:
        text = self.env.get(name, "").strip()
        if not text:
            return default
        if not text.isdigit() or int(text) < minimum:
            raise SettingsError(f"{name} must be a whole number of at least {minimum}, not {text!r}")
        return int(text)

    def seconds(self, name: str, default: float) -> float:
        text = self.env.get(name, "").strip()
        if not text:
            return default
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0 < value < 24 * 3600:  # also refuses nan and inf
            raise SettingsError(f"{name} must be a number of seconds above 0 (and below a day), not {text!r}")
        return value


def _truthy(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def secret_path_for(database_url: str, cwd: Path) -> Path:
    """The generated key lives beside the SQLite file it protects (or in the working directory)."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        db_file = Path(database_url.removeprefix("sqlite:///"))
        return db_file.with_name(db_file.name + SECRET_FILE_SUFFIX)
    return cwd / ("tokensmith" + SECRET_FILE_SUFFIX)


def load_or_create_secret(path: Path) -> bytes:
    """Read the server secret, creating it (owner-only permissions, 0600) the first time.

    Every token hash depends on this key: losing it invalidates every token, which is the safe failure.
    """
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
