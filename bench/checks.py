"""Before anything is timed: every app answers its scenario with 200, and the reference apps that claim
to do tokensmith's work answer the same wire bodies as tokensmith (else the ratios would compare
different work). Also used, in process, by `tests/test_bench_smoke.py`.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import dataset, scenarios
from bench.dataset import Pool
from bench.load import Request
from tokensmith import crypto

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Reply:
    status: int
    media_type: str
    body: Any

    def describe(self) -> str:
        return f"{self.status} {self.media_type} {json.dumps(self.body, sort_keys=True)[:400]}"


# How one request is sent: (method, path, headers, body) -> Reply. Over HTTP here; in process in the test.
Send = Callable[[str, str, dict[str, str], bytes | None], Reply]


def http_sender(base_url: str, timeout: float = TIMEOUT_S) -> Send:
    host, port = base_url.removeprefix("http://").split(":")

    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Reply:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            media_type = (response.getheader("content-type") or "").split(";")[0].strip()
        finally:
            conn.close()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Reply(response.status, media_type, parsed)

    return send


def send_line(send: Send, request: Request, line: str) -> Reply:
    if request.header:
        return send(request.method, request.path, {request.header: line}, None)
    return send(request.method, request.path, {"Content-Type": "application/json"}, line.encode())


def probe_lines(scenario: str, request: Request) -> list[str]:
    """The pool's first entry (must succeed), then an unknown and a malformed token (must be refused)."""
    unknown = crypto.mint("access", dataset.SECRET_KEY).value
    first = request.lines[0]
    if scenario == scenarios.WHOAMI:
        return [first, unknown, "tsa_not-a-token"]
    if scenario == scenarios.VALIDATE:
        user_id = json.loads(first)["user_id"]
        return [
            first,
            json.dumps({"api_access_token": unknown, "user_id": user_id}),
            json.dumps({"api_access_token": "tsa_not-a-token", "user_id": user_id}),
        ]
    return [first]


def check_scenario(scenario: str, pool: Pool, senders: dict[str, Send]) -> list[str]:
    """Problems found (empty when all is well): non-200 on the pool's first token, or wire mismatches."""
    problems: list[str] = []
    builders = scenarios.SCENARIOS[scenario]
    for app, send in senders.items():
        if app not in builders:
            continue
        request = builders[app](pool)
        reply = send_line(send, request, request.lines[0])
        if reply.status != 200:
            problems.append(f"{scenario}/{app}: expected 200, got {reply.describe()}")
    if scenarios.TOKENSMITH not in senders:
        return problems
    request = builders[scenarios.TOKENSMITH](pool)
    for line in probe_lines(scenario, request):
        expected = send_line(senders[scenarios.TOKENSMITH], request, line)
        for twin in scenarios.SAME_WIRE.get(scenario, ()):
            if twin not in senders:
                continue
            got = send_line(senders[twin], request, line)
            if got != expected:
                problems.append(
                    f"{scenario}/{twin} differs from tokensmith on {line[:80]!r}:\n"
                    f"    tokensmith: {expected.describe()}\n    {twin}: {got.describe()}"
                )
    return problems
