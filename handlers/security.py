"""Security functions named by the specs (`x-apikeyInfoFunc` and friends), shared by every dialect.

Async: they read the database on the event loop, as Connexion requires of a security function that
does I/O. Each returns Connexion's token-info dict carrying the core's `Principal`.
"""

from __future__ import annotations

from typing import Any

from handlers import access, observability, routes
from handlers.commandcenter import wire as commandcenter_wire
from handlers.context import client_address, core, core_call, settings
from handlers.gateway import wire as gateway_wire
from tokensmith import policy, verifier
from tokensmith.auth import Principal
from tokensmith.errors import InvalidValue, TokenInvalid
from tokensmith.verifier import Accepted

# What each way of presenting a credential takes, whichever dialect issued it.
ACCESS_TOKEN = Accepted(frozenset({verifier.ACCESS}))
BEARER = Accepted(frozenset({verifier.ACCESS}), (gateway_wire.TENANT_TOKEN, gateway_wire.SUPERADMIN_TOKEN))
ANY = Accepted(frozenset({verifier.ACCESS, verifier.SESSION}), BEARER.jwts)


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


async def caller(value: str, accepted: Accepted, request: Any) -> dict[str, Any]:
    """What every security function answers: the verified credential's Principal, checked against
    the operation (`token_info`). The one place a security function reaches the verifier."""
    return token_info(await core_call(verifier.authenticate, core(), value, accepted), request)


async def integration_access_token(apikey: str, required_scopes: Any = None, request: Any = None) -> dict:
    """The `TOKEN` header: an API access token."""
    return await caller(apikey.strip(), ACCESS_TOKEN, request)


async def bearer_token(token: str, required_scopes: Any = None, request: Any = None) -> dict:
    """`Authorization: Bearer <token>`: any tokensmith access token (a prefixed one, or a gateway JWT)."""
    return await caller(token.strip(), BEARER, request)


def read_authtoken(header: str, accepted: Accepted) -> tuple[str, Accepted]:
    """The token in an `Authtoken` header and what it may be: `accepted`, less sessions after `Bearer`."""
    token, may_be_session = commandcenter_wire.read_authtoken(header)
    return token, accepted if may_be_session else accepted.without(verifier.SESSION)


async def authtoken(apikey: str, required_scopes: Any = None, request: Any = None) -> dict:
    """`Authtoken: QSDK <session>`, `Authtoken: Bearer <access token>`, or a bare token of any kind."""
    return await caller(*read_authtoken(apikey, ANY), request)


def presented_tokens(headers: Any) -> list[tuple[str, Accepted]]:
    """Every token a request carries, in any header a tokensmith dialect accepts, most specific first,
    each with what that header may carry."""
    found = []
    if headers.get("TOKEN"):
        found.append((headers["TOKEN"].strip(), ANY))
    scheme, _, rest = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        found.append((rest.strip(), ANY))
    if (headers.get("Authtoken") or "").strip():
        found.append(read_authtoken(headers["Authtoken"], ANY))
    if headers.get("itas-api-access-key"):
        found.append((gateway_wire.bare_token(headers["itas-api-access-key"]), ANY))
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
    for value, accepted in presented_tokens(headers):
        try:
            return verifier.authenticate(core(), value, accepted)
        except TokenInvalid:
            continue
    return None
