"""Testing mode's ASGI layer: armed faults and the request journal, around every request.

`TokensmithApp` hands each request here (in testing mode only) before its own dispatch, so both roads
a request may take (direct dispatch and Connexion's middleware chain) pass through it. The operation a
request will reach is found from the specs' path templates before dispatch (a fault may stop it from
running at all), and the journal takes the operationId Connexion or direct dispatch actually routed to.

The journal holds what a contract test asserts on and never a secret: method, path (no query
string), operationId, status, the presenting token's public id, duration and request id. No header,
no body, no token value.

Faults, in the kinds WireMock users know:
- `response`: the chosen status and JSON body instead of the operation's (which does not run);
- `delay`: `delayMs` of latency (real time; the testing clock is not involved), then the real reply;
- `reset`: the connection is reset (TCP RST) before a byte of the reply;
- `empty`: the connection is closed before a byte of the reply (a client reads "no response");
- `malformed`: a status line and JSON headers, then a body that is not JSON.
`reset` and `empty` need the connection itself, which ASGI does not offer: `_transport_of` finds it
behind uvicorn's `send` (the one place this leans on uvicorn's internals, checked each time); where
there is none (an in-process test client), the request fails with `ConnectionAbortedError` instead.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import Message, Receive, Scope, Send

from handlers import observability, routes
from tokensmith.core import Core
from tokensmith.testing import snapshot
from tokensmith.testing.clock import ClockState, ControlledClock

TESTING_BASE = "/api/v1/testing"
KINDS = ("response", "delay", "reset", "empty", "malformed")
JOURNAL_LIMIT = 10_000
MALFORMED_BODY = b'{"this is": not json, <truncated'
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Dispatch = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Fault:
    id: int
    operation_ids: frozenset[str]  # the full operationIds it matches
    operation_id: str  # as the caller named it
    kind: str
    status: int
    body: Any
    delay_ms: int
    remaining: int
    probability: float
    fired: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operationId": self.operation_id,
            "kind": self.kind,
            "status": self.status,
            "body": self.body,
            "delayMs": self.delay_ms,
            "remaining": self.remaining,
            "probability": self.probability,
            "fired": self.fired,
        }


class OperationMatcher:
    """(method, path) → operation from the specs' path templates (the most literal template wins,
    as routing prefers), and the operations a fault may name. An operationId is unique within its spec
    only (`whoAmI` is the admin API's and Commvault's), so the journal and faults name an operation in
    full as `<spec>.<operationId>` (`commandcenter.login`)."""

    def __init__(self, dialects: list[tuple[str, str, Any]]) -> None:
        self._routes: list[tuple[re.Pattern[str], int, str, str]] = []
        self.operation_ids: set[str] = set()
        self._stems = {base: stem for stem, base, _wire in dialects}
        for stem, base, wire in dialects:
            flags = re.IGNORECASE if getattr(wire, "CASE_INSENSITIVE_PATHS", False) else 0
            for path, item in routes.spec(stem)["paths"].items():
                segments = f"{base}{path}".split("/")
                pattern = "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments)
                literal = sum(1 for s in segments if s and not s.startswith("{"))
                for method in _METHODS:
                    operation = item.get(method)
                    if isinstance(operation, dict) and "operationId" in operation:
                        self._routes.append(
                            (
                                re.compile(f"^{pattern}$", flags),
                                literal,
                                method.upper(),
                                f"{stem}.{operation['operationId']}",
                            )
                        )
                        self.operation_ids.add(f"{stem}.{operation['operationId']}")

    def qualified(self, base_path: str | None, operation_id: str | None) -> str | None:
        """The full name of the operation routing chose (Connexion names it by base path and id)."""
        stem = self._stems.get(base_path or "")
        return f"{stem}.{operation_id}" if stem is not None and operation_id else None

    def match(self, method: str, path: str) -> str | None:
        path = re.sub("/{2,}", "/", path)
        best: tuple[int, str] | None = None
        for regex, literal, route_method, operation_id in self._routes:
            if route_method == method and regex.match(path) and (best is None or literal > best[0]):
                best = (literal, operation_id)
        return best[1] if best else None

    def resolve(self, name: str) -> frozenset[str]:
        """The full names `name` stands for: itself, or every operation whose operationId is `name`,
        in camel or snake case alike (`login`, `createAccessToken`, `create_access_token`): in one
        spec or several (`whoAmI`). Empty when it names nothing."""
        if name in self.operation_ids:
            return frozenset({name})
        wanted = _loose(name)
        return frozenset(o for o in self.operation_ids if _loose(o.split(".", 1)[1]) == wanted)


def _loose(name: str) -> str:
    return name.replace("_", "").lower()


@dataclass
class TestingState:
    """Everything testing mode keeps in the serving process: its clock, the snapshot `reset`
    returns to, the armed faults and the journal. One process: `serve --testing` runs one worker."""

    core: Core
    clock: ControlledClock
    matcher: OperationMatcher
    baseline: snapshot.Snapshot | None = None
    baseline_clock: ClockState | None = None
    initial: tuple[snapshot.Snapshot, ClockState] | None = None  # as the server started
    faults: list[Fault] = field(default_factory=list)
    journal: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=JOURNAL_LIMIT))
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=random.Random)

    @classmethod
    def start(cls, core: Core, dialects: list[tuple[str, str, Any]]) -> TestingState:
        """The state of a freshly built app: `reset` returns to the database as it is now."""
        if not isinstance(core.clock, ControlledClock):
            raise TypeError("testing mode needs the core's clock to be a ControlledClock")
        state = cls(core, core.clock, OperationMatcher([d for d in dialects if d[1] != TESTING_BASE]))
        state.mark_baseline()
        state.initial = (state.baseline, state.baseline_clock)  # type: ignore[assignment]
        return state

    # --- seed and reset ------------------------------------------------------------------------
    def mark_baseline(self) -> None:
        """What `reset` returns to from now on: the database and the clock as they are."""
        self.baseline = snapshot.take(self.core)
        self.baseline_clock = self.clock.state()

    def reset(self, fresh: bool = False) -> None:
        """Back to right after the last seed; `fresh`: back to the server's start, forgetting seeds."""
        if fresh and self.initial is not None:
            self.baseline, self.baseline_clock = self.initial
        if self.baseline is None:
            self.mark_baseline()  # not built by `start`: the state as it stands is the baseline
        snapshot.restore(self.core, self.baseline)  # type: ignore[arg-type]
        self.clock.restore(self.baseline_clock)  # type: ignore[arg-type]
        self.clear_faults()
        self.journal.clear()

    # --- faults --------------------------------------------------------------------------------
    def arm(self, **values: Any) -> Fault:
        with self._lock:
            fault = Fault(id=next(self._ids), **values)
            self.faults.append(fault)
            return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, operation_id: str | None) -> Fault | None:
        """The first armed fault for this operation that fires this time (counting it down)."""
        if operation_id is None or not self.faults:
            return None
        with self._lock:
            for fault in self.faults:
                if operation_id in fault.operation_ids and fault.remaining > 0:
                    if fault.probability < 1 and self._random.random() >= fault.probability:
                        return None
                    fault.remaining -= 1
                    fault.fired += 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # --- the journal ---------------------------------------------------------------------------
    def requests(self, operation_id: str | None = None) -> list[dict[str, Any]]:
        entries = list(self.journal)
        if operation_id is not None:
            wanted = self.matcher.resolve(operation_id) or frozenset({operation_id})
            entries = [e for e in entries if e["operationId"] in wanted]
        return entries

    # --- the layer -----------------------------------------------------------------------------
    async def serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        raw_send: Send,
        request_id: str,
        dispatch: Dispatch,
    ) -> None:
        path = scope["path"]
        if path.lower().startswith(TESTING_BASE):
            _state.set(self)
            await dispatch(scope, receive, send)
            return
        started = time.perf_counter()
        at = self.clock.now()  # when the request arrived, by the server's (testing) clock
        planned = self.matcher.match(scope["method"], path)
        status: int | None = None

        async def noting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        fault = self._take_fault(planned)
        outcome = None
        try:
            if fault is None or fault.kind == "delay":
                if fault is not None:
                    await asyncio.sleep(fault.delay_ms / 1000)
                await dispatch(scope, receive, noting_send)
            else:
                outcome = await _misbehave(fault, noting_send, raw_send)
        finally:
            routing = scope.get("extensions", {}).get("connexion_routing", {})
            self.journal.append(
                {
                    "at": at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                    "method": scope["method"],
                    "path": path,
                    "operationId": self.matcher.qualified(
                        routing.get("api_base_path"), routing.get("operation_id")
                    )
                    or planned,
                    "status": status,
                    "principal": observability._token_id.get(),  # the public id security noted
                    "durationMs": round((time.perf_counter() - started) * 1000, 3),
                    "requestId": request_id,
                    "fault": None if fault is None else {"id": fault.id, "kind": fault.kind},
                    **({"outcome": outcome} if outcome else {}),
                }
            )


