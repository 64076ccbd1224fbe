"""The floor: the least a correct validate endpoint can do on this stack, written by hand.

A bare Starlette app that parses the same JSON body, checks the token's format (`tokensmith.crypto.parse`),
computes the same keyed hash, does the same indexed lookup through the plain DB-API driver (sqlite3 or
psycopg, one connection held for the process) and answers the same JSON as tokensmith. It also serves
`GET /api/v1/whoami` the same way (including the once-a-minute last-used write), so the authenticated
path has a floor too. tokensmith's target is a share of this app's req/s measured in the same run.
"""

from __future__ import annotations

import hmac
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.apps import environment
from tokensmith import crypto

ACCESS_INVALID = {"detail": "API Access Token provided is invalid.", "code": "401000"}
TOKEN_PROBLEM = {
    "type": "about:blank",
    "title": "Unauthorized",
    "status": 401,
    "detail": "The token is missing, unknown, expired or revoked.",
}
LAST_USED_RESOLUTION = timedelta(minutes=1)
WHOAMI_BASE = "/api/v1"
WHOAMI_PATH = WHOAMI_BASE + "/whoami"
VALIDATE_PATH = "/integration/v1/validateAPIAccessToken/"

VALIDATE_SQL = (
    "SELECT user_id, secret_hash, created_at, expires_at, revoked_at FROM credentials WHERE public_id = {p}"
)
PRINCIPAL_SQL = (
    "SELECT c.id, c.public_id, c.kind, c.dialect, c.user_id, c.tenant_id, c.secret_hash, c.expires_at,"
    " c.revoked_at, c.last_used_at, c.scopes, u.username, u.role, u.tenant_id, u.disabled"
    " FROM credentials c LEFT JOIN users u ON u.id = c.user_id WHERE c.public_id = {p}"
)
TOUCH_SQL = (
    "UPDATE credentials SET last_used_at = {p}"
    " WHERE id = {p} AND (last_used_at IS NULL OR last_used_at <= {p})"
)


class Values(Protocol):
    """How a database's values read and bind: stored timestamps, a bound timestamp, the scopes column."""

    @staticmethod
    def moment(value: Any) -> datetime | None: ...

    @staticmethod
    def bind(moment: datetime) -> Any: ...

    @staticmethod
    def scopes(value: Any) -> list[str]: ...


