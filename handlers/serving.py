"""How `tokensmith serve` runs uvicorn, and the limits before authentication that uvicorn lacks.

What uvicorn offers, and `uvicorn_options` sets from `Settings`: `limit_concurrency` (connections or
running requests per worker beyond which a request gets 503), `timeout_keep_alive` (an idle connection
between requests), and, for its h11 protocol only, `h11_max_incomplete_event_size` (the head's size).

What its httptools protocol (the one `serve` runs) lacks, read in uvicorn 0.54 / httptools 0.9:
- no limit on the head's size: llhttp has none, and httptools joins each header's name and value in
  memory however long they grow (ten unfinished 20 MB headers took a worker from 116 to 341 MB);
- no limit on the number of headers;
- no deadline for the head: the keep-alive timer is armed only after a response, so a connection that
  never finishes its first request (or never sends a byte) is held for as long as the client likes;
- no deadline for the body: every byte received cancels the keep-alive timer, so a body dripped a byte
  at a time is read for as long as it drips, even after the reply when the app never read it.

`LimitedHttpToolsProtocol` adds those four to uvicorn's `HttpToolsProtocol`, through the parser
callbacks and the few attributes it shares with them (`cycle`, `transport`, `url`, `loop`). It leans on
uvicorn's private protocol class, so `check()` (run by `serve` before it starts) makes sure that class
is still the one this was written against, by looking and by feeding a probe connection; `serve`
refuses to start when it is not, rather than serve without the limits.

A refusal at this layer is answered in the error format of the dialect that owns the path (when the
request line got that far) and closes the connection: 431 for a head too large or with too many
headers, 408 for a head or body too slow (`handlers.bodies` refuses a slow body with 408 itself when
the app is reading it; this layer closes the connection when nobody is).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, NamedTuple

from starlette.exceptions import HTTPException
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from handlers import errors
from tokensmith.config import Settings

PROTOCOL = "handlers.serving:LimitedHttpToolsProtocol"  # how uvicorn's `http` option names it
CLOSE_GRACE_SECONDS = 1.0  # after the body deadline, how long the app has to answer before the close


class Limits(NamedTuple):
    max_header_bytes: int
    max_headers: int
    header_timeout: float
    body_timeout: float

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.max_header_bytes, settings.max_headers, settings.header_timeout, settings.body_timeout
        )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's keyword arguments for serving tokensmith (besides the app, address and workers)."""
    return {
        "http": PROTOCOL,
        "loop": "uvloop",
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "h11_max_incomplete_event_size": settings.max_header_bytes,  # if h11 is ever swapped in
    }


_process_limits: Limits | None = None


def _limits_from_env() -> Limits:
    """A worker's limits: uvicorn names the protocol class by its import path (a worker process is
    spawned, not forked), so each worker reads the same environment `serve` read."""
    global _process_limits
    if _process_limits is None:
        _process_limits = Limits.of(Settings.from_env())
    return _process_limits


