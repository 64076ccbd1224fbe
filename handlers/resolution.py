"""Which function serves an operation: the specs name operations as the wire does (`createRefreshToken`,
`listAccessTokens`), and this module maps those names to handler functions.

A spec names its handler module once, at its root (`x-tokensmith-handlers: handlers.integration`); an
operation is served by the function named after its operationId in snake case (`createAPIAccessToken`
→ `create_api_access_token`), or by the one its `x-tokensmith-handler` names (in that module, or a
dotted path to another: the native API's webhooks live in `handlers.webhooks`), which is how alias
paths (Commvault's lower-case spellings) share a function under operationIds of their own. Generated clients
and Swagger UI see only the wire names; Connexion keeps the operationId as the operation's key, so the
access declarations, direct dispatch, metrics and the testing journal all speak the same names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import inflection
from connexion.resolver import Resolution, Resolver

MODULE_KEY = "x-tokensmith-handlers"
FUNCTION_KEY = "x-tokensmith-handler"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def handler_names(spec: dict[str, Any]) -> dict[str, str]:
    """operationId → dotted path of the function serving it, for every operation of `spec`."""
    module = spec.get(MODULE_KEY)
    if not isinstance(module, str) or not module:
        raise ValueError(f"A spec names its handler module at its root ({MODULE_KEY}).")
    found: dict[str, str] = {}
    for item in spec.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if isinstance(operation, dict) and "operationId" in operation:
                name = operation.get(FUNCTION_KEY) or inflection.underscore(operation["operationId"])
                found[operation["operationId"]] = name if "." in name else f"{module}.{name}"
    return found


def function(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


class SpecResolver(Resolver):
    """Connexion's resolver hook for one spec: the operationId stays the operation's name."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self._names = handler_names(spec)

    def resolve(self, operation: Any) -> Resolution:
        operation_id = operation.operation_id
        return Resolution(self.resolve_function_from_operation_id(self._names[operation_id]), operation_id)
