"""Security functions named by the specs (`x-apikeyInfoFunc` and friends), shared by every dialect.

Async: they read the database on the event loop, as Connexion requires of a security function that
does I/O. Each returns Connexion's token-info dict carrying the core's `Principal`.
"""

from __future__ import annotations

from typing import Any

from handlers import access, observability, routes
from handlers.context import client_address, core, core_call, settings
from handlers.gateway import wire as gateway_wire
from tokensmith import crypto, policy, sessions, tenants
from tokensmith.auth import Principal, authenticate_token
from tokensmith.errors import InvalidValue, TokenInvalid


def enforce(principal: Principal, request: Any) -> None:
    """Everything decided about an authenticated request before its handler runs, in every dialect:
    the operation's declaration admits this kind of caller, and the credential's restrictions (endpoint
    scope, address list) allow this path from this address. `tokensmith.policy` decides both."""
    routing = request.scope.get("extensions", {}).get("connexion_routing", {})
    declaration = access.declaration_for(routing.get("api_base_path", ""), routing.get("operation_id", ""))
    policy.require(declaration, principal)
    # Normalising the path costs a few µs: only a credential limited to endpoints needs it.
    candidates = routes.scope_candidates(request.url.path, principal.dialect) if principal.endpoints else ()
    policy.check_restrictions(principal, candidates, client_address())


def token_info(principal: Principal, request: Any) -> dict[str, Any]:
    observability.note_token(principal.public_id)
    enforce(principal, request)
    return {"sub": principal.username, "principal": principal}


async def integration_access_token(apikey: str, required_scopes: Any = None, request: Any = None) -> dict:
    """The `TOKEN` header: an API access token."""
    return token_info(await core_call(authenticate_token, core(), apikey.strip(), kinds=("access",)), request)


def _authenticate(value: str, *, sessions_too: bool = True) -> Principal:
    """Any tokensmith access token, whichever dialect issued it: a prefixed secret by its prefix
    (a commandcenter session through its own check, which slides the idle expiry), otherwise a gateway
    JWT (tenant or superadmin token)."""
    value = value.strip()
    parsed = crypto.parse(value)
    if parsed is not None:
        if parsed.kind == sessions.KIND and sessions_too:
            return sessions.authenticate(core(), value)
        return authenticate_token(core(), value, kinds=("access",))
    try:
        return tenants.authenticate_tenant(core(), value, gateway_wire.TENANT_TOKEN)
    except TokenInvalid:
        return tenants.authenticate_superadmin(core(), value, gateway_wire.SUPERADMIN_TOKEN)


async def bearer_token(token: str, required_scopes: Any = None, request: Any = None) -> dict:
    """`Authorization: Bearer <token>`: any tokensmith access token."""
    return token_info(await core_call(_authenticate, token, sessions_too=False), request)


async def authtoken(apikey: str, required_scopes: Any = None, request: Any = None) -> dict:
    """`Authtoken: QSDK <session>`, `Authtoken: Bearer <access token>`, or a bare token of either kind."""
    scheme, _, rest = apikey.strip().partition(" ")
    value = rest if scheme.upper() in ("QSDK", "BEARER") and rest else apikey
    return token_info(await core_call(_authenticate, value), request)


def presented_tokens(headers: Any) -> list[str]:
    """Every token a request carries, in any header a tokensmith dialect accepts, most specific first."""
    found = []
    if headers.get("TOKEN"):
        found.append(headers["TOKEN"].strip())
    scheme, _, rest = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        found.append(rest.strip())
    authtoken = (headers.get("Authtoken") or "").strip()
    if authtoken:
        scheme, _, rest = authtoken.partition(" ")
        found.append(rest.strip() if scheme.upper() in ("QSDK", "BEARER") and rest.strip() else authtoken)
    if headers.get("itas-api-access-key"):
        found.append(headers["itas-api-access-key"].strip())
    return found


def forwarded_uri(headers: Any) -> str:
    """The original request's path, from the one header the proxy is configured to set
    (`TOKENSMITH_FORWARD_AUTH_URI_HEADER`), never from whichever of several a client may have added.
    Sent twice, it is refused: a proxy that overwrites the header sends it once."""
    values = headers.getlist(settings().forward_auth_uri_header)
    if len(values) > 1:
        raise InvalidValue("uri", "The original URI header was sent more than once.")
    return (values[0] if values else "/").split("?", 1)[0]


def authorize_forwarded(headers: Any) -> Principal:
    """Forward auth's question: does the presented credential reach the original URI from this client?"""
    principal = authenticate_presented(headers)
    if principal is None:
        raise TokenInvalid("No token, or a token that is unknown, expired or revoked.")
    candidates = routes.scope_candidates(forwarded_uri(headers), principal.dialect)
    policy.check_restrictions(principal, candidates, client_address())
    return principal


def authenticate_presented(headers: Any) -> Principal | None:
    """The first presented token that authenticates, or None (forward auth's question)."""
    for value in presented_tokens(headers):
        try:
            return _authenticate(value)
        except TokenInvalid:
            continue
    return None
