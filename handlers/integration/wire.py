"""The integration dialect's wire facts, all in one place: field names, time encoding, statuses, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handlers.failure import DEFAULT_STATUSES, Failure, field_name
from tokensmith.errors import (
    LoginFailed,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
)
from tokensmith.models import Credential, User
from tokensmith.refresh_tokens import Chain
from tokensmith.runtime import SettingSpec
from tokensmith.tokens import status_of

MEDIA_TYPE = "application/json"
BASE_PATH = "/integration/v1"
DIALECT = "integration"

# Runtime settings, spelled as Alation's documentation spells them (`tokensmith conf .authentication…`,
# also accepted with its `alation.` prefix).
REFRESH_LIFESPAN = ".authentication.token.refresh_token_lifespan"
ACCESS_LIFESPAN = ".authentication.token.access_token_lifespan"
SETTING_KEY_PREFIXES = ("alation",)
SETTINGS = (
    SettingSpec(REFRESH_LIFESPAN, int, 60, "Lifespan of new integration refresh tokens.", "days", 1, 36500),
    SettingSpec(
        ACCESS_LIFESPAN, int, 24, "Lifespan of new integration API access tokens.", "hours", 1, 87600
    ),
)
CHAIN = Chain(
    dialect=DIALECT, refresh_lifespan_setting=REFRESH_LIFESPAN, access_lifespan_setting=ACCESS_LIFESPAN
)

CORE_ERRORS = DEFAULT_STATUSES

REFRESH_INVALID = "Refresh token provided is invalid."
ACCESS_INVALID = "API Access Token provided is invalid."
# Which token an operation's 401 is about, by the path's last segment (lower-cased).
_ACCESS_TOKEN_PATHS = ("validateapiaccesstoken", "userinfo")


def timestamp(moment: datetime | None) -> str | None:
    """Alation's one time format: UTC, six fraction digits, `Z` (Allie-SDK parses nothing else)."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" → "Z"; strftime is ~10× slower


def user_id(raw: int | str) -> int:
    """The schema admits an integer or a digit string; the core wants an integer."""
    return int(raw)


def token_status(credential: Credential, now: datetime) -> str:
    return status_of(credential, now).upper()


def refresh_token(credential: Credential, value: str, now: datetime) -> dict[str, Any]:
    return {
        "refresh_token": value,
        "user_id": credential.user_id,
        "created_at": timestamp(credential.created_at),
        "name": credential.name,
        "token_expires_at": timestamp(credential.expires_at),
        "token_status": token_status(credential, now),
        "last_used_at": timestamp(credential.last_used_at),
    }


def access_token(credential: Credential, value: str, now: datetime) -> dict[str, Any]:
    return {
        "api_access_token": value,
        "user_id": credential.user_id,
        "created_at": timestamp(credential.created_at),
        "token_expires_at": timestamp(credential.expires_at),
        "token_status": token_status(credential, now),
    }


def revoked_children(credential: Credential) -> dict[str, Any]:
    return {
        "detail": f"Revoked active access tokens for refresh token: '{credential.name}' "
        f"with id: {credential.id}"
    }


def user_info(user: User) -> dict[str, Any]:
    display = " ".join(part for part in (user.first_name, user.last_name) if part) or user.username
    return {
        "id": user.id,
        "username": user.username,
        "display_name": display,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "ts_created": timestamp(user.created_at),
    }


def error_body(failure: Failure, path: str) -> dict[str, Any]:
    if failure.fields and failure.status == 400:
        return {field_name(name): messages for name, messages in failure.fields.items()}
    message = failure.message
    if failure.status == 401 and isinstance(failure.error, TokenInvalid | TokenExpired | TokenRevoked):
        last = path.rstrip("/").rsplit("/", 1)[-1].lower()
        message = ACCESS_INVALID if last in _ACCESS_TOKEN_PATHS else REFRESH_INVALID
    elif failure.status == 401 and failure.error is not None and not isinstance(failure.error, LoginFailed):
        message = "Authentication credentials were not provided or are invalid."
    return {"detail": message, "code": f"{failure.status}000"}
