"""A failure described neutrally, before any dialect shapes it.

A failure is first described neutrally (`Failure`: status, message, per-field messages, headers), from
a core error through the dialect's table, or from a framework exception (Connexion's problems,
Starlette's HTTP exceptions, our `FieldErrors`). The dialect that owns the request path then turns it
into its body (`handlers.errors`). Nothing here knows a dialect's field names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http import HTTPStatus

from connexion.exceptions import ProblemException
from starlette.exceptions import HTTPException

from handlers.validation import BODY, FieldErrors
from tokensmith.errors import (
    Conflict,
    Forbidden,
    InvalidValue,
    LoginFailed,
    NotAllowed,
    NotFound,
    Throttled,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
    TokensmithError,
    Unavailable,
)

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


# The HTTP status of each core error, for a dialect with no reason to differ (most of them).
DEFAULT_STATUSES: dict[type[TokensmithError], int] = {
    TokenInvalid: 401,
    TokenExpired: 401,
    TokenRevoked: 401,
    LoginFailed: 401,
    NotAllowed: 403,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Throttled: 429,
    Unavailable: 503,
    InvalidValue: 400,
}


def describe(exc: Exception, core_errors: dict[type[TokensmithError], int]) -> Failure:
    if isinstance(exc, TokensmithError):
        status = next((core_errors[k] for k in type(exc).__mro__ if k in core_errors), 500)
        failure = Failure(status, exc.message or HTTPStatus(status).phrase, error=exc)
        if isinstance(exc, Throttled | Unavailable):
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


def field_name(field_path: str) -> str:
    return "non_field_errors" if field_path == BODY else field_path
