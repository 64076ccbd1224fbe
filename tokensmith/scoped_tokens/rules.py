"""The rules a scoped token's owner meets: who may manage tokens, names, endpoints, and time bounds.

A room of its own because these are the decisions of scoped tokens, kept apart from the rows they are
applied to: each takes values and returns a value or raises `InvalidValue` / `Forbidden` with the
message the client sees, reading no database and no clock (the caller passes `now`). Bounds are measured
from an entry's creation, so editing never stretches a token past its type's maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tokensmith import policy
from tokensmith.auth import Principal
from tokensmith.errors import Forbidden, InvalidValue
from tokensmith.scoped_tokens.model import TYPES, Changes, TokenType

DEFAULT_RENEWABLE_FOR = timedelta(days=90)
MAX_RENEWABLE_FOR = timedelta(days=365)
RENEW_WINDOW = timedelta(days=14)  # renewal stays possible this long after the access token expired
MAX_NAME_LENGTH = 255
MAX_ENDPOINTS = 100
MAX_ENDPOINT_LENGTH = 512

# Managing tokens takes a login session: the operations that do it declare so in the spec, and the core
# asks the policy the same question, so no other face can wire them up with a looser rule.
_SESSION_ONLY = policy.Declaration(frozenset({policy.SESSION}))


def require_user(actor: Principal) -> None:
    if actor.user_id is None:
        raise Forbidden("Only a user can manage access tokens.")


def require_session(actor: Principal) -> None:
    require_user(actor)
    if not policy.admits(_SESSION_ONLY, actor):
        raise Forbidden("You cannot create, edit, and delete an access token using another access token.")


def type_named(name: str) -> TokenType:
    token_type = TYPES.get(name)
    if token_type is None:
        raise InvalidValue("type", "Unknown token type.")
    return token_type


def checked_name(name: str | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidValue("name", "A token needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidValue("name", f"At most {MAX_NAME_LENGTH} characters.")
    return name.strip()


def checked_endpoints(endpoints: Sequence[str] | None, token_type: TokenType, *, required: bool) -> list[str]:
    """A scoped type's endpoints: any well-formed paths, served here or not (an upstream's behind
    forward auth, a vendor API tokensmith does not serve), never one covering everything."""
    given = list(endpoints or ())
    if not token_type.scoped:
        if given:
            raise InvalidValue("endpoints", "Only tokens limited to API endpoints take a list of endpoints.")
        return []
    if not given:
        if required:
            raise InvalidValue("endpoints", "A token limited to API endpoints needs at least one endpoint.")
        return []
    if len(given) > MAX_ENDPOINTS:
        raise InvalidValue("endpoints", f"At most {MAX_ENDPOINTS} endpoints are allowed.")
    result: list[str] = []
    for raw in given:
        endpoint = policy.scope_entry(raw, max_length=MAX_ENDPOINT_LENGTH)
        if endpoint not in result:
            result.append(endpoint)
    return result


def refuse_fixed_expiry(changes: Changes) -> None:
    if changes.expires_at is not None:
        raise InvalidValue(
            "expires_at",
            "Does not apply to tokens of this type: they are renewed, and their expiry follows from "
            "renewable-until.",
        )


def refuse_renewable_until(changes: Changes) -> None:
    if changes.renewable_until is not None:
        raise InvalidValue(
            "renewable_until", "Does not apply to tokens of this type, which cannot be renewed."
        )


def checked_renewable_until(moment: datetime, now: datetime, created_at: datetime) -> datetime:
    if moment <= now:
        raise InvalidValue("renewable_until", "Must be in the future.")
    if moment > created_at + MAX_RENEWABLE_FOR:
        raise InvalidValue(
            "renewable_until", f"Must be at most {MAX_RENEWABLE_FOR.days} days after the token was created."
        )
    return moment


def checked_fixed_expiry(
    moment: datetime | None,
    token_type: TokenType,
    now: datetime,
    created_at: datetime,
    *,
    moment_checked: bool = True,
) -> datetime:
    """A fixed type's expiry within its maximum lifetime; `moment_checked=False` re-checks only the
    maximum (an existing expiry under a new type may already be in the past)."""
    assert token_type.max_lifetime is not None and moment is not None
    if moment_checked and moment <= now:
        raise InvalidValue("expires_at", "Must be in the future.")
    if moment > created_at + token_type.max_lifetime:
        raise InvalidValue(
            "expires_at",
            f"Must be at most {token_type.max_lifetime.days} days after the token was created "
            "for tokens of this type.",
        )
    return moment


def refresh_expiry(access_expiry: datetime, renewable_until: datetime) -> datetime:
    """A refresh token outlives its access token by the renewal window, never past renewable-until."""
    return min(access_expiry + RENEW_WINDOW, renewable_until)
