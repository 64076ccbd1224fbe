"""The native API's wire facts: RFC 7807 problem details for every error."""

from __future__ import annotations

from typing import Any

from handlers.failure import Failure, field_name
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
)

MEDIA_TYPE = "application/problem+json"

CORE_ERRORS = {
    TokenInvalid: 401,
    TokenExpired: 401,
    TokenRevoked: 401,
    LoginFailed: 401,
    NotAllowed: 403,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Throttled: 429,
    InvalidValue: 400,
}


def error_body(failure: Failure, path: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": failure.reason,
        "status": failure.status,
        "detail": failure.message if failure.status != 401 or failure.message else "Unauthorized",
    }
    if isinstance(failure.error, TokenInvalid | TokenExpired | TokenRevoked):
        body["detail"] = "The token is missing, unknown, expired or revoked."
    if failure.fields:
        body["errors"] = {field_name(name): messages for name, messages in failure.fields.items()}
    return body
