"""Request bodies in process: chunked bodies read like framed ones (direct path and Connexion's), refused
with 413 past the size limit without reading further, and with 408 when they stop arriving."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator

import orjson
import pytest
from starlette.testclient import TestClient

from handlers import bodies
from handlers.app import create_app, operation_routes
from handlers.routes import spec
from tests.conftest import PASSWORD

CREATE_REFRESH = "/integration/v1/createRefreshToken/"
DISPATCH = pytest.mark.parametrize("direct_dispatch", [True, False], ids=["direct", "connexion"])


def _chunked(data: bytes, size: int = 7) -> Iterator[bytes]:
    """httpx sends an iterator's body with `Transfer-Encoding: chunked` and no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture
def make_client(settings, clock):
    made = []

    def make(direct_dispatch: bool = True, **changes) -> TestClient:
        app = create_app(
            dataclasses.replace(settings, **changes),
            clock=clock,
            migrate=False,
            direct_dispatch=direct_dispatch,
        )
        made.append(app)
        return TestClient(app, raise_server_exceptions=False)

    yield make
    for app in made:
        app.core.db.dispose()


@DISPATCH
def test_a_chunked_json_body_is_read_like_one_with_a_content_length(make_client, alice, direct_dispatch):
    client = make_client(direct_dispatch)
    body = orjson.dumps({"username": "alice", "password": PASSWORD, "name": "chunked"})
    response = client.post(
        CREATE_REFRESH, content=_chunked(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "chunked" and response.json()["refresh_token"].startswith("tsr_")


@DISPATCH
def test_a_chunked_form_body_is_read_like_one_with_a_content_length(make_client, alice, direct_dispatch):
    client = make_client(direct_dispatch)
    body = f"username=alice&password={PASSWORD}&name=form".replace(" ", "+").encode()
    response = client.post(
        CREATE_REFRESH, content=_chunked(body), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "form"


def _operations_with_bodies() -> list[tuple[str, str, str]]:
    """(method, concrete path, media type) of every operation in every spec that takes a body."""
    found = []
    stems = {"/integration/v1": "integration", "/commandcenter/api": "commandcenter"}
    stems |= {"/gateway/api/v1": "gateway", "/api/v1": "admin", "": "ops"}
    for base, routes in operation_routes().items():
        paths = spec(stems[base])["paths"]
        for method, path, _operation_id in routes:
            request_body = paths[path][method].get("requestBody")
            if request_body is None:
                continue
            media = next(iter(request_body.get("content", {"application/json": {}})))
            concrete = "/".join("1" if part.startswith("{") else part for part in path.split("/"))
            found.append((method.upper(), base + concrete, media))
    return found


@pytest.mark.parametrize(("method", "path", "media"), _operations_with_bodies())
def test_every_operation_answers_a_chunked_body_as_the_same_body_framed(client, method, path, media):
    """An empty object (or form) is refused by most operations, and must be refused alike either way."""
    body = b"{}" if "json" in media else b"a=1"
    framed = client.request(method, path, content=body, headers={"content-type": media})
    chunked = client.request(method, path, content=_chunked(body, 1), headers={"content-type": media})
    assert (chunked.status_code, chunked.content) == (framed.status_code, framed.content)
    assert b"RequestBody is required" not in chunked.content


# --- the size limit, without reading past it --------------------------------------------------------


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


def _call(app, scope: dict, receive) -> tuple[int, dict[bytes, bytes], bytes]:
    """Run one request through the ASGI app; the status, headers and body it sent."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


class _EndlessBody:
    """64 KiB messages forever (up to 10 MB), counting what the app took."""

    def __init__(self, message_bytes: int = 65536, total: int = 10 * 1024 * 1024) -> None:
        self.message_bytes = message_bytes
        self.total = total
        self.taken = 0

    async def __call__(self) -> dict:
        if self.taken >= self.total:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.taken += self.message_bytes
        return {"type": "http.request", "body": b" " * self.message_bytes, "more_body": True}


FORMATS = {
    "/integration/v1/createRefreshToken/": lambda body: body["code"] == "413000",
    "/gateway/api/v1/auth/login": lambda body: body["statusCode"] == 413 and body["status"] == "Failure",
    "/commandcenter/api/Login": lambda body: body["errorMessage"].startswith("Request body exceeds"),
    "/api/v1/oauth2/introspect": lambda body: body["status"] == 413 and body["title"],
}


@DISPATCH
@pytest.mark.parametrize("path", list(FORMATS))
def test_a_chunked_body_past_the_limit_is_413_in_the_dialects_format_and_is_not_read_further(
    settings, clock, path, direct_dispatch
):
    app = create_app(settings, clock=clock, migrate=False, direct_dispatch=direct_dispatch)
    try:
        body = _EndlessBody()
        headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
        status, reply_headers, reply = _call(app, _scope("POST", path, headers), body)
    finally:
        app.core.db.dispose()
    assert status == 413, reply
    assert FORMATS[path](orjson.loads(reply)), reply
    assert reply_headers[b"connection"] == b"close"
    assert body.taken <= settings.max_body_bytes + body.message_bytes  # the limit and one message


# --- the read deadline ------------------------------------------------------------------------------


class _StalledBody:
    """A first part of the body, then nothing (a client dripping slower than the deadline)."""

    def __init__(self, first: bytes) -> None:
        self.first = first
        self.calls = 0

    async def __call__(self) -> dict:
        self.calls += 1
        if self.calls == 1:
            return {"type": "http.request", "body": self.first, "more_body": True}
        await asyncio.sleep(30)  # far past the test's deadline: the app must give up first
        return {"type": "http.disconnect"}


@DISPATCH
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_that_stops_arriving_is_408_at_the_deadline(settings, clock, direct_dispatch, framing):
    app = create_app(
        dataclasses.replace(settings, body_timeout=0.3),
        clock=clock,
        migrate=False,
        direct_dispatch=direct_dispatch,
    )
    framed = {"content-length": (b"content-length", b"100"), "chunked": (b"transfer-encoding", b"chunked")}
    headers = [(b"content-type", b"application/json"), framed[framing]]
    try:
        started = time.monotonic()
        scope = _scope("POST", CREATE_REFRESH, headers)
        status, reply_headers, reply = _call(app, scope, _StalledBody(b'{"user'))
        elapsed = time.monotonic() - started
    finally:
        app.core.db.dispose()
    assert status == 408 and orjson.loads(reply)["code"] == "408000", reply
    assert reply_headers[b"connection"] == b"close"
    assert elapsed < 5


def test_a_complete_body_is_not_cut_by_the_deadline_afterwards():
    """Once the body is in, a later receive (a server's disconnect notice) waits without a deadline."""

    async def scenario() -> dict:
        messages = iter([{"type": "http.request", "body": b"{}"}, {"type": "http.disconnect"}])

        async def receive() -> dict:
            await asyncio.sleep(0.05)
            return next(messages)

        loop = asyncio.get_running_loop()
        limited = bodies.limited(receive, 100, loop.time() + 0.03, 0.03)
        with pytest.raises(bodies.BodyTimeout):
            await limited()  # the body itself came too late
        limited = bodies.limited(receive, 100, loop.time() + 0.07, 0.07)
        await limited()
        return await limited()  # past the deadline, but the body was complete

    assert asyncio.run(scenario()) == {"type": "http.disconnect"}