# The testing state of the app serving this request, for the testing API's handlers.
_state: ContextVar[TestingState] = ContextVar("tokensmith_testing_state")


def current() -> TestingState:
    return _state.get()


async def _misbehave(fault: Fault, send: Send, raw_send: Send) -> str | None:
    if fault.kind == "response":
        body = orjson.dumps(fault.body)
        await _reply(send, fault.status, body)
        return None
    if fault.kind == "malformed":
        await _reply(send, fault.status, MALFORMED_BODY)
        return None
    transport = _transport_of(raw_send)
    if transport is None:
        raise ConnectionAbortedError(f"fault {fault.id}: {fault.kind} (no connection to drop in-process)")
    if fault.kind == "reset":
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    for _ in range(3):  # let the protocol see the connection go before uvicorn looks for a reply
        await asyncio.sleep(0)
    return "connection " + ("reset" if fault.kind == "reset" else "closed")


async def _reply(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _transport_of(send: Send) -> asyncio.BaseTransport | None:
    """uvicorn's `send` is its request cycle's bound method, and the cycle holds the connection's
    transport (uvicorn 0.30 to 0.54, httptools and h11 alike). Anything else: None."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort") or not hasattr(transport, "get_extra_info"):
        return None
    return transport


def controlled_clock(given: Any) -> ControlledClock:
    """Testing mode's clock: the one given when it is already controllable, else a fresh one (a clock
    that cannot be set would make the testing API's clock a lie)."""
    if isinstance(given, ControlledClock):
        return given
    if given is None:
        return ControlledClock()
    raise TypeError(f"testing mode needs a ControlledClock, not {type(given).__name__}")
