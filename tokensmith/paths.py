"""Request paths as an endpoint scope sees them: one normal form, compared segment by segment.

A scope entry (`/V4/AccessToken`, an upstream's `/app/orders`) grants a path and everything below it,
never a path that merely starts with the same letters (`/User` is not `/users`, `/a` is not `/audit`).
Both sides are normalised the same way before they meet: percent-decoding (until nothing changes, so a
double-encoded `%252F..` cannot hide a dot segment), backslashes read as slashes, `;parameters` dropped
from each segment (as servlet containers do with `..;/`), empty and `.` segments dropped, `..` resolved.
A path that is not text a server could route (control characters, a `..` above the root, a query) has
no normal form and is covered by nothing. Comparison ignores case: some dialects' paths
are case-insensitive, and a scope never grants more by being case-sensitive.
"""

from __future__ import annotations

from urllib.parse import unquote

MAX_DECODE_ROUNDS = 4
MAX_PATH_LENGTH = 2048


def normalise(raw: str) -> str | None:
    """The normal form of a path (`/a/b`, lower-cased), or None when it has none."""
    segments = segments_of(raw)
    return None if segments is None else "/" + "/".join(segments)


def segments_of(raw: str) -> tuple[str, ...] | None:
    if not isinstance(raw, str) or len(raw) > MAX_PATH_LENGTH:
        return None
    text = raw
    for _ in range(MAX_DECODE_ROUNDS):
        try:
            decoded = unquote(text, errors="strict") if "%" in text else text
        except UnicodeDecodeError:
            return None
        if decoded == text:
            break
        text = decoded
    else:
        return None  # still changing after several rounds: nobody routes that
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text) or "?" in text or "#" in text:
        return None
    resolved: list[str] = []
    for part in text.replace("\\", "/").split("/"):
        segment = part.split(";", 1)[0].strip().lower()
        if segment in ("", "."):
            continue
        if segment == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        resolved.append(segment)
    return tuple(resolved)


def within(path: tuple[str, ...], scope: tuple[str, ...]) -> bool:
    """True when `path` is `scope` or lies below it, segment by segment."""
    return len(path) >= len(scope) and path[: len(scope)] == scope
