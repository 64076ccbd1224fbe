"""Security functions named by `openapi/gateway.yaml`.

Superadmin endpoints take the superadmin token only as `Authorization: Bearer`. Tenant endpoints take
the tenant access token as `itas-api-access-key` (Luma's current documentation) or as
`Authorization: Bearer` (its earlier documentation). A token of one kind never passes as the other.
Async, as Connexion requires of security functions that read the database.
"""

from __future__ import annotations

from typing import Any

from handlers.gateway import wire
from handlers.security import caller
from tokensmith.verifier import Accepted

SUPERADMIN = Accepted(jwts=(wire.SUPERADMIN_TOKEN,))
TENANT = Accepted(jwts=(wire.TENANT_TOKEN,))


async def superadmin_bearer(token: str, required_scopes: Any = None, request: Any = None) -> dict[str, Any]:
    return await caller(token.strip(), SUPERADMIN, request)


async def tenant_access_key(apikey: str, required_scopes: Any = None, request: Any = None) -> dict[str, Any]:
    return await caller(wire.bare_token(apikey), TENANT, request)


async def tenant_bearer(token: str, required_scopes: Any = None, request: Any = None) -> dict[str, Any]:
    return await caller(token.strip(), TENANT, request)
