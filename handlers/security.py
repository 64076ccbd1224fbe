"""Security functions named by the specs (`x-apikeyInfoFunc` and friends), shared by every dialect.

Async: they read the database on the event loop, as Connexion requires of a security function that
does I/O. Each returns Connexion's token-info dict carrying the core's `Principal`.
"""

from __future__ import annotations

from typing import Any

from handlers import routes
from handlers.context import core
from tokensmith.auth import Principal, authenticate_token
from tokensmith.errors import Forbidden


def enforce_endpoints(principal: Principal, path: str) -> None:
    """A token limited to certain API endpoints (a commandcenter CUSTOM token) is refused, in every
    dialect, on a path none of them covers. Endpoints match the full path or the path relative to its
    dialect's base path, case-insensitively, by prefix."""
    if not principal.covers((path, routes.relative(path))):
        raise Forbidden("This token is not allowed to call this API endpoint.")


def token_info(principal: Principal, request: Any) -> dict[str, Any]:
    enforce_endpoints(principal, request.url.path)
    return {"sub": principal.username, "principal": principal}


async def integration_access_token(apikey: str, required_scopes: Any = None, request: Any = None) -> dict:
    """The `TOKEN` header: an API access token."""
    return token_info(authenticate_token(core(), apikey.strip(), kinds=("access",)), request)
