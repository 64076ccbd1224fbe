"""Operations of `openapi/commandcenter.yaml`: read the request, make one core call, shape the reply.

Commvault's paths are case-insensitive in practice and its SDK lists tokens at `/V4/AccessToken/`; the
spec declares those spellings as alias paths (tag "Path aliases"), whose operations name the same
functions below with `x-tokensmith-handler` (see `handlers.resolution`).
"""

from __future__ import annotations

from typing import Any

from handlers.commandcenter import wire
from handlers.context import client_address, core, core_call, off_loop
from tokensmith import directory, scoped_tokens, sessions
from tokensmith.auth import Principal
from tokensmith.errors import InvalidValue

Reply = tuple[dict[str, Any], int]


def _principal(token_info: dict[str, Any]) -> Principal:
    return token_info["principal"]


async def service_probe() -> Reply:
    """`GET /commandcenter/api/`: the SDK refuses to log in unless this answers 200."""
    return wire.service(), 200


# --- login sessions ----------------------------------------------------------------------------------


async def login(body: dict[str, Any]) -> Reply:
    done = await off_loop(
        sessions.login,
        core(),
        body["username"],
        wire.password(body["password"]),
        dialect=wire.DIALECT,
        device_id=body.get("deviceId"),
        idle_minutes=body.get("timeout"),
        client=client_address(),
    )
    return wire.login_succeeded(done.user, done.issued.value), 200


async def renew_login_token(body: dict[str, Any]) -> Reply:
    issued = await core_call(sessions.renew, core(), wire.session_id(body["sessionId"]), body["deviceId"])
    return wire.session_renewed(issued.value), 200


async def logout(token_info: dict[str, Any]) -> Reply:
    await core_call(sessions.end, core(), _principal(token_info))
    return wire.ok(), 200


async def who_am_i(token_info: dict[str, Any]) -> Reply:
    principal = _principal(token_info)
    return wire.who_am_i(await core_call(directory.visible_user, core(), principal, principal.user_id)), 200


# --- V4 access tokens --------------------------------------------------------------------------------


async def create_access_token(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    pair = await core_call(
        scoped_tokens.create,
        core(),
        _principal(token_info),
        wire.changes(body),
        dialect=wire.DIALECT,
        access_lifespan_setting=wire.ACCESS_LIFESPAN,
        owner_id=body.get("userId"),
    )
    return wire.created(pair), 200


async def list_access_tokens(token_info: dict[str, Any], userId: int | None = None) -> Reply:  # noqa: N803
    principal = _principal(token_info)
    user_id = principal.user_id if userId is None else userId
    return wire.listed(
        await core_call(scoped_tokens.list_for, core(), principal, user_id, dialect=wire.DIALECT)
    ), 200


async def update_access_token(
    accessTokenId: int,  # noqa: N803
    body: dict[str, Any],
    token_info: dict[str, Any],
) -> Reply:
    if body.get("accessTokenId") not in (None, accessTokenId):
        raise InvalidValue("entry", "Must be the id in the path, or left out.")
    entry = await core_call(
        scoped_tokens.update,
        core(),
        _principal(token_info),
        accessTokenId,
        wire.changes(body),
        dialect=wire.DIALECT,
    )
    return wire.updated(entry), 200


async def delete_access_token(accessTokenId: int, token_info: dict[str, Any]) -> Reply:  # noqa: N803
    await core_call(scoped_tokens.delete, core(), _principal(token_info), accessTokenId, dialect=wire.DIALECT)
    return wire.ok(), 200


async def renew_access_token(body: dict[str, Any]) -> Reply:
    pair = await core_call(
        scoped_tokens.renew,
        core(),
        body["accessToken"],
        body["refreshToken"],
        dialect=wire.DIALECT,
        access_lifespan_setting=wire.ACCESS_LIFESPAN,
        client=client_address(),
    )
    return wire.renewed(pair), 200


# --- the user look-ups the SDK makes before it reaches the token calls --------------------------------


async def list_users(token_info: dict[str, Any], additionalProperties: bool | None = None) -> Reply:  # noqa: N803
    return wire.users(await core_call(directory.visible_users, core(), _principal(token_info))), 200


async def get_user(userId: int, token_info: dict[str, Any]) -> Reply:  # noqa: N803
    return wire.user(await core_call(directory.visible_user, core(), _principal(token_info), userId)), 200


async def get_user_security(userId: int, token_info: dict[str, Any]) -> Reply:  # noqa: N803
    return wire.security_associations(
        await core_call(directory.visible_user, core(), _principal(token_info), userId)
    ), 200
