"""Runtime settings: stored in the database so every worker and instance sees one value at once.

The registry below is the one place a key, its type, its bounds and its default are defined (the core's
keys here, each dialect's in its own package, registered when the app is built); the CLI and the admin
API both go through `set_value`, so they refuse the same nonsense in the same words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tokensmith import audit
from tokensmith.db import plain_rows
from tokensmith.errors import InvalidValue, NotFound
from tokensmith.models import RuntimeSetting
from tokensmith.text import require_storable, tidy


class UnknownSetting(NotFound):
    """A key the registry does not know (a 404 over HTTP, a clear message on the command line)."""


@dataclass(frozen=True)
class SettingSpec:
    key: str
    type: type
    default: Any
    description: str
    unit: str = ""
    minimum: int | None = None
    maximum: int | None = None


# The core's own settings. A dialect's settings (its token lifespans, the issuer it writes into its
# tokens) are the dialect's facts: the HTTP layer registers them with `register` when it builds an app
# (and the CLI before it reads a key), never as a side effect of an import.
CORE_SETTINGS = (
    SettingSpec(
        ".authentication.throttle.max_failures_per_account",
        int,
        5,
        "Failed password checks allowed per account within the window.",
        "attempts",
        1,
        1000,
    ),
    SettingSpec(
        ".authentication.throttle.max_failures_per_address",
        int,
        20,
        "Failed password checks allowed per client address within the window.",
        "attempts",
        1,
        100000,
    ),
    SettingSpec(
        ".authentication.throttle.window",
        int,
        15,
        "Window (and lock-out time) for failed password checks.",
        "minutes",
        1,
        1440,
    ),
    SettingSpec(".feature_flags.enable_swagger", bool, False, "Serve Swagger UI for every dialect."),
    # Webhooks (tokensmith/webhooks/, docs/webhooks.md).
    SettingSpec(
        ".webhooks.expiring_lead_time_1",
        int,
        168,
        "First token.expiring notice: this long before a token expires; 0 sends none.",
        "hours",
        0,
        8760,
    ),
    SettingSpec(
        ".webhooks.expiring_lead_time_2",
        int,
        24,
        "Second token.expiring notice: this long before a token expires; 0 sends none.",
        "hours",
        0,
        8760,
    ),
    SettingSpec(
        ".webhooks.allow_private_addresses",
        bool,
        True,
        "Deliver webhooks to loopback and private network addresses (off: only to public ones).",
    ),
)
REGISTRY: dict[str, SettingSpec] = {spec.key: spec for spec in CORE_SETTINGS}
# Prefixes a key may carry in some dialect's documentation (`<prefix>.a.b` is `.a.b`).
_KEY_PREFIXES: set[str] = set()


class SettingClash(ValueError):
    """Two registrations define one key differently: one place for each fact."""


def register(specs: Iterable[SettingSpec], key_prefixes: Iterable[str] = ()) -> None:
    """Add a dialect's settings and the key prefixes its documentation writes. Registering the same
    definition again changes nothing (every app built in a process registers); a different one for a
    key already known is refused."""
    for spec in specs:
        known = REGISTRY.get(spec.key)
        if known is not None and known != spec:
            raise SettingClash(f"{spec.key} is already registered with another definition.")
        REGISTRY[spec.key] = spec
    _KEY_PREFIXES.update(prefix.strip(".") + "." for prefix in key_prefixes)


def normalise_key(key: str) -> str:
    """Accept `.a.b`, `a.b` and a registered prefix's `prefix.a.b` spellings of one key."""
    key = key.strip()
    for prefix in _KEY_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) - 1 :]
            break
    if not key.startswith("."):
        key = "." + key
    return key


def spec_for(key: str) -> SettingSpec:
    spec = REGISTRY.get(normalise_key(key))
    if spec is None:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownSetting(f"Unknown setting {key!r}. Known settings: {known}")
    return spec