class _Refused(Exception):
    """Raised in a parser callback to stop the parser; the refusal itself is `_refusal`."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size, a header count and a deadline for the head, and a
    deadline for the body."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits or _limits_from_env()
        self._reading_head = True  # between requests, or inside a head; False inside a body
        self._head_bytes = 0
        self._head_started: float | None = None
        self._header_count = 0
        self._body_started = 0.0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None

    # --- connection ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_started = self.loop.time()  # a connection that sends nothing is closed too
        self._head_timer = self.loop.call_at(self._head_started + self.limits.header_timeout, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head and self._head_started is None:
            self._head_started = self.loop.time()
        # A head is fed to the parser no further than the limit: beyond it, nothing more is read.
        while data and self._reading_head:
            room = self.limits.max_header_bytes - self._head_bytes
            if room <= 0:
                self._refuse(431, "The request's header section is too large.")
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing():
                return
        if data:
            super().data_received(data)
            if self.transport.is_closing():
                return
        if self._reading_head:
            if self._head_bytes and self._head_timer is None:  # a head has begun and is not complete
                deadline = self._head_started + self.limits.header_timeout
                self._head_timer = self.loop.call_at(deadline, self._head_late)
        elif self._body_timer is None:  # a body has begun and is not complete
            deadline = self._body_started + self.limits.body_timeout
            self._body_timer = self.loop.call_at(deadline, self._body_late)

    # --- parser callbacks ---------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refusal = (431, f"A request may have at most {self.limits.max_headers} header fields.")
            raise _Refused()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._body_started = self.loop.time()
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_head = True
        self._head_bytes = self._header_count = 0
        self._head_started = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error, which is also where a refused callback lands."""
        if self._refusal is not None:
            self._refuse(*self._refusal)
        else:
            super().send_400_response(msg)

    # --- deadlines and refusals -----------------------------------------------------------------
    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._reading_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head waits while the request before it is served: its time starts after.
            self._head_started = None
            return
        if self._head_bytes == 0:
            self.transport.close()  # nothing was asked: nothing to answer
            return
        seconds = self.limits.header_timeout
        self._refuse(408, f"The request's headers did not arrive within {seconds:g} seconds.")

    def _body_late(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self._reading_head:
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self.transport.close()  # answered, and the client is still dripping a body nobody reads
            return
        # The app may be reading the body (then `handlers.bodies` answers 408 about now): close after
        # its answer, or after a short grace if it gives none.
        cycle.keep_alive = False
        self._body_timer = self.loop.call_later(CLOSE_GRACE_SECONDS, self._close_if_still_reading)

    def _close_if_still_reading(self) -> None:
        self._body_timer = None
        if not self._reading_head and not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        """Answer (unless a reply to an earlier request is still being written) and close."""
        self._cancel_timers()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(self._reply(status, message))
        self.transport.close()

    def _reply(self, status: int, message: str) -> bytes:
        url = getattr(self, "url", b"") or b"/"
        path = url.split(b"?", 1)[0].decode("latin-1")
        path = path if path.startswith("/") else "/"  # the request line may be cut short
        status, headers, body, media_type = errors.render(path, HTTPException(status, message))
        lines = [STATUS_LINE[status]]
        fields = [*self.server_state.default_headers]
        fields += [(b"content-type", media_type.encode()), (b"content-length", b"%d" % len(body))]
        fields += [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
        fields.append((b"connection", b"close"))
        lines += [name + b": " + value + b"\r\n" for name, value in fields]
        return b"".join([*lines, b"\r\n", body])

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None


# --- the start-up check ----------------------------------------------------------------------------

_CALLBACKS = {
    "connection_made": ["self", "transport"],
    "connection_lost": ["self", "exc"],
    "data_received": ["self", "data"],
    "on_header": ["self", "name", "value"],
    "on_headers_complete": ["self"],
    "on_message_complete": ["self"],
    "send_400_response": ["self", "msg"],
}


def check() -> None:
    """RuntimeError, saying what changed, unless uvicorn's httptools protocol is still what
    `LimitedHttpToolsProtocol` was written against: the methods it overrides, with their parameters,
    and the behaviour it relies on, tried on a probe connection (a head with too many headers must be
    refused with 431 and closed; a complete request must reach the app, with the body timer set)."""
    for name, parameters in _CALLBACKS.items():
        method = getattr(HttpToolsProtocol, name, None)
        found = list(inspect.signature(method).parameters) if callable(method) else None
        if found != parameters:
            raise RuntimeError(f"uvicorn's HttpToolsProtocol.{name} is {found}, expected {parameters}")
    if "keep_alive" not in inspect.signature(RequestResponseCycle).parameters:
        raise RuntimeError("uvicorn's RequestResponseCycle no longer takes keep_alive")
    uvicorn_log = logging.getLogger("uvicorn.error")  # the probe's refusal is no news to anyone
    was_disabled, uvicorn_log.disabled = uvicorn_log.disabled, True
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_probe())
    finally:
        loop.close()
        uvicorn_log.disabled = was_disabled


async def _probe() -> None:
    reached: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def protocol(limits: Limits) -> tuple[LimitedHttpToolsProtocol, _ProbeTransport]:
        config = Config(app=app, log_config=None, lifespan="off")
        config.load()
        made = LimitedHttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop(), limits)
        transport = _ProbeTransport()
        made.connection_made(transport)  # type: ignore[arg-type]
        return made, transport

    limits = Limits(max_header_bytes=4096, max_headers=3, header_timeout=60, body_timeout=60)
    crowded, transport = protocol(limits)
    crowded.data_received(b"GET / HTTP/1.1\r\n" + b"".join(b"x-%d: y\r\n" % i for i in range(5)) + b"\r\n")
    if not (transport.written.startswith(b"HTTP/1.1 431 ") and transport.closed):
        raise RuntimeError(f"the probe's crowded head was not refused with 431: {transport.written[:60]!r}")
    posting, transport = protocol(limits)
    posting.data_received(b"POST /x HTTP/1.1\r\nhost: probe\r\ncontent-length: 5\r\n\r\nab")
    await asyncio.sleep(0)
    if not reached or posting._body_timer is None or posting._head_timer is not None:
        raise RuntimeError("the probe's request did not reach the app with its body deadline set")
    posting.connection_lost(None)


class _ProbeTransport:
    """The little of asyncio.Transport the protocol touches on the probe."""

    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass
