"""Direct dispatch answers byte for byte as Connexion's own path does.

Two apps share one database and one clock: `direct` (the default) and `chain`, built with
`direct_dispatch=False` so every request passes Connexion's whole middleware chain. Both carry the
same user middleware (CORS, through `create_app(middleware=...)`), and every request is sent with an
`Origin`. Each request is sent to both and the replies are compared: status, every header in order
(but the request id), body.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.testclient import TestClient

from handlers import direct
from handlers.app import TokensmithApp, create_app
from handlers.integration import wire as integration_wire
from tests.commandcenter.helpers import session
from tests.gateway.conftest import login as gateway_login
from tests.integration.helpers import BASE, access_token, refresh_token

ORIGIN = "https://console.example"
CORS = [
    Middleware(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-Id"],
    )
]

# Served directly: the operations on a static path that take no parameters, whose handler is a
# coroutine taking nothing but the JSON body and the caller, and that answer JSON. Every other one
# has a path or query parameter (e.g. `GET /api/v1/users`, `PUT .../V4/AccessToken/{accessTokenId}`),
# or answers something other than JSON (`HEAD /api/v1/authorize`), or reads the request itself.
DIRECT = {
    ("POST", "/integration/v1/createRefreshToken/"),
    ("POST", "/integration/v1/validateRefreshToken/"),
    ("POST", "/integration/v1/regenRefreshToken/"),
    ("POST", "/integration/v1/createAPIAccessToken/"),
    ("POST", "/integration/v1/validateAPIAccessToken/"),
    ("POST", "/integration/v1/revokeAPIAccessTokens/"),
    ("GET", "/integration/v1/userinfo/"),
    ("GET", "/commandcenter/api/"),
    ("POST", "/commandcenter/api/Login"),
    ("POST", "/commandcenter/api/RenewLoginToken"),
    ("POST", "/commandcenter/api/Logout"),
    ("POST", "/commandcenter/api/WhoAmI"),
    ("GET", "/commandcenter/api/WhoAmI"),
    ("POST", "/commandcenter/api/V4/AccessToken"),
    ("POST", "/commandcenter/api/V4/AccessToken/Renew"),
    ("POST", "/commandcenter/api/v4/accesstoken"),
    ("POST", "/commandcenter/api/v4/accesstoken/renew"),
    ("POST", "/gateway/api/v1/auth/login"),
    ("POST", "/gateway/api/v1/platform/tenants"),
    ("POST", "/gateway/api/v1/workflow/trigger"),
    ("GET", "/api/v1/whoami"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/settings"),
    ("PATCH", "/api/v1/settings"),
    ("POST", "/api/v1/credentials/revoke"),
    ("POST", "/api/v1/webhooks"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}

BODIES: list[dict[str, Any]] = [
    {},
    {"content": b"{", "headers": {"Content-Type": "application/json"}},
    {"content": b"", "headers": {"Content-Type": "application/json"}},
    {"content": b"   ", "headers": {"Content-Type": "application/json"}},
    {"json": {}},
    {"json": []},
    {"json": None},
    {"json": {"unexpected": 1}},
    {"json": {"user_id": True, "api_access_token": 5}},
    {"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
    {"content": b'{"a": NaN}', "headers": {"Content-Type": "application/json"}},
    {"content": b'{"a": 1e999}', "headers": {"Content-Type": "application/json"}},
    {"content": b"x", "headers": {"Content-Type": "text/plain"}},
    {"content": b"{}", "headers": {"Content-Type": "application/json; charset=latin-1"}},
]


@pytest.fixture(params=[False, True], ids=["responses-unchecked", "responses-validated"])
def pair(request, settings, clock) -> Iterator[tuple[TestClient, TestClient, TokensmithApp]]:
    chosen = dataclasses.replace(settings, validate_responses=request.param)
    fast = create_app(chosen, clock=clock, migrate=False, middleware=CORS)
    chain = create_app(
        chosen, clock=clock, core=fast.core, migrate=False, direct_dispatch=False, middleware=CORS
    )
    with (
        TestClient(fast, raise_server_exceptions=False) as a,
        TestClient(chain, raise_server_exceptions=False) as b,
    ):
        yield a, b, fast
    fast.core.db.dispose()


@pytest.fixture
def taken(monkeypatch) -> list[str]:
    """The operations direct dispatch ran (as opposed to handing on to Connexion)."""
    ran: list[str] = []
    original = direct._run

    async def counting(operation, *args):
        ran.append(operation.operation_id)
        await original(operation, *args)

    monkeypatch.setattr(direct, "_run", counting)
    return ran


def reply(response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(k, v) for k, v in response.headers.raw if k != b"x-request-id"]
    return response.status_code, headers, response.content


def assert_same(pair, method: str, path: str, **kwargs: Any) -> Any:
    """The same request (from `ORIGIN`, unless it names another) to both apps: the same reply."""
    fast, chain, _app = pair
    kwargs = {**kwargs, "headers": {"Origin": ORIGIN, **kwargs.get("headers", {})}}
    answer = fast.request(method, path, **kwargs)
    assert reply(answer) == reply(chain.request(method, path, **kwargs)), (method, path, kwargs)
    return answer


@pytest.fixture
def credentials(pair, make_user) -> dict[str, dict[str, str]]:
    """Good credentials for each API's base path, made through the direct app."""
    fast = pair[0]
    make_user("alice")
    make_user("root", role="superadmin")
    refresh = refresh_token(fast)
    token = access_token(fast, refresh)["api_access_token"]
    superadmin = gateway_login(fast).json()["resultData"]["accessToken"]
    return {
        "/integration/v1": {"TOKEN": token},
        "/api/v1": {"TOKEN": token},
        "/commandcenter/api": session(fast),
        "/gateway/api/v1": {"Authorization": f"Bearer {superadmin}"},
        "": {},
    }


