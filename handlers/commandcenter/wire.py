"""The commandcenter dialect's wire facts, all in one place: field names, token spellings, epoch seconds,
token type names, and the error bodies (Commvault answers `{errorMessage, errorCode}`, a failed login
answers HTTP 200 with `errList`, a refused session renewal HTTP 200 with `error.errLogMessage`)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any

from handlers.failure import DEFAULT_STATUSES, Failure
from tokensmith.errors import (
    InvalidValue,
    LoginFailed,
    Throttled,
)
from tokensmith.models import User
from tokensmith.runtime import SettingSpec
from tokensmith.scoped_tokens import Changes, Entry, IssuedPair, RenewRefused
from tokensmith.sessions import RenewalRefused

DIALECT = "commandcenter"
BASE_PATH = "/commandcenter/api"
MEDIA_TYPE = "application/json"

CORE_ERRORS = {
    **DEFAULT_STATUSES,
    # The SDK reads these from a 200 reply (a 401 would send it into its session-renewal loop).
    LoginFailed: 200,
    Throttled: 200,
    RenewalRefused: 200,
    RenewRefused: 200,
}

# errorCode values. Commvault publishes 5 ("Access denied") and a renew refusal of 7; the rest are ours.
ACCESS_DENIED = 5
ERROR_CODES = {400: 2, 401: ACCESS_DENIED, 403: ACCESS_DENIED, 404: 6, 409: 9}
RENEW_REFUSED = 7
LOGIN_FAILED = 1
ACCOUNT_LOCKED = 3
SESSION_RENEW_REFUSED = 8
OTHER_ERROR = 1

# Core field names → this dialect's request field names, for error messages that name a field.
FIELDS = {
    "name": "tokenName",
    "type": "tokenType",
    "renewable_until": "renewableUntilTimestamp",
    "expires_at": "tokenExpiryTimestamp",
    "endpoints": "apiEndpoints",
    "allowed_ips": "allowedIPs",
    "owner": "userId",
    "entry": "accessTokenId",
    "idle_timeout": "timeout",
    "device_id": "deviceId",
    "password": "password",
    "username": "username",
}

# tokenType: the published names and the SDK's integers, both onto the core's type names.
TYPE_NAMES = {
    "DEFAULT": "all",
    "MS_SCIM": "provisioning",
    "ALL": "all",
    "CUSTOM": "custom",
    "OneTouch": "recovery",
    "Hyperscale": "appliance",
}
TYPE_NUMBERS = {0: "DEFAULT", 1: "MS_SCIM", 2: "ALL", 3: "CUSTOM", 4: "OneTouch", 5: "Hyperscale"}
TYPE_OUT = {
    "all": "ALL",
    "custom": "CUSTOM",
    "provisioning": "MS_SCIM",
    "recovery": "OneTouch",
    "appliance": "Hyperscale",
}

SESSION_SCHEME = "QSDK"
BEARER_SCHEME = "Bearer"

# The access token's lifespan, in minutes: scoped_tokens reads the setting this names.
ACCESS_LIFESPAN = ".commandcenter.access_token_lifespan"
SETTINGS = (
    SettingSpec(
        ACCESS_LIFESPAN,
        int,
        30,
        "Lifespan of new commandcenter ALL/CUSTOM access tokens.",
        "minutes",
        1,
        525600,
    ),
)
_USER_GUID_NAMESPACE = uuid.UUID("6f1c2a52-3b8e-4c57-9a55-2f6c1d7e9b10")


# --- times --------------------------------------------------------------------------------------------


def epoch(at: datetime | None) -> int:
    """Unix seconds; 0 where Commvault shows "never" (a token never used)."""
    return 0 if at is None else int(at.timestamp())


def moment(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


# --- tokens as they travel ---------------------------------------------------------------------------


def session_token_text(value: str) -> str:
    """`QSDK <token>`, as Commvault spells session tokens. The token itself is tokensmith's own (prefix
    `tss_`, checksum), so it is told from an access token without a look-up, as in every dialect."""
    return f"{SESSION_SCHEME} {value}"


def read_authtoken(header: Any) -> tuple[str, bool]:
    """(token, may it be a session) from an `Authtoken` header, the one reading of it in every dialect
    that accepts the header: `QSDK <session>`, `Bearer <access token>`, or a bare token (whose prefix
    tells its kind). `QSDK <access token>` is read too: the SDK puts `QSDK ` before any bare token it
    is given. A session never travels as `Bearer`. What the token is, `tokensmith.verifier` decides."""
    text = header.strip() if isinstance(header, str) else ""
    scheme, _, rest = text.partition(" ")
    rest = rest.strip()
    if rest and scheme.lower() == SESSION_SCHEME.lower():
        return rest, True
    if rest and scheme.lower() == BEARER_SCHEME.lower():
        return rest, False
    return text, True


def session_id(text: str) -> str:
    """The session token inside RenewLoginToken's `sessionId` (`QSDK <token>` or the bare token)."""
    text = text.strip() if isinstance(text, str) else ""
    scheme, _, rest = text.partition(" ")
    return rest.strip() if rest and scheme.lower() == SESSION_SCHEME.lower() else text


