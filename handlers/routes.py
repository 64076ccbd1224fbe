"""Which dialect owns which base path: the one table the app factory, the error path and the
endpoint-scope check all read. A new dialect adds its line here."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from handlers import admin_wire, formats
from handlers.commandcenter import wire as commandcenter_wire
from handlers.gateway import wire as gateway_wire
from handlers.integration import wire as integration_wire
from tokensmith import paths, runtime

# (spec file stem in openapi/, base path, wire module owning the error format under that base path)
DIALECTS: list[tuple[str, str, Any]] = [
    ("integration", "/integration/v1", integration_wire),
    ("commandcenter", "/commandcenter/api", commandcenter_wire),
    ("gateway", "/gateway/api/v1", gateway_wire),
    ("admin", "/api/v1", admin_wire),
    ("ops", "", admin_wire),  # /healthz, /readyz, /metrics; mounted last: its empty base path matches all
]
FALLBACK_WIRE = admin_wire
# Mounted only in testing mode (`Settings.testing`), before `ops`; errors under it are the native API's.
TESTING = ("testing", "/api/v1/testing", admin_wire)


def register_settings() -> None:
    """Tell the core each dialect's runtime settings (and the key prefixes its documentation writes):
    called when an app is built and by the CLI before it reads a key, never on import."""
    for _stem, _base, wire in DIALECTS:
        runtime.register(getattr(wire, "SETTINGS", ()), getattr(wire, "SETTING_KEY_PREFIXES", ()))


def mounted(testing: bool) -> list[tuple[str, str, Any]]:
    """The dialects an app serves: every one of DIALECTS, and the testing API in testing mode."""
    return [*DIALECTS[:-1], TESTING, DIALECTS[-1]] if testing else list(DIALECTS)


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


def scope_candidates(path: str, dialect: str) -> tuple[str, ...]:
    """The spellings of a request path an endpoint scope is matched against: the path itself and, when
    it lies under the base path of the credential's own dialect, the path relative to that base (what a
    CUSTOM token's `apiEndpoints` are written against: `/V4/AccessToken`). Relative matching stops at
    the credential's own dialect, so `/users` on a commandcenter token never reaches `/api/v1/users`."""
    normal = paths.normalise(path)
    if normal is None:
        return ()
    base = next((row[1].lower() for row in DIALECTS if row[0] == dialect and row[1]), None)
    if base and normal.startswith(base + "/"):
        return (normal, normal[len(base) :])
    return (normal,)


def _openapi_dir() -> Path:
    """Where the specs are read from. People edit them in the repository's `openapi/`; a wheel ships that
    directory as this package's `handlers/openapi/` (pyproject.toml maps it there, see
    `[tool.setuptools.package-dir]`), since nothing outside a package reaches site-packages. So an
    installed tokensmith reads its packaged copy, and a checkout (or an editable install) the files
    being edited."""
    packaged = Path(__file__).resolve().parent / "openapi"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "openapi"


OPENAPI_DIR = _openapi_dir()


def spec_path(stem: str) -> Path:
    """The file of one spec (`admin`, `integration`, …): the one place its location is decided."""
    return OPENAPI_DIR / f"{stem}.yaml"


@cache
def spec(stem: str) -> dict[str, Any]:
    """A spec file, parsed once per process (with libyaml where present): every app built in this
    process (the tests build hundreds) shares the parse. Callers that may mutate it take a deep copy.

    A spec that names a `format` no checker knows is refused here: jsonschema would let any value
    through it, and the handler behind would meet values the spec promised it would not."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(spec_path(stem).read_text(), Loader=loader)  # noqa: S506 (a safe loader)
    unknown = formats.unchecked(document)
    if unknown:
        raise RuntimeError(f"openapi/{stem}.yaml uses formats no checker knows: {sorted(unknown)}")
    return document


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], int, frozenset[str]]]:
    """Every spec path as (regex, number of literal segments, documented methods)."""
    found = []
    for stem, base, _wire in DIALECTS:
        for path, item in spec(stem)["paths"].items():
            methods = frozenset(m.upper() for m in item if m in _METHODS)
            segments = f"{base}{path}".lower().split("/")
            pattern = "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments)
            literal = sum(1 for s in segments if s and not s.startswith("{"))
            found.append((re.compile(f"^{pattern}$"), literal, methods))
    return found


_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def allowed_methods(path: str) -> list[str]:
    """What a 405's `Allow` header lists: the methods the specs document for the path template that
    routing prefers (the one with the most literal segments), not just the first route that matched."""
    lowered = path.lower()
    matches = [(literal, methods) for regex, literal, methods in _templates() if regex.match(lowered)]
    if not matches:
        return []
    best = max(literal for literal, _ in matches)
    return sorted(set().union(*(methods for literal, methods in matches if literal == best)))
