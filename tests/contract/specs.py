"""What the contract tests need to know about the specs in `openapi/`: read from the YAML files, never
hard-coded, so a dialect added to `handlers.routes.DIALECTS` is covered without touching these tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers import routes
from handlers.routes import DIALECTS

OPENAPI_DIR = routes.OPENAPI_DIR
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# (spec stem, base path) of every mounted dialect, in DIALECTS order.
STEMS_AND_BASES: list[tuple[str, str]] = [(stem, base) for stem, base, _wire in DIALECTS]


@dataclass(frozen=True)
class Operation:
    method: str  # upper case, e.g. "POST"
    path: str  # relative to the dialect's base path, as written in the spec
    operation_id: str | None
    summary: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def spec_path(stem: str) -> Path:
    return routes.spec_path(stem)


def load_spec(stem: str) -> dict[str, Any]:
    """A copy of the spec, the caller's to change."""
    return copy.deepcopy(routes.spec(stem))


def operations(stem: str) -> list[Operation]:
    """Every operation the spec declares, in document order."""
    found = []
    for path, item in (load_spec(stem).get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                definition = item[method]
                found.append(
                    Operation(
                        method=method.upper(),
                        path=path,
                        operation_id=definition.get("operationId"),
                        summary=(definition.get("summary") or "").strip(),
                    )
                )
    return found
