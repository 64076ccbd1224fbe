"""Which dialect owns which base path: the one table the app factory, the error path and the
endpoint-scope check all read. A new dialect adds its line here."""

from __future__ import annotations

from typing import Any

from handlers import admin_wire
from handlers.integration import wire as integration_wire

# (spec file stem in openapi/, base path, wire module owning the error format under that base path)
DIALECTS: list[tuple[str, str, Any]] = [
    ("integration", "/integration/v1", integration_wire),
    ("admin", "/api/v1", admin_wire),
    ("ops", "", admin_wire),  # /healthz, /readyz, /metrics; mounted last: its empty base path matches all
]
FALLBACK_WIRE = admin_wire

_BY_LENGTH = sorted(DIALECTS, key=lambda row: len(row[1]), reverse=True)


def owner(path: str) -> tuple[str, str, Any] | None:
    """The dialect row whose base path holds `path` (case-insensitively), if any."""
    lowered = path.lower()
    for row in _BY_LENGTH:
        base = row[1].lower()
        if lowered == base or lowered.startswith(base + "/"):
            return row
    return None


def wire_for(path: str) -> Any:
    row = owner(path)
    return row[2] if row else FALLBACK_WIRE


def relative(path: str) -> str:
    """`path` without its dialect's base path: what a CUSTOM token's `apiEndpoints` are written against."""
    row = owner(path)
    return path[len(row[1]) :] or "/" if row else path
