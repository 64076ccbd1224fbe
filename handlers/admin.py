"""Operations of `openapi/admin.yaml`, tokensmith's native API."""

from __future__ import annotations

from typing import Any

from tokensmith.auth import Principal

JSON = {"Content-Type": "application/json"}


async def whoami(token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    principal: Principal = token_info["principal"]
    return (
        {
            "user_id": principal.user_id,
            "username": principal.username,
            "role": principal.role,
            "tenant_id": principal.tenant_id,
            "token": {
                "public_id": principal.public_id,
                "kind": principal.kind,
                "dialect": principal.dialect,
            },
        },
        200,
        JSON,
    )
