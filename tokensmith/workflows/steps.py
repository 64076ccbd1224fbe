"""The step kinds: what each does with its configuration and the values in scope.

A room of its own because it is pure computation with its own vocabulary (placeholders, operations,
conditions) and its own failure (`StepFailed`): it reads and writes no rows and no clock, so a run's
bookkeeping (runs.py) and a definition's checks (definitions.py) both lean on it without it knowing them.

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
- `wait`    — `seconds` (a number, above 0 and at most `MAX_WAIT_SECONDS`, one day): the run pauses
              that long (by the core clock) before its next step, without holding a worker: the runner
              (runs.py) puts the run's job back until then. Its output is `{"waited": seconds}`.
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tokensmith.workflows.variables import number

COMPUTE_OPS = {  # op: (fewest args, most args)
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
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_WAIT_SECONDS = 86400  # a day: a run is a task in progress, not a scheduler


class StepFailed(Exception):
    """A step did its work and the outcome is failure; the message is shown in the step's history."""


def as_text(value: Any) -> str:
    """How a value reads inside a string: JSON for structures, lower-case booleans, nothing for None."""
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
    return PLACEHOLDER.sub(lambda match: as_text(scope.get(match.group(1))), template)


def _json_number(value: Decimal) -> int | str:
    """Exact results: an int when it is one that JSON readers take safely, else the decimal's text."""
    if value.copy_abs() < Decimal(2**63) and value == value.to_integral_value():
        return int(value)
    return str(value.normalize())


def _numbers(values: list[Any]) -> list[Decimal]:
    parsed = [number(value) for value in values]
    if None in parsed:
        bad = next(value for value, result in zip(values, parsed, strict=True) if result is None)
        raise StepFailed(f"{as_text(bad)!r} is not a number.")
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
                result = "".join(as_text(arg) for arg in args)
            elif op == "length":
                result = len(args[0]) if isinstance(args[0], list | str) else len(as_text(args[0]))
            else:
                result = as_text(args[0]).upper() if op == "upper" else as_text(args[0]).lower()
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
            equal = as_text(left) == as_text(right)
        return equal if op == "==" else not equal
    if op in ("<", "<=", ">", ">="):
        a, b = _numbers([left, right])
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op == "matches":
        try:
            return re.fullmatch(as_text(right), as_text(left)) is not None
        except re.error as exc:
            raise StepFailed(f"The pattern does not compile ({exc}).") from exc
    if isinstance(left, list):
        return right in left or as_text(right) in [as_text(item) for item in left]
    return as_text(right) in as_text(left)


def _fail_if(config: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    if _condition_holds(config, scope):
        message = render(config.get("message"), scope)
        raise StepFailed(
            as_text(message) or f"Condition {config['left']} {config['op']} {config['right']} held."
        )
    return {"condition": False}


def _set(config: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    return {name: render(template, scope) for name, template in config["values"].items()}


def _wait(config: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    """What a `wait` step does once its time has passed (the waiting is the runner's: see runs.py)."""
    return {"waited": config["seconds"]}


# Looked up by kind at run time, so a test may stand a watching runner in for one.
STEP_RUNNERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    "set": _set,
    "compute": _compute,
    "fail_if": _fail_if,
    "wait": _wait,
}
STEP_KINDS = tuple(STEP_RUNNERS)
