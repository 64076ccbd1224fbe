"""A TCP proxy that puts a network's latency between the apps and PostgreSQL, and the measurement of
the round trip it really adds.

Production puts the database on another host, 0.5–2 ms away; the bench's PostgreSQL is on loopback,
≈ 0.1 ms away, where a driver that blocks the event loop costs almost nothing. Every byte the proxy
receives is forwarded `delay` later, in order, in each direction, so a query/answer exchange costs two
delays more; chunks are queued, not serialised, so the proxy adds latency without limiting throughput.

The delay is a setting, not a fact, so `measure_rtt` times a `SELECT 1` loop through the proxy against
the same loop direct, and those are the figures to report. Timers are the catch: asyncio's default
(epoll) selector rounds every wait up to whole milliseconds, so any delay under 1 ms holds a chunk
≈ 1 ms (a 0.3 ms setting measured 2.3 ms of round trip), and uvloop's millisecond loop clock rounds
small delays to nothing. This proxy runs the plain asyncio loop on a `select(2)` selector, whose
timeout has microsecond resolution (its 1,024-descriptor limit is far above the bench's connections):
0.3 / 0.9 / 1.2 ms per direction measured 0.9 / 2.1 / 3.0 ms of round trip on the bench machine. The
proxy runs in a process of its own (`python -m bench.latency_proxy`), started and always stopped by
`LatencyProxy`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import selectors
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench import dataset
from bench.apps.environment import libpq_url
from bench.servers import pinned

# Per direction: ≈ 2 ms of measured round trip on the bench machine (the "≈ 2 ms").
DEFAULT_DELAY_MS = 0.9
READY_MARK = "LATENCY_PROXY_READY "
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
# A chunk due within this much of now is sent now: the loop's timer fired, and waiting for a second
# wake-up would add a whole timer tick (≈ 1 ms) for nothing.
DUE_SLACK_S = 50e-6


class _Side(asyncio.Protocol):
    """One socket of a proxied connection: what it receives reaches its peer `delay` seconds later.

    Chunks wait in a queue with their due time and one timer per side is armed for the oldest, so the
    order of bytes is kept and many chunks in flight cost one timer, not one each.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.pending: deque[tuple[float, bytes | None]] = deque()
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._queue(data)

    def eof_received(self) -> bool:
        self._queue(None)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._queue(None)

    # Flow control: when this side cannot write fast enough, stop reading what would be written to it.
    def pause_writing(self) -> None:
        if self.peer and self.peer.transport:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer and self.peer.transport and not self.peer.transport.is_closing():
            self.peer.transport.resume_reading()

    def _queue(self, data: bytes | None) -> None:
        if self.pending and self.pending[-1][1] is None:
            return  # already closing: nothing after the end
        self.pending.append((self.loop.time() + self.delay, data))
        if self.timer is None and self.peer is not None:
            self.timer = self.loop.call_at(self.pending[0][0], self._flush)

    def start(self) -> None:
        """The peer exists now: forward what arrived while it was being connected."""
        if self.pending and self.timer is None:
            self.timer = self.loop.call_at(self.pending[0][0], self._flush)

    def _flush(self) -> None:
        self.timer = None
        assert self.peer is not None and self.peer.transport is not None
        out = self.peer.transport
        now = self.loop.time() + DUE_SLACK_S
        while self.pending and self.pending[0][0] <= now:
            _due, data = self.pending.popleft()
            if data is None:
                self.pending.clear()
                out.close()
                if self.transport is not None:
                    self.transport.close()
                return
            if not out.is_closing():
                out.write(data)
        if self.pending:
            self.timer = self.loop.call_at(self.pending[0][0], self._flush)


class _Client(_Side):
    """The side an app connects to: it opens the upstream side, then both start forwarding."""

    def __init__(self, delay: float, upstream: tuple[str, int]) -> None:
        super().__init__(delay)
        self.upstream = upstream
        self.connecting: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.connecting = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        assert self.transport is not None
        try:
            _transport, upstream = await self.loop.create_connection(
                lambda: _Side(self.delay), *self.upstream
            )
        except OSError:
            self.transport.close()
            return
        self.peer, upstream.peer = upstream, self
        self.start()
        upstream.start()


