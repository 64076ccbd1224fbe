"""Operations of `openapi/integration.yaml`: read the body, make one core call, shape the reply."""

from __future__ import annotations

from typing import Any

from handlers.context import client_address, core, core_call, off_loop
from handlers.integration import wire
from tokensmith import refresh_tokens, users
from tokensmith.auth import Principal


async def create_refresh_token(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    issued = await off_loop(
        refresh_tokens.create_refresh_token,
        core(),
        body["username"],
        body["password"],
        body["name"],
        client_address(),
        chain=wire.CHAIN,
    )
    return wire.refresh_token(issued.credential, issued.value, core().clock.now()), 200


async def validate_refresh_token(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    credential = await core_call(
        refresh_tokens.validate_refresh_token,
        core(),
        body["refresh_token"],
        wire.user_id(body["user_id"]),
        chain=wire.CHAIN,
    )
    return wire.refresh_token(credential, body["refresh_token"], core().clock.now()), 200


async def regen_refresh_token(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    issued = await core_call(
        refresh_tokens.regenerate_refresh_token,
        core(),
        body["refresh_token"],
        wire.user_id(body["user_id"]),
        chain=wire.CHAIN,
    )
    return wire.refresh_token(issued.credential, issued.value, core().clock.now()), 200


async def create_api_access_token(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    issued = await core_call(
        refresh_tokens.create_access_token,
        core(),
        body["refresh_token"],
        wire.user_id(body["user_id"]),
        chain=wire.CHAIN,
    )
    return wire.access_token(issued.credential, issued.value, core().clock.now()), 200


async def validate_api_access_token(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    value = body["api_access_token"]
    credential = await core_call(
        refresh_tokens.validate_access_token, core(), value, wire.user_id(body["user_id"]), chain=wire.CHAIN
    )
    return wire.access_token(credential, value, core().clock.now()), 200


async def revoke_api_access_tokens(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    parent, _count = await core_call(
        refresh_tokens.revoke_access_tokens,
        core(),
        body["refresh_token"],
        wire.user_id(body["user_id"]),
        chain=wire.CHAIN,
    )
    return wire.revoked_children(parent), 200


async def get_user_info(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    principal: Principal = token_info["principal"]
    return wire.user_info(await core_call(users.get_user, core(), principal.user_id)), 200