def password(encoded: str) -> str:
    """Login passwords travel Base64-encoded UTF-8."""
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise LoginFailed("The password must be sent Base64-encoded (UTF-8).") from None


# --- requests ------------------------------------------------------------------------------------------


def token_type(raw: str | int | None) -> str | None:
    if raw is None:
        return None
    name = TYPE_NUMBERS.get(raw) if isinstance(raw, int) else raw
    core_name = TYPE_NAMES.get(name) if isinstance(name, str) else None
    if core_name is None:
        raise InvalidValue("type", f"Unknown token type {raw!r}.")
    return core_name


def changes(body: dict[str, Any]) -> Changes:
    return Changes(
        name=body.get("tokenName"),
        type=token_type(body.get("tokenType")),
        renewable_until=moment(body.get("renewableUntilTimestamp")),
        expires_at=moment(body.get("tokenExpiryTimestamp")),
        endpoints=body.get("apiEndpoints"),
        allowed_ips=body.get("allowedIPs"),
    )


# --- replies -------------------------------------------------------------------------------------------


def ok() -> dict[str, Any]:
    return {"errorMessage": "", "errorCode": 0}


def _type_name(entry: Entry) -> str:
    return TYPE_OUT[entry.type.name]


def created(pair: IssuedPair) -> dict[str, Any]:
    entry = pair.entry
    info: dict[str, Any] = {
        "error": ok(),
        "accessTokenId": entry.id,
        "tokenName": entry.name,
        "userId": entry.user_id,
        "tokenType": _type_name(entry),
        "tokenExpiryTimestamp": epoch(entry.expires_at),
        "accessToken": pair.access,
    }
    if pair.refresh is not None:
        info["refreshToken"] = pair.refresh
        info["refreshTokenExpiryTimestamp"] = epoch(entry.refresh_expires_at)
        info["renewableUntilTimestamp"] = epoch(entry.renewable_until)
    return {"error": ok(), "tokenInfo": info}


def listed(entries: list[Entry]) -> dict[str, Any]:
    return {"tokens": [_listed_entry(entry) for entry in entries], "error": ok()}


def _listed_entry(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "accessTokenId": entry.id,
        "userId": entry.user_id,
        "tokenName": entry.name,
        "createdTime": epoch(entry.created_at),
        "tokenType": _type_name(entry),
        "lastUsedTime": epoch(entry.last_used_at),
        "tokenExpiryTimestamp": epoch(entry.expires_at),
        "apiEndpoints": list(entry.endpoints),
        "allowedIPs": list(entry.allowed_ips),
    }
    if entry.type.renewable:
        item["renewableUntilTimestamp"] = epoch(entry.renewable_until)
    return item


def updated(entry: Entry) -> dict[str, Any]:
    info: dict[str, Any] = {
        "accessTokenId": entry.id,
        "tokenName": entry.name,
        "tokenType": _type_name(entry),
        "tokenExpiryTimestamp": epoch(entry.expires_at),
        "apiEndpoints": list(entry.endpoints),
        "allowedIPs": list(entry.allowed_ips),
    }
    if entry.type.renewable:
        info["renewableUntilTimestamp"] = epoch(entry.renewable_until)
    return {"error": ok(), "tokenInfo": info}


