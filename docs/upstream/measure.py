"""Per-request cost of a stock Connexion app with and without the patches in this directory.

    python docs/upstream/measure.py [--rounds 5] [--requests 2000]

Copies the installed `connexion` package four times (stock, each patch, both), applies the patches with
`patch -p1`, and times the same small AsyncApp on each copy in its own process: a POST with a JSON body
validated against a schema, a GET with a path parameter, and a POST to an operation that accepts two
media types (Connexion logs a WARNING, to stderr by default, each time it works out such an operation's
body definition), all through Connexion's whole middleware
stack, called in process over ASGI (no server, no sockets). Rounds are interleaved and the median CPU
time per request (`time.process_time`) is printed. Needs only connexion and the `patch` command.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "stock": [],
    "cached-fn": ["cached-fn.patch"],
    "body-definition": ["body-definition.patch"],
    "both": ["cached-fn.patch", "body-definition.patch"],
}
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "measure", "version": "1"},
    "paths": {
        "/items": {
            "post": {
                "operationId": "create",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}, "count": {"type": "integer"}},
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "made", "content": {"application/json": {}}}},
            }
        },
        "/notes": {
            "post": {
                "operationId": "note",
                "requestBody": {
                    "required": True,
                    "content": {
                        media: {"schema": {"type": "object", "properties": {"text": {"type": "string"}}}}
                        for media in ("application/json", "application/x-www-form-urlencoded")
                    },
                },
                "responses": {"201": {"description": "made", "content": {"application/json": {}}}},
            }
        },
        "/items/{item_id}": {
            "get": {
                "operationId": "read",
                "parameters": [
                    {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"description": "one", "content": {"application/json": {}}}},
            }
        },
    },
}
REQUESTS = {
    "POST /items (JSON body)": ("POST", "/items", b'{"name": "widget", "count": 3}', 201),
    "GET /items/{item_id}": ("GET", "/items/42", b"", 200),
    "POST /notes (2 media types)": ("POST", "/notes", b'{"text": "hi"}', 201),
}


async def create(body: dict) -> tuple[dict, int]:
    return {"name": body["name"]}, 201


async def read(item_id: int) -> dict:
    return {"id": item_id}


async def note(body: dict) -> tuple[dict, int]:
    return body, 201


def worker(count: int) -> None:
    """Run in a copy's process: time each request and print {request: µs} as JSON."""
    import connexion

    app = connexion.AsyncApp(
        __name__, resolver=lambda operation_id: {"create": create, "read": read, "note": note}[operation_id]
    )
    app.add_api(SPEC)

    async def call(method: str, path: str, body: bytes, status: int) -> None:
        headers = [(b"host", b"x"), (b"content-length", str(len(body)).encode())]
        if body:
            headers.append((b"content-type", b"application/json"))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("x", 80),
        }
        sent = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != status:
            raise SystemExit(f"{method} {path}: {sent[0]['status']}")

    async def batch(request: tuple) -> None:
        for _ in range(count):
            await call(*request)

    loop = asyncio.new_event_loop()
    results = {}
    for name, request in REQUESTS.items():
        loop.run_until_complete(batch(request))  # warm-up
        started = time.process_time()
        loop.run_until_complete(batch(request))
        results[name] = (time.process_time() - started) / count * 1e6
    # How often one request asks for its operation's body definition (what the second patch memoises).
    from connexion.operations.openapi import OpenAPIOperation

    asked = []
    original = OpenAPIOperation.body_definition

    def counted(self, content_type=None):
        asked.append(content_type)
        return original(self, content_type)

    OpenAPIOperation.body_definition = counted
    for name, request in REQUESTS.items():
        asked.clear()
        loop.run_until_complete(call(*request))
        results[f"{name}: body_definition calls"] = len(asked)
    OpenAPIOperation.body_definition = original
    # One call, on its own: the POST operation as the request validation layer holds it.
    (validation,) = [
        m for m in app.middleware.middleware_stack if type(m).__name__ == "RequestValidationMiddleware"
    ]
    operation = next(iter(validation.apis.values()))[0].operations["create"]._operation
    started = time.process_time()
    for _ in range(20000):
        operation.body_definition("application/json")
    results["body_definition µs per call"] = (time.process_time() - started) / 20000 * 1e6
    print(json.dumps({"connexion": connexion.__file__, **results}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.requests)
        return 0
    import connexion

    installed = Path(connexion.__file__).parent
    work = Path(tempfile.mkdtemp(prefix="connexion-patches-"))
    try:
        for variant, patches in VARIANTS.items():
            shutil.copytree(
                installed, work / variant / "connexion", ignore=shutil.ignore_patterns("__pycache__")
            )
            for patch in patches:
                subprocess.run(
                    ["patch", "-s", "-p1", "-d", str(work / variant), "-i", str(HERE / patch)], check=True
                )
        costs: dict[str, dict[str, list[float]]] = {v: {r: [] for r in REQUESTS} for v in VARIANTS}
        calls: dict[str, dict[str, int]] = {}
        per_call: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for round_index in range(args.rounds):
            order = list(VARIANTS) if round_index % 2 == 0 else list(VARIANTS)[::-1]
            for variant in order:
                env = {**os.environ, "PYTHONPATH": str(work / variant)}
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", "--requests", str(args.requests)],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                measured = json.loads(out.strip().splitlines()[-1])
                assert measured["connexion"].startswith(str(work / variant)), measured["connexion"]
                for name in REQUESTS:
                    costs[variant][name].append(measured[name])
                calls[variant] = {name: measured[f"{name}: body_definition calls"] for name in REQUESTS}
                per_call[variant].append(measured["body_definition µs per call"])
    finally:
        shutil.rmtree(work)
    print(f"connexion {importlib.metadata.version('connexion')} from {installed}")
    print(f"median CPU µs per request over {args.rounds} rounds of {args.requests} requests")
    print(f"{'variant':<17}" + "".join(f"{name:>30}" for name in REQUESTS))
    stock = {name: statistics.median(costs["stock"][name]) for name in REQUESTS}
    for variant in VARIANTS:
        cells = []
        for name in REQUESTS:
            median = statistics.median(costs[variant][name])
            cells.append(f"{median:8.1f} ({median - stock[name]:+6.1f})")
        print(f"{variant:<17}" + "".join(f"{cell:>30}" for cell in cells))
    print("body_definition: calls per request (each request above) and µs per call (median)")
    for variant in VARIANTS:
        counts = ", ".join(str(calls[variant][name]) for name in REQUESTS)
        print(f"{variant:<17}{counts:>10}{statistics.median(per_call[variant]):10.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
