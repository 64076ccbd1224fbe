"""A tenant's workflows: definitions, triggering with validated variables, and the in-process runner.

A definition has typed input parameters (each with constraints) and ordered steps. Triggering checks
the variables against the parameters (every problem is reported, not just the first), records a run
as `running` with every step `pending`, and hands it to the runner, which executes the steps in order
inside the trigger call: each step is marked `running` with its start time, does its work, and is
marked `completed` (with its output) or `failed` (with the reason) with its end time, each in its own
transaction, so a concurrent reader sees the run move. The first failed step fails the run and the
remaining steps are `skipped`; otherwise the run is `completed`. Times come from the core clock.

Step kinds (a step is `{id, name, kind, ...}`; `${name}` in a string is replaced by a variable or an
earlier step's output, and a string that is exactly one placeholder keeps the value's type):

- `set`     — `values: {out: template, ...}`: renders each template; the results are the outputs.
- `compute` — `op`, `args: [template, ...]`, `into: out`: `add`, `subtract`, `multiply`, `divide`
              (exact decimal arithmetic; division by zero fails the step), `concat`, `upper`,
              `lower`, `length`; the result is the output `out`.
- `fail_if` — `left`, `op`, `right`, optional `message`: fails the step (and the run) when the
              condition holds. `op` is `==`, `!=` (numbers compare as numbers, else as text),
              `<`, `<=`, `>`, `>=` (numbers only; a non-number fails the step), `matches` (the
              whole of `left` matches the regular expression `right`) or `contains`.

Nothing here knows a dialect's field names: the dialect translates its definition documents into
`Definition` objects and presents runs and steps in its own words.
"""

from __future__ import annotations

import decimal
import ipaddress
import json
import math
import re
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tokensmith import audit, listing
from tokensmith.core import Core
from tokensmith.errors import Conflict, InvalidValue, NotFound
from tokensmith.models import Tenant, WorkflowDefinition, WorkflowRun, WorkflowStep
from tokensmith.tenants import parse_external_id

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

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"
PENDING, SKIPPED = "pending", "skipped"
RUN_STATUSES = (RUNNING, COMPLETED, FAILED)
STEP_STATUSES = (PENDING, RUNNING, COMPLETED, FAILED, SKIPPED)

STEP_KINDS = ("set", "compute", "fail_if")
COMPUTE_OPS = {
    "add": (1, 20),
    "subtract": (2, 2),
    "multiply": (1, 20),
    "divide": (2, 2),
    "concat": (1, 20),
    "upper": (1, 1),
    "lower": (1, 1),
    "length": (1, 1),
}
CONDITIONS = ("==", "!=", "<", "<=", ">", ">=", "matches", "contains")

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
IDENTIFIER = re.compile(r"[A-Za-z0-9_.\-]{1,255}")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")
_WHOLE = re.compile(r"[+-]?\d{1,20}")
_YEAR_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1), "year": (1, 9999)}
MAX_NESTING = 32
MAX_STEPS = 100
MAX_PARAMETERS = 200
COLUMN_INT = (-(2**31), 2**31 - 1)  # initiator ids are stored in 32-bit integer columns


# --- definitions -----------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    kind: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Definition:
    identifier: str
    name: str
    description: str | None
    parameters: tuple[Parameter, ...]
    steps: tuple[Step, ...]


class InvalidVariables(InvalidValue):
    """Variables that do not satisfy the definition: every problem, per variable."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        first_field, messages = next(iter(problems.items()))
        super().__init__(first_field, messages[0])
        self.problems = problems


class _Bad(Exception):
    """A value that does not fit; the message is for the client."""


# --- values: parsing per data type --------------------------------------------------------------


def _whole(value: Any, data_type: str) -> int:
    if isinstance(value, bool):
        raise _Bad("must be a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise _Bad("must be a whole number")
    low, high = INT_BOUNDS[data_type]
    if not low <= number <= high:
        raise _Bad(f"must be between {low} and {high}")
    return number


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
        raise _Bad('must be "lat,lon", [lat, lon] or {"lat": …, "lon": …}')
    coordinates = [number(part) for part in parts]
    if len(coordinates) != 2 or None in coordinates:
        raise _Bad("must be a latitude and a longitude")
    lat, lon = coordinates
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _Bad("latitude must be within ±90 and longitude within ±180")
    return value


def _text_of(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _Bad(f"must be {what}")
    return value


def _parsed(value: Any, data_type: str) -> Any:
    """The value, normalised for its data type (numbers as numbers, booleans as booleans)."""
    if data_type in ("integer", "long", "year"):
        return _whole(value, data_type)
    if data_type == "decimal":
        if number(value) is None:
            raise _Bad("must be a number")
        return value.strip() if isinstance(value, str) else value
    if data_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _Bad("must be true or false")
    if data_type == "text":
        return _text_of(value, "text")
    if data_type == "url":
        parts = urlsplit(_text_of(value, "a URL"))
        if parts.scheme.lower() not in ("http", "https", "ftp", "ftps") or not parts.netloc or " " in value:
            raise _Bad("must be an absolute http(s) or ftp(s) URL")
        return value
    try:
        if data_type == "datetime":
            if len(_text_of(value, "an ISO-8601 date and time")) < 11:
                raise _Bad("must be an ISO-8601 date and time")
            datetime.fromisoformat(value)
            return value
        if data_type == "timestamp":
            if isinstance(value, int) and not isinstance(value, bool):
                return _whole(value, "long")
            datetime.fromisoformat(_text_of(value, "epoch milliseconds or an ISO-8601 date and time"))
            return value
        if data_type == "date":
            date.fromisoformat(_text_of(value, "an ISO-8601 date (YYYY-MM-DD)"))
            return value
        if data_type == "time":
            time.fromisoformat(_text_of(value, "an ISO-8601 time (HH:MM[:SS])"))
            return value
    except ValueError as exc:
        raise _Bad(f"is not a valid {data_type}") from exc
    if data_type == "yearmonth":
        if not _YEAR_MONTH.fullmatch(_text_of(value, "YYYY-MM")):
            raise _Bad("must be YYYY-MM")
        return value
    if data_type == "duration":
        if not _DURATION.fullmatch(_text_of(value, "an ISO-8601 duration")):
            raise _Bad("must be an ISO-8601 duration such as P1DT2H")
        return value
    if data_type == "ipaddress":
        try:
            ipaddress.ip_address(_text_of(value, "an IPv4 or IPv6 address"))
        except ValueError as exc:
            raise _Bad("must be an IPv4 or IPv6 address") from exc
        return value
    if data_type == "string_list":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _Bad("must be a list of strings")
        return value
    if data_type == "geopoint":
        return _geopoint(value)
    if data_type == "json":
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError as exc:
                raise _Bad("must be JSON") from exc
        return value
    if data_type == "xml":
        try:
            ElementTree.fromstring(_text_of(value, "an XML document"))
        except ElementTree.ParseError as exc:
            raise _Bad("must be well-formed XML") from exc
        return value
    raise _Bad(f"has an unknown data type {data_type!r}")  # unreachable: definitions are checked


def _comparable(value: Any, data_type: str) -> Any:
    if data_type == "date":
        return date.fromisoformat(value)
    return Decimal(value) if isinstance(value, int) else number(value)


def _length(value: Any) -> int:
    return len(value)


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
        failed, default = _length(value) != limit, f"must have a length of exactly {limit}"
    elif kind == "minimum_length":
        failed, default = _length(value) < limit, f"must have a length of at least {limit}"
    elif kind == "maximum_length":
        failed, default = _length(value) > limit, f"must have a length of at most {limit}"
    elif kind == "pattern":
        items = value if isinstance(value, list) else [value]
        failed = not all(re.fullmatch(limit, item) for item in items)
        default = f"must match the pattern {limit}"
    if not failed:
        return None
    return constraint.message or f"{parameter.name} {default}."


def _finite(value: Any) -> bool:
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
        if not _finite(value):
            problems[f"variables.{name}"] = [f"{name} is nested too deeply or holds a non-finite number."]
            continue
        try:
            values[name] = _parsed(value, parameter.data_type)
        except _Bad as exc:
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


# --- checking a definition on import ------------------------------------------------------------


def _invalid(definition: str, message: str) -> InvalidValue:
    return InvalidValue("definition", f"Workflow {definition!r}: {message}")


def _checked_constraint(where: str, parameter: Parameter, constraint: Constraint) -> Constraint:
    kind, value = constraint.kind, constraint.value
    if kind not in CONSTRAINT_KINDS:
        raise InvalidValue("definition", f"{where}: unknown constraint {kind!r}.")
    if constraint.message is not None and not isinstance(constraint.message, str):
        raise InvalidValue("definition", f"{where}: a constraint's message must be text.")
    if kind == "required":
        return Constraint(kind, None, constraint.message)
    allowed = {
        "minimum": RANGE_TYPES,
        "maximum": RANGE_TYPES,
        "pattern": PATTERN_TYPES,
    }.get(kind, LENGTH_TYPES)
    if parameter.data_type not in allowed:
        raise InvalidValue(
            "definition", f"{where}: {kind} does not apply to data type {parameter.data_type!r}."
        )
    try:
        if kind in ("minimum", "maximum"):
            value = _parsed(value, parameter.data_type)
        elif kind == "pattern":
            if not isinstance(value, str):
                raise _Bad("must be a regular expression")
            re.compile(value)
        else:
            value = _whole(value, "integer")
            if value < 0:
                raise _Bad("must not be negative")
    except _Bad as exc:
        raise InvalidValue("definition", f"{where}: the value of {kind} {exc}.") from exc
    except re.error as exc:
        raise InvalidValue("definition", f"{where}: the pattern does not compile ({exc}).") from exc
    return Constraint(kind, value, constraint.message)


def _placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, list):
        return set().union(*(_placeholders(item) for item in value)) if value else set()
    return set()


def _scalar_or_template(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _checked_step(where: str, step: Step, known: set[str]) -> tuple[Step, set[str]]:
    """The step as stored, and the output names it adds."""
    config = dict(step.config)
    if step.kind not in STEP_KINDS:
        raise InvalidValue(
            "definition", f"{where}: unknown kind {step.kind!r}; kinds: {', '.join(STEP_KINDS)}."
        )
    expected = {
        "set": {"values"},
        "compute": {"op", "args", "into"},
        "fail_if": {"left", "op", "right", "message"},
    }
    required = {"set": {"values"}, "compute": {"op", "args", "into"}, "fail_if": {"left", "op", "right"}}
    unknown, missing = set(config) - expected[step.kind], required[step.kind] - set(config)
    if unknown or missing:
        raise InvalidValue(
            "definition",
            f"{where}: a {step.kind} step takes {', '.join(sorted(expected[step.kind]))}"
            + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
            + (f"; missing: {', '.join(sorted(missing))}" if missing else "")
            + ".",
        )
    outputs: set[str] = set()
    used: set[str] = set()
    if step.kind == "set":
        values = config["values"]
        if not isinstance(values, dict) or not values:
            raise InvalidValue("definition", f"{where}: values must be a non-empty mapping.")
        for name, template in values.items():
            if not isinstance(name, str) or not NAME.fullmatch(name) or not _scalar_or_template(template):
                raise InvalidValue("definition", f"{where}: {name!r} must be a name with a scalar value.")
            used |= _placeholders(template)
        outputs = set(values)
    elif step.kind == "compute":
        op, args, into = config["op"], config["args"], config["into"]
        if op not in COMPUTE_OPS:
            raise InvalidValue("definition", f"{where}: unknown op {op!r}; ops: {', '.join(COMPUTE_OPS)}.")
        low, high = COMPUTE_OPS[op]
        if (
            not isinstance(args, list)
            or not low <= len(args) <= high
            or not all(map(_scalar_or_template, args))
        ):
            raise InvalidValue("definition", f"{where}: {op} takes {low} to {high} scalar args.")
        if not isinstance(into, str) or not NAME.fullmatch(into):
            raise InvalidValue("definition", f"{where}: into must be a name.")
        used, outputs = _placeholders(args), {into}
    else:
        if config["op"] not in CONDITIONS:
            raise InvalidValue(
                "definition", f"{where}: unknown op {config['op']!r}; ops: {', '.join(CONDITIONS)}."
            )
        for key in ("left", "right", "message"):
            if not _scalar_or_template(config.get(key)):
                raise InvalidValue("definition", f"{where}: {key} must be a scalar or a template.")
            used |= _placeholders(config.get(key))
        right = config["right"]
        if config["op"] == "matches" and isinstance(right, str) and not PLACEHOLDER.search(right):
            try:
                re.compile(right)
            except re.error as exc:
                raise InvalidValue("definition", f"{where}: the pattern does not compile ({exc}).") from exc
    unknown_names = used - known
    if unknown_names:
        raise InvalidValue(
            "definition",
            f"{where}: refers to {', '.join(sorted(unknown_names))}, which nothing defines before it.",
        )
    return Step(step.id, step.name, step.kind, config), outputs


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, Parameter | Constraint | Step):
        return _has_nul(list(vars(value).values()))
    return False


def check_definition(definition: Definition) -> Definition:
    """Refuse a definition the runner could not run faithfully: types, constraints, steps and names."""
    ident = definition.identifier
    if _has_nul([ident, definition.name, definition.description, definition.parameters, definition.steps]):
        raise InvalidValue("definition", f"Workflow {ident!r}: text may not contain NUL characters.")
    if not isinstance(ident, str) or not IDENTIFIER.fullmatch(ident):
        raise InvalidValue(
            "definition", f"Identifier {ident!r} must be 1-255 letters, digits, '_', '.' or '-'."
        )
    if not isinstance(definition.name, str) or not definition.name.strip() or len(definition.name) > 255:
        raise _invalid(ident, "needs a name of at most 255 characters.")
    if definition.description is not None and not isinstance(definition.description, str):
        raise _invalid(ident, "the description must be text.")
    if len(definition.parameters) > MAX_PARAMETERS:
        raise _invalid(ident, f"at most {MAX_PARAMETERS} input parameters.")
    parameters = []
    for parameter in definition.parameters:
        where = f"Workflow {ident!r}, parameter {parameter.name!r}"
        if not isinstance(parameter.name, str) or not NAME.fullmatch(parameter.name):
            raise InvalidValue(
                "definition", f"{where}: a parameter name is a letter or '_' then letters, digits, '_'."
            )
        if parameter.data_type not in DATA_TYPES:
            raise InvalidValue("definition", f"{where}: unknown data type {parameter.data_type!r}.")
        if not isinstance(parameter.required, bool):
            raise InvalidValue("definition", f"{where}: required must be true or false.")
        constraints = tuple(_checked_constraint(where, parameter, c) for c in parameter.constraints)
        parameters.append(Parameter(parameter.name, parameter.data_type, parameter.required, constraints))
    names = [parameter.name for parameter in parameters]
    if len(set(names)) != len(names):
        raise _invalid(ident, "input parameter names must be unique.")
    if not definition.steps or len(definition.steps) > MAX_STEPS:
        raise _invalid(ident, f"needs 1 to {MAX_STEPS} steps.")
    known, steps, step_ids = set(names), [], set()
    for index, step in enumerate(definition.steps):
        where = f"Workflow {ident!r}, step {index + 1}"
        if not isinstance(step.id, str) or not IDENTIFIER.fullmatch(step.id) or step.id in step_ids:
            raise InvalidValue(
                "definition", f"{where}: needs a unique id of letters, digits, '_', '.' or '-'."
            )
        if not isinstance(step.name, str) or not step.name.strip() or len(step.name) > 255:
            raise InvalidValue("definition", f"{where}: needs a name of at most 255 characters.")
        checked, outputs = _checked_step(where, step, known)
        steps.append(checked)
        step_ids.add(step.id)
        known |= outputs
    return Definition(ident, definition.name.strip(), definition.description, tuple(parameters), tuple(steps))


# --- storage ---------------------------------------------------------------------------------------


def _stored_parameters(parameters: Iterable[Parameter]) -> dict[str, Any]:
    return {
        "parameters": [
            {
                "name": p.name,
                "data_type": p.data_type,
                "required": p.required,
                "constraints": [
                    {"kind": c.kind, "value": c.value, "message": c.message} for c in p.constraints
                ],
            }
            for p in parameters
        ]
    }


def definition_of(row: WorkflowDefinition) -> Definition:
    parameters = tuple(
        Parameter(
            name=p["name"],
            data_type=p["data_type"],
            required=p["required"],
            constraints=tuple(Constraint(c["kind"], c["value"], c["message"]) for c in p["constraints"]),
        )
        for p in (row.input_parameters or {}).get("parameters", [])
    )
    steps = tuple(Step(s["id"], s["name"], s["kind"], s["config"]) for s in row.steps or [])
    return Definition(row.identifier, row.name, row.description, parameters, steps)


def _tenant_id(session: Any, external_id: str) -> int:
    tenant_id = session.scalar(select(Tenant.id).where(Tenant.external_id == parse_external_id(external_id)))
    if tenant_id is None:
        raise NotFound("No tenant has this external id.")
    return tenant_id


def import_definitions(
    core: Core, tenant_external_id: str, definitions: list[Definition], actor: str | None = None
) -> list[Definition]:
    """Add or replace (by identifier) a tenant's definitions, all or nothing. Runs keep their history."""
    checked = [check_definition(definition) for definition in definitions]
    identifiers = [definition.identifier for definition in checked]
    if not checked:
        raise InvalidValue("definition", "The document holds no workflow definitions.")
    if len(set(identifiers)) != len(identifiers):
        raise InvalidValue("definition", "Each workflow identifier may appear only once per document.")
    now = core.clock.now()
    try:
        with core.db.write() as session:
            tenant_id = _tenant_id(session, tenant_external_id)
            existing = {
                row.identifier: row
                for row in session.scalars(
                    select(WorkflowDefinition).where(
                        WorkflowDefinition.tenant_id == tenant_id,
                        WorkflowDefinition.identifier.in_(identifiers),
                    )
                )
            }
            for definition in checked:
                row = existing.get(definition.identifier)
                if row is None:
                    row = WorkflowDefinition(
                        tenant_id=tenant_id, identifier=definition.identifier, created_at=now
                    )
                    session.add(row)
                row.name = definition.name
                row.description = definition.description
                row.input_parameters = _stored_parameters(definition.parameters)
                row.steps = [
                    {"id": s.id, "name": s.name, "kind": s.kind, "config": s.config} for s in definition.steps
                ]
            audit.record(
                session,
                now,
                "workflow.import",
                actor=actor,
                target=f"tenant:{tenant_id}",
                identifiers=identifiers,
            )
    except IntegrityError as exc:  # a concurrent import added one of these identifiers first
        raise Conflict("Another import of these workflows ran at the same time; try again.") from exc
    return checked


DEFINITION_COLUMNS = {
    "identifier": WorkflowDefinition.identifier,
    "name": WorkflowDefinition.name,
    "description": WorkflowDefinition.description,
}


def list_definitions(core: Core, tenant_id: int, query: listing.Listing) -> list[Definition]:
    with core.db.read() as session:
        statement = select(WorkflowDefinition).where(WorkflowDefinition.tenant_id == tenant_id)
        statement = listing.apply(statement, query, DEFINITION_COLUMNS, WorkflowDefinition.id)
        return [definition_of(row) for row in session.scalars(statement)]


# --- runs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A run as a dialect presents it: the row and the identifier of the workflow it ran."""

    record: WorkflowRun
    identifier: str


class StepFailed(Exception):
    """A step did its work and the outcome is failure; the message is shown in the step's history."""


def storable(text: str) -> str:
    """Text for a text column: variables may hold NUL, which PostgreSQL cannot store in one."""
    return text.replace("\x00", "\ufffd")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render(template: Any, scope: dict[str, Any]) -> Any:
    if not isinstance(template, str):
        return template
    whole = PLACEHOLDER.fullmatch(template)
    if whole:
        return scope.get(whole.group(1))
    return PLACEHOLDER.sub(lambda match: _text(scope.get(match.group(1))), template)


