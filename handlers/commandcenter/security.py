"""Security functions of `openapi/commandcenter.yaml`: the `Authtoken` header and `Authorization: Bearer`.

`Authtoken` carries a login session (`QSDK <token>`) or an access token (`Bearer <token>`, or either kind
bare); `Authorization: Bearer` carries an access token. Every failure to identify the caller is a 401 —
and only those: the Commvault SDK answers any 401 by renewing its session. The shared `token_info` then
refuses (403) a CUSTOM token on a path its endpoints do not cover, or a token used from an address its
allow-list does not hold.
"""

from __future__ import annotations

from typing import Any

from handlers.commandcenter import wire
from handlers.context import core, core_call
from handlers.security import token_info
from tokensmith import sessions
from tokensmith.auth import authenticate_token


async def authtoken(apikey: str, required_scopes: Any = None, request: Any = None) -> dict[str, Any]:
    kind, value = wire.read_authtoken(apikey)
    if kind == "session":
        principal = await core_call(sessions.authenticate, core(), value)
    else:
        principal = await core_call(authenticate_token, core(), value, kinds=("access",))
    return token_info(principal, request)


async def bearer(token: str, required_scopes: Any = None, request: Any = None) -> dict[str, Any]:
    return token_info(await core_call(authenticate_token, core(), token.strip(), kinds=("access",)), request)
