"""Every error, whatever raised it, leaves through here in the dialect's own wire format.

A failure is first described neutrally (`Failure`: status, message, per-field messages, headers), from
a core error through the dialect's table, or from a framework exception (Connexion's problems,
Starlette's HTTP exceptions, our `FieldErrors`). The dialect that owns the request path then turns it
into its body. Nothing here knows a dialect's field names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol

import orjson
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from handlers.validation import BODY, FieldErrors
from tokensmith.errors import InvalidValue, Throttled, TokensmithError

logger = logging.getLogger("tokensmith.errors")


@dataclass
class Failure:
    status: int
    message: str
    fields: dict[str, list[str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"


class Dialect(Protocol):
    """What a dialect's wire module offers the error path."""

    CORE_ERRORS: dict[type[TokensmithError], int]
    MEDIA_TYPE: str

    def error_body(self, failure: Failure, path: str) -> dict[str, Any]: ...


def describe(exc: Exception, core_errors: dict[type[TokensmithError], int]) -> Failure:
    if isinstance(exc, TokensmithError):
        status = next((core_errors[k] for k in type(exc).__mro__ if k in core_errors), 500)
        failure = Failure(status, exc.message or HTTPStatus(status).phrase, error=exc)
        if isinstance(exc, Throttled):
            failure.headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, InvalidValue):
            failure.fields = {exc.field: [exc.message]}
        return failure
    if isinstance(exc, FieldErrors):
        return Failure(400, exc.detail, fields=exc.fields, error=exc)
    if isinstance(exc, ProblemException):
        detail = exc.detail or exc.title or HTTPStatus(exc.status).phrase
        return Failure(exc.status, str(detail), headers=dict(exc.headers or {}), error=exc)
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return Failure(exc.status_code, detail, headers=dict(exc.headers or {}), error=exc)
    logger.error("unhandled error", exc_info=exc)
    return Failure(500, "Internal server error.", error=exc)


_routes: list[tuple[str, Dialect]] = []
_fallback: list[Dialect] = []


def register(base_path: str, dialect: Dialect, *, fallback: bool = False) -> None:
    """Claim the paths under `base_path` for a dialect's error format (longest prefix wins)."""
    _routes.append((base_path.rstrip("/").lower(), dialect))
    _routes.sort(key=lambda route: len(route[0]), reverse=True)
    if fallback:
        _fallback[:] = [dialect]


def dialect_for(path: str) -> Dialect:
    lowered = path.lower()
    for prefix, dialect in _routes:
        if lowered == prefix or lowered.startswith(prefix + "/"):
            return dialect
    return _fallback[0]


def render(path: str, exc: Exception) -> tuple[int, dict[str, str], bytes, str]:
    """(status, headers, body, media type) of the error reply for a request to `path`."""
    dialect = dialect_for(path)
    failure = describe(exc, dialect.CORE_ERRORS)
    if failure.status == 405 and "Allow" not in failure.headers:
        failure.headers["Allow"] = "POST" if path.lower().startswith("/integration") else "GET, POST"
    body = orjson.dumps(dialect.error_body(failure, path))
    return failure.status, failure.headers, body, dialect.MEDIA_TYPE


async def connexion_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    status, headers, body, media_type = render(request.url.path, exc)
    return ConnexionResponse(
        status_code=status, body=body, headers=headers, mimetype=media_type, content_type=media_type
    )


def field_name(field_path: str) -> str:
    return "non_field_errors" if field_path == BODY else field_path
