"""Input parameters and the checking of the variables a trigger gives them.

A room of its own because it is the one part of workflows that a client meets on every trigger and the
one with the most rules (eighteen data types, seven kinds of constraint), all pure: no database, no
clock. Definition checks reuse its parsing to check a constraint's own value, so a bound means the same
thing when it is imported and when it is enforced.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from tokensmith.errors import InvalidValue

DATA_TYPES = (
    "text",
    "integer",
    "decimal",
    "boolean",
    "url",
    "datetime",
    "date",
    "time",
    "timestamp",
    "string_list",
    "long",
    "geopoint",
    "year",
    "yearmonth",
    "duration",
    "ipaddress",
    "json",
    "xml",
)
CONSTRAINT_KINDS = ("required", "maximum", "minimum", "length", "maximum_length", "minimum_length", "pattern")
RANGE_TYPES = frozenset({"integer", "long", "decimal", "year", "date"})
LENGTH_TYPES = frozenset({"text", "url", "string_list", "xml"})
PATTERN_TYPES = frozenset({"text", "url", "string_list", "xml", "ipaddress"})

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")
_WHOLE = re.compile(r"[+-]?\d{1,20}")
_YEAR_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1), "year": (1, 9999)}
MAX_NESTING = 32


@dataclass(frozen=True)
class Constraint:
    kind: str
    value: Any = None
    message: str | None = None


@dataclass(frozen=True)
class Parameter:
    name: str
    data_type: str
    required: bool = False
    constraints: tuple[Constraint, ...] = ()

    @property
    def is_required(self) -> bool:
        return self.required or any(c.kind == "required" for c in self.constraints)


class InvalidVariables(InvalidValue):
    """Variables that do not satisfy the definition: every problem, per variable."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        first_field, messages = next(iter(problems.items()))
        super().__init__(first_field, messages[0])
        self.problems = problems


class BadValue(Exception):
    """A value that does not fit; the message is for the client, after the variable's name."""


def whole(value: Any, data_type: str) -> int:
    """A whole number within the bounds of `data_type` (one of INT_BOUNDS), from a number or its text."""
    if isinstance(value, bool):
        raise BadValue("must be a whole number")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        result = int(value.strip())
    else:
        raise BadValue("must be a whole number")
    low, high = INT_BOUNDS[data_type]
    if not low <= result <= high:
        raise BadValue(f"must be between {low} and {high}")
    return result