def parse_value(spec: SettingSpec, raw: Any) -> Any:
    """Turn text (CLI) or JSON (API) into the setting's type, refusing anything nonsensical."""
    text = tidy(str(raw)) if not isinstance(raw, bool) else ("true" if raw else "false")
    if spec.type is bool:
        lowered = text.lower()
        if lowered in {"true", "1", "yes", "on"}:
            return True
        if lowered in {"false", "0", "no", "off"}:
            return False
        raise InvalidValue("value", f"{spec.key} takes True or False, not {text!r}.")
    if spec.type is int:
        if isinstance(raw, float) or not text.lstrip("-").isdigit():
            raise InvalidValue("value", f"{spec.key} takes a whole number of {spec.unit}, not {text!r}.")
        number = int(text)
        if spec.minimum is not None and number < spec.minimum:
            raise InvalidValue("value", f"{spec.key} must be at least {spec.minimum} ({spec.unit}).")
        if spec.maximum is not None and number > spec.maximum:
            raise InvalidValue("value", f"{spec.key} must be at most {spec.maximum} ({spec.unit}).")
        return number
    if not text:
        raise InvalidValue("value", f"{spec.key} must not be empty.")
    if spec.maximum is not None and len(text) > spec.maximum:
        raise InvalidValue("value", f"{spec.key} takes at most {spec.maximum} characters.")
    require_storable("value", text)
    return text


# Read on every token issue: plain SQL (the value is JSON text, nothing for SQLAlchemy to convert).
_VALUE_SQL = "SELECT value FROM runtime_settings WHERE key = {param}"


def get_value(session: Any, key: str) -> Any:
    spec = spec_for(key)
    rows = plain_rows(session, _VALUE_SQL, (spec.key,))
    return json.loads(rows[0][0]) if rows else spec.default


_SPAN_UNITS = frozenset({"days", "hours", "minutes", "seconds"})


def get_span(session: Any, key: str) -> timedelta:
    """A duration setting as a `timedelta`, in the unit its spec declares. The one place a lifespan's
    unit is read: a dialect hands the core a setting's key, and the code that uses it cannot misread
    the number (hours taken for minutes)."""
    spec = spec_for(key)
    if spec.unit not in _SPAN_UNITS:
        raise ValueError(f"{spec.key} is not a duration (its unit is {spec.unit!r})")
    return timedelta(**{spec.unit: get_value(session, spec.key)})


def all_values(session: Any) -> dict[str, Any]:
    stored = {row.key: json.loads(row.value) for row in session.scalars(select(RuntimeSetting))}
    return {key: stored.get(key, spec.default) for key, spec in REGISTRY.items()}


def set_value(session: Any, key: str, raw: Any, now: Any) -> Any:
    spec = spec_for(key)
    value = parse_value(spec, raw)
    row = session.get(RuntimeSetting, spec.key)
    if row is None:
        session.add(RuntimeSetting(key=spec.key, value=json.dumps(value), updated_at=now))
    else:
        row.value = json.dumps(value)
        row.updated_at = now
    return value


def change(core: Any, key: str, raw: Any, actor: str | None) -> Any:
    """Set one value and audit who did it (the CLI's `conf -s`)."""
    return change_many(core, {key: raw}, actor)[spec_for(key).key]


def change_many(core: Any, changes: dict[str, Any], actor: str | None) -> dict[str, Any]:
    """Set several values in one transaction (all or none), auditing each: the CLI and the API come here."""
    now = core.clock.now()
    done: dict[str, Any] = {}
    with core.db.write() as session:
        for key, raw in changes.items():
            spec = spec_for(key)
            done[spec.key] = set_value(session, spec.key, raw, now)
            audit.record(session, now, "conf.set", actor=actor, target=spec.key, value=done[spec.key])
    return done


def current_values(core: Any) -> dict[str, Any]:
    """Every setting's value now, in one read transaction (the admin API's listing)."""
    with core.db.read() as session:
        return all_values(session)


def current_value(core: Any, key: str) -> Any:
    with core.db.read() as session:
        return get_value(session, key)
