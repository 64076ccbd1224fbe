"""Does an `apiEndpoints` entry name something tokensmith serves?

A CUSTOM token's entries are path prefixes, matched case-insensitively against the request path and
against the path relative to its dialect's base (see `handlers.security.enforce_endpoints`). An entry is
accepted when at least one operation of any mounted spec has a path it is a prefix of, written either
way: `/V4/AccessToken`, `/v4/accesstoken/Ren`, `/commandcenter/api/WhoAmI` and `/integration/v1/userinfo`
all pass; `/client` (a Commvault API tokensmith does not serve) is refused. Path templates match any
value of their parameters (`/V4/AccessToken/17` matches `/V4/AccessToken/{accessTokenId}`).
"""

from __future__ import annotations

from functools import cache

from handlers import routes


def _segments(path: str) -> tuple[str, ...]:
    while "//" in path:
        path = path.replace("//", "/")
    return tuple(path.lower().split("/")[1:])


@cache
def served_templates() -> frozenset[tuple[str, ...]]:
    """Every operation path of every mounted spec, as lower-cased segments, with and without its base."""
    templates: set[tuple[str, ...]] = set()
    for stem, base, _wire in routes.DIALECTS:
        for path in routes.spec(stem).get("paths", {}):
            templates.add(_segments(path))
            templates.add(_segments(base + path))
    return frozenset(templates)


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _prefix_of(entry: tuple[str, ...], template: tuple[str, ...]) -> bool:
    if len(entry) > len(template):
        return False
    *whole, last = entry
    for given, wanted in zip(whole, template, strict=False):
        if not given or not (_is_parameter(wanted) or given == wanted):
            return False
    wanted = template[len(entry) - 1]
    return _is_parameter(wanted) or wanted.startswith(last)


def served(entry: str) -> bool:
    """True when the path prefix `entry` (starting with `/`) covers at least one served operation."""
    if not entry.startswith("/") or "?" in entry or "#" in entry:
        return False
    segments = _segments(entry)
    return any(_prefix_of(segments, template) for template in served_templates())
