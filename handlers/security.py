"""Security functions named by the specs (`x-apikeyInfoFunc`). Async: they read the database on the
event loop, as Connexion requires of any security function that does I/O."""

from __future__ import annotations

from typing import Any

from handlers.context import core
from tokensmith.auth import authenticate_token


async def integration_access_token(apikey: str, required_scopes: Any = None) -> dict[str, Any]:
    principal = authenticate_token(core(), apikey.strip(), kinds=("access",))
    return {"sub": principal.username, "principal": principal}
