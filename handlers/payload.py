"""What a request value must be before any schema, handler or database sees it.

JSON admits values that nothing behind the validation layer can hold: nesting deep enough to exhaust
Python's recursion (the decoder's, jsonschema's, orjson's encoder's at 254 levels), integers with
thousands of digits (Python refuses to convert more than 4300 digits to an `int`), `NaN` and numbers
that overflow to infinity, and `\\ud800`-style escapes that decode to lone surrogates, which no UTF-8
encoder (psycopg's, sqlite3's, orjson's) will write. Each of these was a
500. Instead of checking fields one by one, every parsed body and every typed parameter passes
`problems()` once: one walk, one rule for every field of every operation.

Both request paths share this module: Connexion's (`handlers.validation`) parses with `loads` and
refuses what `problems` reports, with the field named; direct dispatch (`handlers.direct`) parses with
orjson, which already refuses surrogates, NaN and infinity, and hands anything `risky` to Connexion's
path so that the refusal is worded once.
"""

from __future__ import annotations

import json
import re
import sys
import typing as t

# Deepest nesting of arrays and objects a body may have. tokensmith's own bodies are at most 4 deep.
MAX_DEPTH = 32
# Longest integer a body may hold: Python's own limit on converting digits to an `int`. (An integer
# that fits but exceeds a column is the core's to refuse or to treat as matching nothing; an
# operation's spec bounds it where the operation cares.)
MAX_DIGITS = sys.get_int_max_str_digits() or 4300
# The digits of the longest 64-bit integer: orjson reads longer integers as floats.
_INT64_DIGITS = len(str(2**63))

NESTED = f"Nested more than {MAX_DEPTH} levels deep."
TOO_LONG = f"A number of more than {MAX_DIGITS} digits."
NOT_FINITE = "Numbers must be finite (NaN and Infinity are not JSON)."
NOT_UNICODE = "Text must be valid Unicode (an unpaired surrogate escape was sent)."

# Raw bytes in which direct dispatch cannot vouch for orjson's reading: a run of digits as long as the
# longest 64-bit integer (orjson reads longer ones as floats), or more brackets than the depth limit.
_LONG_DIGITS = re.compile(rb"\d{%d}" % _INT64_DIGITS)


class _Unreadable:
    """A number the decoder met but that cannot be represented; `problems` reports where it was."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return "<unreadable number>"


def _integer(text: str) -> int | _Unreadable:
    # Checked on the digits, before `int()`: past 4300 digits `int()` itself raises.
    if len(text.lstrip("-")) > MAX_DIGITS:
        return _Unreadable(TOO_LONG)
    return int(text)


def _float(text: str) -> float | _Unreadable:
    value = float(text)
    return _Unreadable(NOT_FINITE) if value in (float("inf"), float("-inf")) else value


def _constant(_name: str) -> _Unreadable:
    return _Unreadable(NOT_FINITE)


def loads(text: str) -> t.Any:
    """`json.loads` whose unrepresentable numbers come back as markers for `problems` to report.

    Raises `json.JSONDecodeError` for text that is not JSON and `RecursionError` when the nesting is
    too deep for the decoder itself."""
    return json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)


def problems(value: t.Any, root: str) -> dict[str, list[str]]:
    """Every field of `value` that no layer behind validation could hold, by dotted path (`root` for
    the value itself), with the reason. Iterative, so any depth the decoder produced is safe to walk."""
    found: dict[str, list[str]] = {}
    stack: list[tuple[t.Any, tuple[str, ...], int]] = [(value, (), 0)]
    while stack:
        item, path, depth = stack.pop()
        reason = None
        if isinstance(item, str):
            reason = None if _unicode(item) else NOT_UNICODE
        elif isinstance(item, float):
            reason = None if item == item and item not in (float("inf"), float("-inf")) else NOT_FINITE
        elif isinstance(item, _Unreadable):
            reason = item.reason
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                found.setdefault(root, [NESTED])
                continue
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and not _unicode(key):
                    found.setdefault(_name(path, root), []).append(NOT_UNICODE)
                    continue
                stack.append((child, (*path, str(key)), depth + 1))
        if reason is not None:
            messages = found.setdefault(_name(path, root), [])
            if reason not in messages:
                messages.append(reason)
    return found


def risky(raw: bytes) -> bool:
    """Whether orjson's reading of `raw` may differ from `loads` + `problems` accepting it (a cheap scan
    of the bytes; a false alarm only sends the request the longer way)."""
    return raw.count(b"[") + raw.count(b"{") > MAX_DEPTH or _LONG_DIGITS.search(raw) is not None


def _unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _name(path: tuple[str, ...], root: str) -> str:
    return ".".join(path) or root
