"""Operations of `openapi/testing.yaml`: the clock, seed and reset, faults and the journal.

Mounted only in testing mode. The state they act on (`handlers.testing_layer.TestingState`) belongs to
the app serving the request; the seed and the reset are database work and run off the event loop.
"""

from __future__ import annotations

import time
from typing import Any

from handlers import routes, testing_seed
from handlers.admin_wire import JSON_HEADERS
from handlers.context import core, off_loop
from handlers.testing_layer import KINDS, TestingState, current
from tokensmith.errors import InvalidValue

Reply = tuple[Any, int, dict[str, str]] | tuple[Any, int]
DEFAULT_STATUS = {"response": 500, "malformed": 200}


def _clock(state: TestingState) -> Reply:
    return {"now": testing_seed.rfc3339(state.clock.now()), "frozen": state.clock.frozen}, 200, JSON_HEADERS


async def get_clock() -> Reply:
    return _clock(current())


async def set_clock(body: dict[str, Any]) -> Reply:
    state = current()
    moment = testing_seed.parse_moment(body["now"], "now") if "now" in body else None
    if body.get("frozen") is True:
        state.clock.freeze()  # first, so the clock stands exactly at `now`, not a few µs past it
    if moment is not None:
        state.clock.set(moment)
    if body.get("frozen") is False:
        state.clock.freeze(False)
    return _clock(state)


async def advance_clock(body: dict[str, Any]) -> Reply:
    state = current()
    try:
        state.clock.advance(float(body["seconds"]))
    except (ValueError, OverflowError) as exc:
        raise InvalidValue("seconds", "A number of seconds, 0 or more.") from exc
    return _clock(state)


async def seed(body: dict[str, Any]) -> Reply:
    state = current()

    def seed_and_mark() -> dict[str, Any]:
        done = testing_seed.seed(core(), body)
        state.mark_baseline()
        return done

    return await off_loop(seed_and_mark), 200, JSON_HEADERS


async def reset(body: dict[str, Any]) -> Reply:
    state = current()
    began = time.perf_counter()
    await off_loop(state.reset, bool(body.get("fresh", False)))
    rows = state.baseline.count() if state.baseline is not None else 0
    return {"rows": rows, "seconds": round(time.perf_counter() - began, 4)}, 200, JSON_HEADERS


async def list_faults() -> Reply:
    return [fault.view() for fault in current().faults], 200, JSON_HEADERS


async def arm_fault(body: dict[str, Any]) -> Reply:
    state = current()
    name = body["operationId"]
    matched = state.matcher.resolve(name)
    if not matched:
        raise InvalidValue("operationId", f"No operation of a served spec is called {name!r}.")
    if len(matched) > 1 and name not in state.matcher.operation_ids:
        raise InvalidValue(
            "operationId", f"{name!r} names several operations; use one of: {', '.join(sorted(matched))}."
        )
    if any(o.startswith(f"{routes.TESTING[0]}.") for o in matched):
        raise InvalidValue("operationId", "The testing API's own operations cannot be made to fail.")
    kind = body.get("kind", "response")
    if kind not in KINDS:  # the spec's enum says so too; this keeps the handler honest without it
        raise InvalidValue("kind", f"One of {', '.join(KINDS)}.")
    if kind == "delay" and "delayMs" not in body:
        raise InvalidValue("delayMs", "A delay fault needs delayMs.")
    fault = state.arm(
        operation_ids=matched,
        operation_id=name,
        kind=kind,
        status=body.get("status", DEFAULT_STATUS.get(kind, 0)),
        body=body.get("body", {"message": "A fault injected by the tokensmith testing API."}),
        delay_ms=body.get("delayMs", 0),
        remaining=body.get("times", 1),
        probability=float(body.get("probability", 1.0)),
    )
    return fault.view(), 201, JSON_HEADERS


async def clear_faults() -> Reply:
    current().clear_faults()
    return None, 204


async def list_requests(operationId: str | None = None) -> Reply:  # noqa: N803 (the spec's name)
    return current().requests(operationId), 200, JSON_HEADERS


async def clear_requests() -> Reply:
    current().journal.clear()
    return None, 204
