"""Fixtures for the webhook tests: a real HTTP receiver on a local port, and subscriptions made through
the native API."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.admin.helpers import headers_for

BASE = "/api/v1/webhooks"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver in a thread: records every request, answers from `answers` (one status per
    request, in order; `default` once they run out)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    default: int = 204
    arrived: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> int:
        return self.answers.pop(0) if self.answers else self.default


@contextlib.contextmanager
def receiving(port: int = 0) -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (`port`, or a free one) until the block ends."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 -- http.server's name
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.received.append(Received(self.path, headers, body))
            status = receiver.answer()
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
            receiver.arrived.set()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def subscribe(client: Any, headers: dict[str, str], url: str, events: list[str], **extra: Any) -> dict:
    response = client.post(BASE, json={"url": url, "events": events, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def alice_headers(client: Any, alice: Any) -> dict[str, str]:
    return headers_for(client, "alice")


# The gateway's fixtures (a superadmin, tenants made through its API), for the tenant events.
from tests.gateway.conftest import make_tenant, superadmin, superadmin_token, tenant  # noqa: E402,F401


def queued_events(core: Any, event_type: str | None = None) -> list[dict[str, Any]]:
    """The envelopes of the `webhook.event` jobs recorded so far, oldest first."""
    import sqlalchemy as sa

    from tokensmith.models import Job

    with core.db.read() as session:
        payloads = session.scalars(
            sa.select(Job.payload).where(Job.kind == "webhook.event").order_by(Job.created_at, Job.id)
        ).all()
    envelopes = [payload["event"] for payload in payloads]
    return [e for e in envelopes if event_type is None or e["type"] == event_type]
