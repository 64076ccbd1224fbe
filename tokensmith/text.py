"""Text that can be stored. PostgreSQL refuses NUL characters in text outright, so a value containing
one can never equal anything stored: look-ups treat it as "no match" without asking the database, and
writes refuse it as a field error (the specs declare the same rule as a pattern).

The same holds for a lone surrogate (`\ud800`), which no UTF-8 encoder writes. The HTTP layer already
refuses every request that carries one (`handlers.payload`); the check here covers the other ways in,
such as a command-line argument that Python decoded with `surrogateescape`."""

from __future__ import annotations

from tokensmith.errors import InvalidValue

NUL = "\x00"


# What the core trims from names: ASCII whitespace only, the same set the specs' patterns name (a
# `\s` in a pattern means different things to a client's regex engine and to Python's).
WHITESPACE = " \t\n\r\f\v"


def tidy(value: str) -> str:
    return value.strip(WHITESPACE)


def storable(value: str | None) -> bool:
    if value is None or value.isascii():
        return value is None or NUL not in value
    return NUL not in value and _encodable(value)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_storable(field: str, value: str | None) -> str | None:
    if not storable(value):
        raise InvalidValue(field, "Text may not contain NUL characters or unpaired surrogates.")
    return value


def safe_key(value: str) -> str:
    """An internal key built from client text (a throttle counter's name): NUL spelled out, never stored."""
    return value.replace(NUL, "\\0")