def test_exactly_the_known_operations_are_served_directly(pair):
    fast, chain, app = pair
    assert set(app.direct.operations) == DIRECT
    assert chain.app.direct.operations == {}


def test_every_direct_operation_refuses_bad_requests_as_connexion_does(pair, credentials):
    app = pair[2]
    for (method, path), operation in app.direct.operations.items():
        if operation.operation_id.endswith(("login", "create_refresh_token", "logout")):
            continue  # throttled password checks and ending a session: see the tests below
        if path == "/metrics":
            continue  # each app counts its own requests
        for auth in (
            {},
            {"TOKEN": "tsa_bogus", "Authorization": "Bearer nope"},
            credentials[operation.base_path],
        ):
            for body in BODIES:
                headers = {**auth, **body.get("headers", {})}
                assert_same(pair, method, path, **{**body, "headers": headers})


def test_logins_refuse_malformed_bodies_as_connexion_does(pair, credentials):
    for path in (
        "/integration/v1/createRefreshToken/",
        "/commandcenter/api/Login",
        "/gateway/api/v1/auth/login",
    ):
        for body in BODIES:
            assert_same(pair, "POST", path, **body)


def test_logging_out_answers_the_same_bytes(pair, credentials, taken):
    fast, chain, _app = pair
    one, other = session(fast), session(fast)
    answer = fast.post("/commandcenter/api/Logout", headers={**one, "Origin": ORIGIN})
    assert reply(answer) == reply(
        chain.post("/commandcenter/api/Logout", headers={**other, "Origin": ORIGIN})
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert_same(pair, "POST", "/commandcenter/api/Logout", headers=one)  # now unknown, both ways
    assert taken.count("logout") == 2


def test_validating_tokens_answers_the_same_bytes_and_takes_the_direct_path(pair, credentials, taken):
    fast = pair[0]
    refresh = refresh_token(fast, name="second")
    access = access_token(fast, refresh)
    for user_id in (refresh["user_id"], str(refresh["user_id"]), refresh["user_id"] + 1):
        body = {"api_access_token": access["api_access_token"], "user_id": user_id}
        assert_same(pair, "POST", f"{BASE}/validateAPIAccessToken/", json=body)
        body = {"refresh_token": refresh["refresh_token"], "user_id": user_id}
        assert_same(pair, "POST", f"{BASE}/validateRefreshToken/", json=body)
    for content_type in (
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json;charset=UTF-8",
    ):
        body = b'{"api_access_token": "%s", "user_id": %d}' % (
            access["api_access_token"].encode(),
            access["user_id"],
        )
        assert_same(
            pair,
            "POST",
            f"{BASE}/validateAPIAccessToken/",
            content=body,
            headers={"Content-Type": content_type},
        )
    assert taken.count("validateAPIAccessToken") == 6
    assert taken.count("validateRefreshToken") == 3


def test_token_authenticated_reads_answer_the_same_bytes(pair, credentials, taken):
    reads = [
        ("GET", f"{BASE}/userinfo/", credentials["/integration/v1"]),
        ("GET", "/api/v1/whoami", credentials["/api/v1"]),
        ("GET", "/api/v1/whoami", {"Authorization": f"Bearer {credentials['/api/v1']['TOKEN']}"}),
        ("GET", "/commandcenter/api/WhoAmI", credentials["/commandcenter/api"]),
        ("POST", "/commandcenter/api/WhoAmI", credentials["/commandcenter/api"]),
        ("GET", "/commandcenter/api/", {}),
        ("GET", "/healthz", {}),
        ("GET", "/readyz", {}),
    ]
    for method, path, headers in reads:
        assert assert_same(pair, method, path, headers=headers).status_code == 200, path
    assert len(taken) == len(reads)


def test_issuing_a_token_directly_gives_the_same_shape(pair, credentials, taken):
    fast, chain, _app = pair
    refresh = refresh_token(fast, name="issuer")
    body = {"refresh_token": refresh["refresh_token"], "user_id": refresh["user_id"]}
    one = fast.post(f"{BASE}/createAPIAccessToken/", json=body, headers={"Origin": ORIGIN})
    other = chain.post(f"{BASE}/createAPIAccessToken/", json=body, headers={"Origin": ORIGIN})
    assert one.status_code == other.status_code == 200
    assert [k for k, _ in reply(one)[1]] == [k for k, _ in reply(other)[1]]
    assert one.json().keys() == other.json().keys()
    assert one.json()["api_access_token"] != other.json()["api_access_token"]
    assert "createAPIAccessToken" in taken


def test_a_reply_that_breaks_its_schema_is_the_same_500_both_ways(pair, credentials, monkeypatch):
    fast, _chain, app = pair
    access = access_token(fast, refresh_token(fast, name="broken"))
    monkeypatch.setattr(integration_wire, "access_token", lambda *args: {"unexpected": "shape"})
    body = {"api_access_token": access["api_access_token"], "user_id": access["user_id"]}
    answer = assert_same(pair, "POST", f"{BASE}/validateAPIAccessToken/", json=body)
    assert answer.status_code == (500 if app.settings.validate_responses else 200)


def test_cors_preflights_are_answered_alike_on_direct_and_connexion_operations(pair, taken):
    for path in (f"{BASE}/validateAPIAccessToken/", "/api/v1/users", "/api/v1/users/1"):
        for origin in (ORIGIN, "https://elsewhere.example"):
            headers = {
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, token",
            }
            answer = assert_same(pair, "OPTIONS", path, headers=headers)
            allowed = answer.headers.get("access-control-allow-origin")
            assert (answer.status_code, allowed) == ((200, ORIGIN) if origin == ORIGIN else (400, None))
            assert "x-request-id" in answer.headers
    assert taken == []  # the middleware answered; no operation ran


def test_cors_headers_reach_replies_from_both_paths_alike(pair, credentials, taken):
    fast = pair[0]
    access = access_token(fast, refresh_token(fast, name="cors"))
    token = credentials["/api/v1"]
    taken.clear()
    requests = [
        (
            "POST",
            f"{BASE}/validateAPIAccessToken/",
            {"json": {"api_access_token": access["api_access_token"], "user_id": access["user_id"]}},
        ),
        ("GET", "/api/v1/whoami", {"headers": token}),
        ("GET", "/api/v1/users", {"headers": token}),  # a query parameter: Connexion serves it
        ("GET", f"/api/v1/users/{access['user_id']}", {"headers": token}),
        ("GET", "/api/v1/nowhere", {}),  # no operation at all
    ]
    for method, path, options in requests:
        answer = assert_same(pair, method, path, **options)
        assert answer.headers["access-control-allow-origin"] == ORIGIN, path
        assert answer.headers["access-control-expose-headers"] == "X-Request-Id", path
    assert taken == ["validateAPIAccessToken", "whoAmI"]
