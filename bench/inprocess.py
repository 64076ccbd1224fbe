"""A quick, low-noise check while optimising: `python -m bench.inprocess [--scenario validate|whoami]`.

Calls tokensmith's ASGI app and the floor directly in this process, without uvicorn, sockets or wrk, and
compares the CPU time per request (`time.process_time`) over interleaved rounds. It needs no second core
and takes ~20 s, and a busy neighbour hardly moves it. It leaves out the HTTP server's own cost (≈ 100 µs a
request with uvicorn + httptools), so its "floor ÷ tokensmith" reads lower than `bench.run`'s. Use it
to see whether a change helps, and `bench.run` for the figures the issue's targets are judged on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bench import dataset, scenarios, seeding
from bench.apps import environment, floor
from bench.load import Request
from handlers.app import create_app
from tokensmith.config import Settings

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _scope(request: Request, line: str) -> tuple[dict[str, Any], bytes]:
    body = b"" if request.header else line.encode()
    headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]
    if request.header:
        headers.append((request.header.lower().encode(), line.encode()))
    else:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    return scope, body


async def _call(app: Asgi, request: Request, line: str) -> int:
    scope, body = _scope(request, line)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


async def _start(app: Asgi) -> asyncio.Task[None]:
    """Run the app's lifespan start-up, as uvicorn would; the task is cancelled at the end."""
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started = asyncio.Event()
    await queue.put({"type": "lifespan.startup"})

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, queue.get, send))
    await asyncio.wait_for(started.wait(), timeout=30)
    return task


def cpu_per_request(loop: asyncio.AbstractEventLoop, app: Asgi, request: Request, count: int) -> float:
    async def batch() -> None:
        for index in range(count):
            status = await _call(app, request, request.lines[index % len(request.lines)])
            if status != 200:
                raise SystemExit(f"{request.path} answered {status}")

    started = time.process_time()
    loop.run_until_complete(batch())
    return (time.process_time() - started) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", default=scenarios.VALIDATE, choices=[scenarios.VALIDATE, scenarios.WHOAMI]
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=1000, help="requests per app per round")
    args = parser.parse_args(argv)

    _path, pool = seeding.ensure_cache(1000, print)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = seeding.working_copy(1000, dataset.RESULTS_DIR / f"inprocess-{stamp}")
    url = dataset.sqlite_url(work)
    os.environ[environment.DATABASE_URL] = url
    os.environ[environment.SECRET_KEY] = dataset.SECRET_KEY.decode()
    request = scenarios.SCENARIOS[args.scenario][scenarios.TOKENSMITH](pool)
    loop = asyncio.new_event_loop()
    tokensmith = create_app(Settings(database_url=url, secret_key=dataset.SECRET_KEY), migrate=False)
    apps: dict[str, Asgi] = {scenarios.TOKENSMITH: tokensmith, scenarios.FLOOR: floor.create()}
    tasks = [loop.run_until_complete(_start(app)) for app in apps.values()]
    costs: dict[str, list[float]] = {name: [] for name in apps}
    try:
        for app in apps.values():
            cpu_per_request(loop, app, request, min(200, args.requests))  # warm caches
        for round_index in range(args.rounds):
            order = list(apps) if round_index % 2 == 0 else list(apps)[::-1]
            for name in order:
                costs[name].append(cpu_per_request(loop, apps[name], request, args.requests))
    finally:
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()
        tokensmith.core.db.dispose()
        seeding.remove_working_copy(work)
        work.parent.rmdir()
    medians = {name: statistics.median(values) for name, values in costs.items()}
    for name, values in costs.items():
        rounds = ", ".join(f"{value:.0f}" for value in values)
        print(f"{name:<10} {medians[name]:7.0f} µs of CPU per request (rounds: {rounds})")
    print(f"floor ÷ tokensmith: {medians[scenarios.FLOOR] / medians[scenarios.TOKENSMITH]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