class SqliteStore:
    """One sqlite3 connection for the process; SQLAlchemy's text encoding of naive-UTC datetimes."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.validate_sql = VALIDATE_SQL.format(p="?")
        self.principal_sql = PRINCIPAL_SQL.format(p="?")
        self.touch_sql = TOUCH_SQL.format(p="?")

    def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        return self.conn.execute(sql, params).fetchone()

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        self.conn.execute(sql, params)

    @staticmethod
    def moment(value: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

    @staticmethod
    def bind(moment: datetime) -> str:
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    @staticmethod
    def scopes(value: Any) -> list[str]:
        return [] if value in (None, "[]") else orjson.loads(value)


class PostgresValues:
    """psycopg's values: timestamps come and go as aware datetimes, scopes as a JSON list."""

    validate_sql = VALIDATE_SQL.format(p="%s")
    principal_sql = PRINCIPAL_SQL.format(p="%s")
    touch_sql = TOUCH_SQL.format(p="%s")

    @staticmethod
    def moment(value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @staticmethod
    def bind(moment: datetime) -> datetime:
        return moment

    @staticmethod
    def scopes(value: Any) -> list[str]:
        return value or []


class PostgresStore(PostgresValues):
    """One psycopg connection for the process, autocommit; psycopg prepares repeated statements itself."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(environment.libpq_url(url), autocommit=True)

    def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        return self.conn.execute(sql, params).fetchone()

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        self.conn.execute(sql, params)


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(body: Any, status: int = 200, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


def _field_errors(data: Any) -> dict[str, list[str]]:
    """The body checks the spec asks for, by hand: a JSON object with a string token and a user id."""
    if not isinstance(data, dict):
        return {"non_field_errors": ["Expected an object of fields."]}
    errors: dict[str, list[str]] = {}
    token = data.get("api_access_token")
    if token is None:
        errors["api_access_token"] = ["This field is required."]
    elif not isinstance(token, str) or len(token) > 1024:
        errors["api_access_token"] = ["Not a valid string."]
    user_id = data.get("user_id")
    if user_id is None:
        errors["user_id"] = ["This field is required."]
    elif isinstance(user_id, bool) or not (
        isinstance(user_id, int) or (isinstance(user_id, str) and user_id.isdigit() and len(user_id) <= 18)
    ):
        errors["user_id"] = ["A valid integer is required."]
    return errors


@dataclass(frozen=True)
class Whoami:
    """What whoami answers once the row is read, and the last-used write it owes first (or None)."""

    response: Response
    touch: tuple[Any, ...] | None = None


def validate_request(body: bytes) -> Response | tuple[dict[str, Any], str]:
    """The validate request up to its one query: a refusal, or (the body, the public id to look up)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _json({"detail": f"JSON parse error - {exc}", "code": "400000"}, 400)
    errors = _field_errors(data)
    if errors:
        return _json(errors, 400)
    parsed = crypto.parse(data["api_access_token"])
    if parsed is None or parsed.kind != "access":
        return _json(ACCESS_INVALID, 401)
    return data, parsed.public_id


def validate_answer(store: Values, key: bytes, data: dict[str, Any], row: tuple[Any, ...] | None) -> Response:
    """The validate answer from the looked-up row."""
    if row is None:
        return _json(ACCESS_INVALID, 401)
    value = data["api_access_token"]
    owner, secret_hash, created_at, expires_at, revoked_at = row
    if not hmac.compare_digest(crypto.keyed_hash(key, value), secret_hash) or owner != int(data["user_id"]):
        return _json(ACCESS_INVALID, 401)
    now = datetime.now(UTC)
    expires = store.moment(expires_at)
    if revoked_at is not None:
        status = "REVOKED"
    elif expires is not None and expires <= now:
        status = "EXPIRED"
    else:
        status = "ACTIVE"
    return _json(
        {
            "api_access_token": value,
            "user_id": owner,
            "created_at": _timestamp(store.moment(created_at)),
            "token_expires_at": _timestamp(expires),
            "token_status": status,
        }
    )


def whoami_request(request: Request) -> Response | tuple[str, str]:
    """The whoami request up to its query: a refusal, or (the token, the public id to look up)."""
    value = (request.headers.get("token") or "").strip()
    parsed = crypto.parse(value)
    if parsed is None or parsed.kind != "access":
        return _json(TOKEN_PROBLEM, 401, "application/problem+json")
    return value, parsed.public_id


def whoami_answer(store: Values, key: bytes, value: str, row: tuple[Any, ...] | None) -> Whoami:
    """The whoami answer from the principal's row, and the last-used write when the stored one is stale."""
    if row is None or not hmac.compare_digest(crypto.keyed_hash(key, value), row[6]):
        return Whoami(_json(TOKEN_PROBLEM, 401, "application/problem+json"))
    (
        cid,
        public_id,
        kind,
        dialect,
        owner,
        tenant,
        _hash,
        expires_at,
        revoked_at,
        last_used_at,
        scopes,
    ) = row[:11]
    username, role, user_tenant, disabled = row[11:]
    now = datetime.now(UTC)
    expires = store.moment(expires_at)
    if revoked_at is not None or (expires is not None and expires <= now) or bool(disabled):
        return Whoami(_json(TOKEN_PROBLEM, 401, "application/problem+json"))
    endpoints = [endpoint.lower() for endpoint in store.scopes(scopes)]
    if endpoints and not any(p.startswith(e) for p in (WHOAMI_PATH.lower(), "/whoami") for e in endpoints):
        forbidden = {
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": "This token is not allowed to call this API endpoint.",
        }
        return Whoami(_json(forbidden, 403, "application/problem+json"))
    last_used = store.moment(last_used_at)
    touch = None
    if last_used is None or last_used <= now - LAST_USED_RESOLUTION:
        touch = (store.bind(now), cid, store.bind(now - LAST_USED_RESOLUTION))
    body = {
        "user_id": owner,
        "username": username,
        "role": role if username is not None else "tenant",
        "tenant_id": tenant if tenant is not None else user_tenant,
        "token": {"public_id": public_id, "kind": kind, "dialect": dialect},
    }
    return Whoami(_json(body), touch)


def create() -> Starlette:
    url = environment.database_url()
    path = environment.sqlite_path(url)
    store: SqliteStore | PostgresStore = SqliteStore(path) if path else PostgresStore(url)
    key = environment.secret_key()

    async def validate(request: Request) -> Response:
        asked = validate_request(await request.body())
        if isinstance(asked, Response):
            return asked
        data, public_id = asked
        return validate_answer(store, key, data, store.one(store.validate_sql, (public_id,)))

    async def whoami(request: Request) -> Response:
        asked = whoami_request(request)
        if isinstance(asked, Response):
            return asked
        value, public_id = asked
        answer = whoami_answer(store, key, value, store.one(store.principal_sql, (public_id,)))
        if answer.touch is not None:
            store.execute(store.touch_sql, answer.touch)
        return answer.response

    return Starlette(
        routes=[
            Route(VALIDATE_PATH, validate, methods=["POST"]),
            Route(WHOAMI_PATH, whoami, methods=["GET"]),
        ]
    )