async def serve(listen_port: int, upstream: tuple[str, int], delay: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Client(delay, upstream), "127.0.0.1", listen_port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = server.sockets[0].getsockname()[1]
    print(f"{READY_MARK}{port}", flush=True)
    await stop.wait()
    # Not `async with server`: from Python 3.12 its exit waits for every proxied connection to close.
    server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency_proxy", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--upstream", default="127.0.0.1:5432", help="HOST:PORT of PostgreSQL")
    parser.add_argument("--port", type=int, default=0, help="port to listen on, 127.0.0.1 (default: any)")
    parser.add_argument(
        "--delay-ms", type=float, default=DEFAULT_DELAY_MS, help="hold per direction (measure the result)"
    )
    args = parser.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    # The plain asyncio loop on a select(2) selector on purpose (see the module's docstring).
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        loop.run_until_complete(serve(args.port, (host or "127.0.0.1", int(port)), args.delay_ms / 1000))
    finally:
        loop.close()
    return 0


@dataclass
class LatencyProxy:
    """The proxy as a child process in its own session: started, told apart by its id, always stopped."""

    upstream_host: str
    upstream_port: int
    delay_ms: float = DEFAULT_DELAY_MS
    core: int | None = None
    port: int = 0
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @classmethod
    def for_url(cls, url: str, delay_ms: float = DEFAULT_DELAY_MS, core: int | None = None) -> LatencyProxy:
        parts = urlsplit(libpq_url(url))
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432, delay_ms, core)

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "bench.latency_proxy",
            "--upstream",
            f"{self.upstream_host}:{self.upstream_port}",
            "--delay-ms",
            str(self.delay_ms),
        ]
        self.process = subprocess.Popen(
            pinned(command, self.core),
            cwd=dataset.REPO,
            env={**os.environ, "PYTHONPATH": str(dataset.REPO)},
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith(READY_MARK):
            self.stop()
            raise RuntimeError(f"the latency proxy did not start (said {line!r})")
        self.port = int(line.removeprefix(READY_MARK))

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                continue
        if process.stdout:
            process.stdout.close()

    def url(self, url: str) -> str:
        """`url` (any PostgreSQL URL) pointing at the proxy instead of the server; the rest unchanged."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def __enter__(self) -> LatencyProxy:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class RoundTrip:
    """`SELECT 1` round trips, in milliseconds."""

    queries: int
    median_ms: float
    p90_ms: float

    def to_json(self) -> dict[str, float | int]:
        return {"queries": self.queries, "median_ms": self.median_ms, "p90_ms": self.p90_ms}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def round_trip(times_s: list[float]) -> RoundTrip:
    ms = [t * 1000 for t in times_s]
    return RoundTrip(len(ms), round(statistics.median(ms), 3), round(_percentile(ms, 0.9), 3))


def measure_rtt(url: str, queries: int, warmup: int = 10) -> RoundTrip:
    """`queries` sequential `SELECT 1` on one connection (after `warmup`), each timed on its own."""
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as conn:
        for _ in range(warmup):
            conn.execute("SELECT 1").fetchone()
        times = []
        for _ in range(queries):
            started = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            times.append(time.perf_counter() - started)
    return round_trip(times)


class RttProbe:
    """`SELECT 1` every `interval` in a thread while a load run goes on: the database's round trip as
    the app saw it during the run (the proxy and PostgreSQL share the machine with the load)."""

    def __init__(self, url: str, interval_s: float = 0.02) -> None:
        self.url = url
        self.interval_s = interval_s
        self.times: list[float] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtt-probe", daemon=True)

    def _run(self) -> None:
        try:
            with psycopg.connect(libpq_url(self.url), autocommit=True, connect_timeout=10) as conn:
                conn.execute("SELECT 1").fetchone()
                while not self._stop.wait(self.interval_s):
                    started = time.perf_counter()
                    conn.execute("SELECT 1").fetchone()
                    self.times.append(time.perf_counter() - started)
        except psycopg.Error as exc:
            self.error = str(exc).strip()

    @contextmanager
    def running(self) -> Iterator[RttProbe]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=15)

    def result(self) -> RoundTrip | None:
        return round_trip(self.times) if self.times else None


if __name__ == "__main__":
    sys.exit(main())