def _json_number(value: Decimal) -> int | str:
    """Exact results: an int when it is one that JSON readers take safely, else the decimal's text."""
    if value.copy_abs() < Decimal(2**63) and value == value.to_integral_value():
        return int(value)
    return str(value.normalize())


def _numbers(values: list[Any]) -> list[Decimal]:
    parsed = [number(value) for value in values]
    if None in parsed:
        bad = next(value for value, result in zip(values, parsed, strict=True) if result is None)
        raise StepFailed(f"{_text(bad)!r} is not a number.")
    return parsed  # type: ignore[return-value]


def _compute(config: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    op, args = config["op"], [render(arg, scope) for arg in config["args"]]
    with decimal.localcontext() as context:
        context.traps[decimal.Overflow] = True
        try:
            if op in ("add", "multiply"):
                numbers = _numbers(args)
                result: Any = (
                    sum(numbers, Decimal(0)) if op == "add" else math.prod(numbers, start=Decimal(1))
                )
                result = _json_number(result)
            elif op in ("subtract", "divide"):
                left, right = _numbers(args)
                if op == "divide" and right == 0:
                    raise StepFailed("Division by zero.")
                result = _json_number(left - right if op == "subtract" else left / right)
            elif op == "concat":
                result = "".join(_text(arg) for arg in args)
            elif op == "length":
                result = len(args[0]) if isinstance(args[0], list | str) else len(_text(args[0]))
            else:
                result = _text(args[0]).upper() if op == "upper" else _text(args[0]).lower()
        except decimal.DecimalException as exc:
            raise StepFailed(f"The arithmetic failed ({type(exc).__name__}).") from exc
    return {config["into"]: result}


def _condition_holds(config: dict[str, Any], scope: dict[str, Any]) -> bool:
    op, left, right = config["op"], render(config["left"], scope), render(config["right"], scope)
    if op in ("==", "!="):
        left_number, right_number = number(left), number(right)
        if left_number is not None and right_number is not None:
            equal = left_number == right_number
        else:
            equal = _text(left) == _text(right)
        return equal if op == "==" else not equal
    if op in ("<", "<=", ">", ">="):
        a, b = _numbers([left, right])
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op == "matches":
        try:
            return re.fullmatch(_text(right), _text(left)) is not None
        except re.error as exc:
            raise StepFailed(f"The pattern does not compile ({exc}).") from exc
    if isinstance(left, list):
        return right in left or _text(right) in [_text(item) for item in left]
    return _text(right) in _text(left)


def _fail_if(config: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    if _condition_holds(config, scope):
        message = render(config.get("message"), scope)
        raise StepFailed(
            _text(message) or f"Condition {config['left']} {config['op']} {config['right']} held."
        )
    return {"condition": False}


def _set(config: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    return {name: render(template, scope) for name, template in config["values"].items()}


STEP_RUNNERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    "set": _set,
    "compute": _compute,
    "fail_if": _fail_if,
}


def _checked_initiator(name: str, value: int | None) -> int | None:
    if value is not None and not COLUMN_INT[0] <= value <= COLUMN_INT[1]:
        raise InvalidValue(name, f"{name} must fit in 32 bits.")
    return value


def trigger(
    core: Core,
    tenant_id: int,
    identifier: str,
    variables: dict[str, Any],
    *,
    initiator_contact_id: int | None = None,
    initiator_application_id: int | None = None,
    initiation_info: dict[str, Any] | None = None,
) -> Run:
    """Validate, record and run a workflow of this tenant; returns the finished run."""
    with core.db.read() as session:
        row = session.scalar(
            select(WorkflowDefinition).where(
                WorkflowDefinition.tenant_id == tenant_id, WorkflowDefinition.identifier == identifier
            )
        )
        if row is None:
            raise NotFound("No workflow definition has this identifier.")
        definition_id, definition = row.id, definition_of(row)
    values = check_variables(definition.parameters, variables)
    if initiation_info is not None and not _finite(initiation_info):
        raise InvalidValue(
            "initiation_info", "initiation_info is nested too deeply or holds a non-finite number."
        )
    now = core.clock.now()
    with core.db.write() as session:
        run = WorkflowRun(
            trigger_id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            definition_id=definition_id,
            status=RUNNING,
            variables=values,
            initiator_contact_id=_checked_initiator("initiator_contact_id", initiator_contact_id),
            initiator_application_id=_checked_initiator("initiator_application_id", initiator_application_id),
            initiation_info=initiation_info,
            start_time=now,
        )
        session.add(run)
        session.flush()
        steps = [
            WorkflowStep(
                run_id=run.id, position=index, step_id=step.id, activity_name=step.name, status=PENDING
            )
            for index, step in enumerate(definition.steps)
        ]
        session.add_all(steps)
        session.flush()
        step_ids = [step.id for step in steps]
        audit.record(
            session,
            now,
            "workflow.trigger",
            actor=f"tenant:{tenant_id}",
            target=run.trigger_id,
            workflow=identifier,
        )
    execute(core, run.id, definition, values, step_ids)
    return get_run(core, tenant_id, run.trigger_id)


def execute(
    core: Core, run_id: int, definition: Definition, values: dict[str, Any], step_ids: list[int]
) -> None:
    """The runner: each step's start and end in its own transaction; never leaves a run `running`
    because of a step's failure (an unexpected error fails the step like any other)."""
    scope = dict(values)
    failure: str | None = None
    for index, (step, step_row_id) in enumerate(zip(definition.steps, step_ids, strict=True)):
        if failure is not None:
            _update_step(core, step_row_id, status=SKIPPED)
            continue
        _update_step(core, step_row_id, status=RUNNING, start_time=core.clock.now())
        try:
            output = STEP_RUNNERS[step.kind](step.config, scope)
        except StepFailed as exc:
            failure = storable(f"Step {index + 1} ({step.id}) failed: {exc}")
            _update_step(
                core, step_row_id, status=FAILED, end_time=core.clock.now(), error=storable(str(exc))
            )
            continue
        except Exception as exc:  # a bug must not leave the run running forever
            failure = f"Step {index + 1} ({step.id}) failed: internal error ({type(exc).__name__})."
            _update_step(core, step_row_id, status=FAILED, end_time=core.clock.now(), error=failure)
            continue
        scope.update(output)
        _update_step(core, step_row_id, status=COMPLETED, end_time=core.clock.now(), output=output)
    with core.db.write() as session:
        run = session.get(WorkflowRun, run_id)
        run.status = FAILED if failure else COMPLETED
        run.end_time = core.clock.now()
        run.error = failure


def _update_step(core: Core, step_id: int, **values: Any) -> None:
    with core.db.write() as session:
        step = session.get(WorkflowStep, step_id)
        for name, value in values.items():
            setattr(step, name, value)


def _run_condition(key: str) -> Any:
    """A run is named by its trigger id (a UUID) or by its numeric history id."""
    text = key.strip()
    if text.isascii() and text.isdigit():
        number = int(text)
        if number > COLUMN_INT[1]:  # ids live in a 32-bit column: a larger one names nothing
            raise NotFound("No workflow run has this trigger id.")
        return WorkflowRun.id == number
    try:
        return WorkflowRun.trigger_id == str(uuid.UUID(text))
    except ValueError as exc:
        raise NotFound("No workflow run has this trigger id.") from exc


def get_run(core: Core, tenant_id: int, key: str) -> Run:
    """Another tenant's run is as unknown as a made-up id."""
    with core.db.read() as session:
        row = session.execute(
            select(WorkflowRun, WorkflowDefinition.identifier)
            .join(WorkflowDefinition, WorkflowDefinition.id == WorkflowRun.definition_id)
            .where(_run_condition(key), WorkflowRun.tenant_id == tenant_id)
        ).first()
    if row is None:
        raise NotFound("No workflow run has this trigger id.")
    return Run(record=row[0], identifier=row[1])


STEP_COLUMNS = {
    "activity_name": WorkflowStep.activity_name,
    "step_id": WorkflowStep.step_id,
    "status": WorkflowStep.status,
    "start_time": WorkflowStep.start_time,
    "end_time": WorkflowStep.end_time,
    "position": WorkflowStep.position,
}


def list_steps(core: Core, tenant_id: int, key: str, query: listing.Listing) -> list[WorkflowStep]:
    run = get_run(core, tenant_id, key).record
    with core.db.read() as session:
        statement = select(WorkflowStep).where(WorkflowStep.run_id == run.id)
        return list(session.scalars(listing.apply(statement, query, STEP_COLUMNS, WorkflowStep.position)))
