"""Security functions of `openapi/commandcenter.yaml`: the `Authtoken` header and `Authorization: Bearer`.

`Authtoken` carries a login session (`QSDK <token>`) or an access token (`Bearer <token>`, or either kind
bare); `Authorization: Bearer` carries an access token. Every failure to identify the caller is a 401 —
and only those: the Commvault SDK answers any 401 by renewing its session. The shared `token_info` then
refuses (403) a CUSTOM token on a path its endpoints do not cover, or a token used from an address its
allow-list does not hold.
"""

from __future__ import annotations

from typing import Any

from handlers.security import ACCESS_TOKEN, caller, read_authtoken
from tokensmith import verifier
from tokensmith.verifier import Accepted

# Commandcenter's own credentials: its login sessions and access tokens (never a gateway JWT).
AUTHTOKEN = Accepted(frozenset({verifier.ACCESS, verifier.SESSION}))


async def authtoken(apikey: str, required_scopes: Any = None, request: Any = None) -> dict[str, Any]:
    return await caller(*read_authtoken(apikey, AUTHTOKEN), request)


async def bearer(token: str, required_scopes: Any = None, request: Any = None) -> dict[str, Any]:
    return await caller(token.strip(), ACCESS_TOKEN, request)