def number(value: Any) -> Decimal | None:
    """The exact decimal a value stands for, or None when it is no number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


def _geopoint(value: Any) -> Any:
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list):
        parts = value
    elif isinstance(value, dict) and set(value) == {"lat", "lon"}:
        parts = [value["lat"], value["lon"]]
    else:
        raise BadValue('must be "lat,lon", [lat, lon] or {"lat": …, "lon": …}')
    coordinates = [number(part) for part in parts]
    if len(coordinates) != 2 or None in coordinates:
        raise BadValue("must be a latitude and a longitude")
    lat, lon = coordinates
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadValue("latitude must be within ±90 and longitude within ±180")
    return value


def _text_of(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadValue(f"must be {what}")
    return value


def parsed(value: Any, data_type: str) -> Any:
    """The value, normalised for its data type (numbers as numbers, booleans as booleans)."""
    if data_type in ("integer", "long", "year"):
        return whole(value, data_type)
    if data_type == "decimal":
        if number(value) is None:
            raise BadValue("must be a number")
        return value.strip() if isinstance(value, str) else value
    if data_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise BadValue("must be true or false")
    if data_type == "text":
        return _text_of(value, "text")
    if data_type == "url":
        parts = urlsplit(_text_of(value, "a URL"))
        if parts.scheme.lower() not in ("http", "https", "ftp", "ftps") or not parts.netloc or " " in value:
            raise BadValue("must be an absolute http(s) or ftp(s) URL")
        return value
    try:
        if data_type == "datetime":
            if len(_text_of(value, "an ISO-8601 date and time")) < 11:
                raise BadValue("must be an ISO-8601 date and time")
            datetime.fromisoformat(value)
            return value
        if data_type == "timestamp":
            if isinstance(value, int) and not isinstance(value, bool):
                return whole(value, "long")
            datetime.fromisoformat(_text_of(value, "epoch milliseconds or an ISO-8601 date and time"))
            return value
        if data_type == "date":
            date.fromisoformat(_text_of(value, "an ISO-8601 date (YYYY-MM-DD)"))
            return value
        if data_type == "time":
            time.fromisoformat(_text_of(value, "an ISO-8601 time (HH:MM[:SS])"))
            return value
    except ValueError as exc:
        raise BadValue(f"is not a valid {data_type}") from exc
    if data_type == "yearmonth":
        if not _YEAR_MONTH.fullmatch(_text_of(value, "YYYY-MM")):
            raise BadValue("must be YYYY-MM")
        return value
    if data_type == "duration":
        if not _DURATION.fullmatch(_text_of(value, "an ISO-8601 duration")):
            raise BadValue("must be an ISO-8601 duration such as P1DT2H")
        return value
    if data_type == "ipaddress":
        try:
            ipaddress.ip_address(_text_of(value, "an IPv4 or IPv6 address"))
        except ValueError as exc:
            raise BadValue("must be an IPv4 or IPv6 address") from exc
        return value
    if data_type == "string_list":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise BadValue("must be a list of strings")
        return value
    if data_type == "geopoint":
        return _geopoint(value)
    if data_type == "json":
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError as exc:
                raise BadValue("must be JSON") from exc
        return value
    if data_type == "xml":
        try:
            ElementTree.fromstring(_text_of(value, "an XML document"))
        except ElementTree.ParseError as exc:
            raise BadValue("must be well-formed XML") from exc
        return value
    raise BadValue(f"has an unknown data type {data_type!r}")  # unreachable: definitions are checked


def _comparable(value: Any, data_type: str) -> Any:
    if data_type == "date":
        return date.fromisoformat(value)
    return Decimal(value) if isinstance(value, int) else number(value)


def _check_constraint(parameter: Parameter, constraint: Constraint, value: Any) -> str | None:
    """None when `value` satisfies `constraint`, else the message for the client."""
    kind, limit = constraint.kind, constraint.value
    failed = False
    default = ""
    if kind in ("minimum", "maximum"):
        actual, bound = _comparable(value, parameter.data_type), _comparable(limit, parameter.data_type)
        failed = actual < bound if kind == "minimum" else actual > bound
        default = f"must be at {'least' if kind == 'minimum' else 'most'} {limit}"
    elif kind == "length":
        failed, default = len(value) != limit, f"must have a length of exactly {limit}"
    elif kind == "minimum_length":
        failed, default = len(value) < limit, f"must have a length of at least {limit}"
    elif kind == "maximum_length":
        failed, default = len(value) > limit, f"must have a length of at most {limit}"
    elif kind == "pattern":
        items = value if isinstance(value, list) else [value]
        failed = not all(re.fullmatch(limit, item) for item in items)
        default = f"must match the pattern {limit}"
    if not failed:
        return None
    return constraint.message or f"{parameter.name} {default}."


def finite(value: Any) -> bool:
    """No NaN or infinity anywhere, and nesting no deeper than MAX_NESTING (iteratively, no recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            return False
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return True


def check_variables(parameters: Iterable[Parameter], variables: dict[str, Any]) -> dict[str, Any]:
    """The variables normalised per data type, or InvalidVariables naming every problem."""
    declared = {parameter.name: parameter for parameter in parameters}
    problems: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name in variables:
        if name not in declared:
            problems[f"variables.{name}"] = [f"{name} is not an input parameter of this workflow."]
    for name, parameter in declared.items():
        value = variables.get(name)
        if value is None or value == "":  # not given, for every data type
            if parameter.is_required:
                custom = next((c.message for c in parameter.constraints if c.kind == "required"), None)
                problems[f"variables.{name}"] = [custom or f"{name} is required."]
            continue
        if not finite(value):
            problems[f"variables.{name}"] = [f"{name} is nested too deeply or holds a non-finite number."]
            continue
        try:
            values[name] = parsed(value, parameter.data_type)
        except BadValue as exc:
            problems[f"variables.{name}"] = [f"{name} {exc}."]
            continue
        messages = [
            message
            for constraint in parameter.constraints
            if constraint.kind != "required"
            and (message := _check_constraint(parameter, constraint, values[name])) is not None
        ]
        if messages:
            problems[f"variables.{name}"] = messages
    if problems:
        raise InvalidVariables(problems)
    return values
