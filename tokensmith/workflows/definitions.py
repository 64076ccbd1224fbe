"""A workflow definition and the checks it passes on import.

A room of its own because import is the one gate a definition passes: everything the runner later takes
for granted (known data types, constraints that fit their type, steps whose configuration is complete,
placeholders that name something defined earlier, patterns that compile) is refused here, with a message
naming the workflow, parameter or step, so that a run never meets a definition it cannot run faithfully.
Pure: no rows, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tokensmith.errors import InvalidValue
from tokensmith.workflows.steps import COMPUTE_OPS, CONDITIONS, MAX_WAIT_SECONDS, PLACEHOLDER, STEP_KINDS
from tokensmith.workflows.variables import (
    CONSTRAINT_KINDS,
    DATA_TYPES,
    LENGTH_TYPES,
    PATTERN_TYPES,
    RANGE_TYPES,
    BadValue,
    Constraint,
    Parameter,
    parsed,
    whole,
)

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
IDENTIFIER = re.compile(r"[A-Za-z0-9_.\-]{1,255}")
MAX_STEPS = 100
MAX_PARAMETERS = 200

# What each step kind's configuration holds, and what of that it can do without.
STEP_CONFIG = {
    "set": {"values"},
    "compute": {"op", "args", "into"},
    "fail_if": {"left", "op", "right", "message"},
    "wait": {"seconds"},
}
STEP_CONFIG_OPTIONAL = {"fail_if": {"message"}}


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
            value = parsed(value, parameter.data_type)
        elif kind == "pattern":
            if not isinstance(value, str):
                raise BadValue("must be a regular expression")
            re.compile(value)
        else:
            value = whole(value, "integer")
            if value < 0:
                raise BadValue("must not be negative")
    except BadValue as exc:
        raise InvalidValue("definition", f"{where}: the value of {kind} {exc}.") from exc
    except re.error as exc:
        raise InvalidValue("definition", f"{where}: the pattern does not compile ({exc}).") from exc
    return Constraint(kind, value, constraint.message)


def _placeholders(value: Any) -> set[str]:
    """The names a template (or a list of them) refers to."""
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
    expected = STEP_CONFIG[step.kind]
    required = expected - STEP_CONFIG_OPTIONAL.get(step.kind, set())
    unknown, missing = set(config) - expected, required - set(config)
    if unknown or missing:
        raise InvalidValue(
            "definition",
            f"{where}: a {step.kind} step takes {', '.join(sorted(expected))}"
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
    elif step.kind == "wait":
        seconds = config["seconds"]
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 < seconds <= MAX_WAIT_SECONDS
        ):
            raise InvalidValue(
                "definition", f"{where}: seconds must be a number above 0 and at most {MAX_WAIT_SECONDS}."
            )
        outputs = {"waited"}
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
