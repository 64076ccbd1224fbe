"""The `format` checks request validation applies, owned here rather than left to optional packages.

jsonschema checks a `format` only when a package for it happens to be installed (`date-time` needs
rfc3339-validator); otherwise it lets any string through. The test extra installed that package and a
plain `pip install .` did not, so `?until=x` was a 400 in the suite and a 500 in production. Here each
format the specs use has a checker of our own, and `date-time` accepts exactly what the handlers can
parse (`datetime.fromisoformat`, then UTC) — an accepted value can never fail later. `unchecked()` names
the formats in a spec that nothing checks; the app refuses to build when there is one.
"""

from __future__ import annotations

import re
import typing as t
import uuid
from datetime import UTC, datetime

from jsonschema import Draft4Validator, FormatChecker

# OpenAPI formats that describe a type's size or how a client should show it; nothing to check.
ANNOTATIONS = frozenset({"int32", "int64", "float", "double", "byte", "binary", "password"})

# RFC 3339 section 5.6 `date-time` (upper- or lower-case T and Z, any number of fraction digits).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")

FORMAT_CHECKER = FormatChecker(formats=())
for _name, _check in Draft4Validator.FORMAT_CHECKER.checkers.items():
    FORMAT_CHECKER.checkers[_name] = _check


@FORMAT_CHECKER.checks("date-time")
def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # `format` applies to strings only; `type` speaks for the rest
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        # What handlers.admin_wire.parse_time does, and the move to UTC that any comparison makes.
        datetime.fromisoformat(value.replace("z", "Z")).astimezone(UTC)
    except (ValueError, OverflowError):  # 23:59:60, 2024-02-30, +24:00, or beyond year 9999 in UTC
        return False
    return True


@FORMAT_CHECKER.checks("uuid")
def is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def used(schema: t.Any, found: set[str] | None = None) -> set[str]:
    """Every `format` named anywhere in a (spec) document."""
    found = set() if found is None else found
    if isinstance(schema, dict):
        value = schema.get("format")
        if isinstance(value, str):
            found.add(value)
        for child in schema.values():
            used(child, found)
    elif isinstance(schema, list):
        for child in schema:
            used(child, found)
    return found


def unchecked(spec: dict) -> set[str]:
    """The formats a spec uses that no checker here knows (and that are more than an annotation)."""
    return used(spec) - ANNOTATIONS - set(FORMAT_CHECKER.checkers)