def renewed(pair: IssuedPair) -> dict[str, Any]:
    entry = pair.entry
    return {
        "accessToken": pair.access,
        "refreshToken": pair.refresh,
        "accessTokenId": entry.id,
        "tokenExpiryTimestamp": epoch(entry.expires_at),
        "refreshTokenExpiryTimestamp": epoch(entry.refresh_expires_at),
        "renewableUntilTimestamp": epoch(entry.renewable_until),
        "error": ok(),
    }


def user_guid(user: User) -> str:
    """A stable GUID per account (tokensmith keys users by integer id; Commvault clients expect a GUID)."""
    return str(uuid.uuid5(_USER_GUID_NAMESPACE, f"user:{user.id}"))


def login_succeeded(user: User, session_value: str) -> dict[str, Any]:
    return {
        "aliasName": str(user.id),
        "userGUID": user_guid(user),
        "loginAttempts": 0,
        "remainingLockTime": 0,
        "smtpAddress": user.email or "",
        "userName": user.username,
        "providerType": 1,
        "token": session_token_text(session_value),
        "forcePasswordChange": False,
        "isAccountLocked": False,
        "ccn": 0,
        "capability": 0,
        "ownerOrganization": COMMCELL_ORGANIZATION,
        "providerOrganization": COMMCELL_ORGANIZATION,
        "company": COMMCELL_ORGANIZATION,
        "additionalResp": {"nameValues": []},
        "errList": [],
    }


# The one organisation tokensmith has: the CommCell itself, as Commvault names its default organisation.
COMMCELL_ORGANIZATION = {"GUID": "", "providerId": 0, "providerDomainName": "Commcell"}


def session_renewed(session_value: str) -> dict[str, Any]:
    return {"token": session_token_text(session_value), "error": {}}


def who_am_i(user: User) -> dict[str, Any]:
    return {"user": {"userName": user.username, "userId": user.id, "userGUID": user_guid(user)}}


def _full_name(user: User) -> str:
    return " ".join(part for part in (user.first_name, user.last_name) if part) or user.username


def user_summary(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.username, "fullName": _full_name(user), "email": user.email or ""}


def users(found: list[User]) -> dict[str, Any]:
    return {"users": [user_summary(user) for user in found]}


def user(found: User) -> dict[str, Any]:
    return {
        **user_summary(found),
        "GUID": user_guid(found),
        "enabled": not found.disabled,
        "userType": found.role.upper(),
    }


def security_associations(_user: User) -> dict[str, Any]:
    """tokensmith has roles, not per-entity security associations: the list is truthfully empty."""
    return {"associations": []}


def service() -> dict[str, Any]:
    return {"service": "tokensmith", "api": DIALECT, **ok()}


# --- errors --------------------------------------------------------------------------------------------


def _field_message(failure: Failure) -> str:
    field, messages = next(iter((failure.fields or {}).items()))
    return f"{FIELDS.get(field, field)}: {messages[0]}"


def error_body(failure: Failure, path: str) -> dict[str, Any]:
    error = failure.error
    if isinstance(error, LoginFailed | Throttled):
        locked = isinstance(error, Throttled)
        return {
            "errList": [
                {
                    "errLogMessage": failure.message,
                    "errorCode": ACCOUNT_LOCKED if locked else LOGIN_FAILED,
                }
            ],
            "isAccountLocked": locked,
            "remainingLockTime": error.retry_after if locked else 0,
        }
    if isinstance(error, RenewalRefused):
        return {"error": {"errLogMessage": failure.message, "errorCode": SESSION_RENEW_REFUSED}}
    if isinstance(error, RenewRefused):
        return {"errorMessage": failure.message, "errorCode": RENEW_REFUSED}
    if failure.status == 401:
        return {"errorMessage": "Access denied", "errorCode": ACCESS_DENIED}
    message = _field_message(failure) if failure.fields else failure.message
    return {"errorMessage": message, "errorCode": ERROR_CODES.get(failure.status, OTHER_ERROR)}
