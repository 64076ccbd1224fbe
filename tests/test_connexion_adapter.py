"""The adapter steps aside, loudly, when Connexion is not the one it was written against.

Each test tampers with Connexion the way a new release or an unexpected layer would, builds the app,
and checks three things: a WARNING names what differs, no operation is served directly, and every
reply is byte for byte the reply of an untampered app serving everything through Connexion.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import connexion.spec
import pytest
from connexion.apps.asynchronous import AsyncApi
from connexion.exceptions import InvalidSpecification
from connexion.middleware.main import ConnexionMiddleware
from connexion.spec import OpenAPISpecification, Specification
from connexion.validators import AbstractRequestBodyValidator
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from handlers import connexion_adapter
from handlers.app import TokensmithApp, create_app
from tests.integration.helpers import BASE, access_token, refresh_token

ADAPTER = "handlers.connexion_adapter"


class Passing:
    """A middleware Connexion's stack does not have; it changes nothing, so replies must not change."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def reference(settings, clock) -> Iterator[TestClient]:
    """An untampered app with direct dispatch off: the replies a tampered app must give."""
    app = create_app(settings, clock=clock, migrate=False, direct_dispatch=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.core.db.dispose()


@pytest.fixture
def build(settings, clock, reference) -> Any:
    """Builds the app under test (after the test has tampered), on the reference app's database."""

    def make() -> tuple[TokensmithApp, TestClient]:
        app = create_app(settings, clock=clock, core=reference.app.core, migrate=False)
        return app, TestClient(app, raise_server_exceptions=False)

    return make


def reply(response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return (
        response.status_code,
        [h for h in response.headers.raw if h[0] != b"x-request-id"],
        response.content,
    )


def assert_served_like_connexion(client: TestClient, reference: TestClient, make_user) -> None:
    make_user("alice")
    access = access_token(reference, refresh_token(reference))
    body = {"api_access_token": access["api_access_token"], "user_id": access["user_id"]}
    requests = [
        ("POST", f"{BASE}/validateAPIAccessToken/", {"json": body}),
        ("POST", f"{BASE}/validateAPIAccessToken/", {"json": {"user_id": True}}),
        (
            "POST",
            f"{BASE}/validateAPIAccessToken/",
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
        ),
        ("GET", "/api/v1/whoami", {"headers": {"TOKEN": access["api_access_token"]}}),
        ("GET", "/api/v1/whoami", {}),
        ("GET", "/healthz", {}),
    ]
    for method, path, options in requests:
        answer = client.request(method, path, **options)
        assert reply(answer) == reply(reference.request(method, path, **options)), (method, path)
    assert client.post(f"{BASE}/validateAPIAccessToken/", json=body).json()["api_access_token"]


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ADAPTER and r.levelno == logging.WARNING]


def test_the_untampered_app_serves_directly_and_says_nothing(build, caplog):
    caplog.set_level(logging.INFO, logger=ADAPTER)
    app, _client = build()
    assert app.direct.operations
    assert app.connexion._middleware_app.api_cls is connexion_adapter.CachedApi
    assert warnings(caplog) == []


def test_an_unknown_middleware_in_connexions_list_turns_direct_dispatch_off(
    build, reference, make_user, caplog, monkeypatch
):
    stack = list(ConnexionMiddleware.default_middlewares)
    monkeypatch.setattr(ConnexionMiddleware, "default_middlewares", [*stack[:4], Passing, *stack[4:]])
    app, client = build()
    assert app.direct.operations == {}
    assert app.connexion._middleware_app.api_cls is AsyncApi  # stock Connexion, decorating per request
    (warning,) = warnings(caplog)
    assert "direct dispatch is OFF" in warning and "does not know: Passing" in warning
    assert_served_like_connexion(client, reference, make_user)


def test_an_unknown_layer_in_the_built_stack_turns_direct_dispatch_off(
    build, reference, make_user, caplog, monkeypatch
):
    original = ConnexionMiddleware._build_middleware_stack

    def with_extra_layer(self):
        app, stack = original(self)
        outer = Passing(app)
        return outer, [outer, *stack]

    monkeypatch.setattr(ConnexionMiddleware, "_build_middleware_stack", with_extra_layer)
    app, client = build()
    assert app.direct.operations == {}
    (warning,) = warnings(caplog)
    assert "the built middleware stack has middleware it does not know: Passing" in warning
    assert_served_like_connexion(client, reference, make_user)


def test_a_missing_layer_turns_direct_dispatch_off(build, reference, make_user, caplog, monkeypatch):
    stack = [
        m for m in ConnexionMiddleware.default_middlewares if m.__name__ != "ResponseValidationMiddleware"
    ]
    monkeypatch.setattr(ConnexionMiddleware, "default_middlewares", stack)
    app, client = build()
    assert app.direct.operations == {}
    (warning,) = warnings(caplog)
    assert "lacks ResponseValidationMiddleware" in warning
    assert_served_like_connexion(client, reference, make_user)


def test_an_unverified_connexion_version_turns_direct_dispatch_off(
    build, reference, make_user, caplog, monkeypatch
):
    monkeypatch.setattr(connexion_adapter, "VERIFIED_VERSIONS", frozenset({"3.2.0"}))
    app, client = build()
    assert app.direct.operations == {}
    assert app.connexion._middleware_app.api_cls is AsyncApi
    (warning,) = warnings(caplog)
    assert "connexion 3.3.0 is not a verified version" in warning
    assert_served_like_connexion(client, reference, make_user)


def test_a_changed_internal_signature_turns_direct_dispatch_off(build, caplog, monkeypatch):
    monkeypatch.setattr(
        connexion_adapter.AsyncOperation, "__init__", lambda self, fn, jsonifier, operation_id: None
    )
    app, _client = build()
    assert app.direct.operations == {}
    (warning,) = warnings(caplog)
    assert "AsyncOperation.__init__ changed its signature" in warning


def test_validator_hooks_that_are_no_longer_called_stop_the_build(settings, clock, monkeypatch):
    async def skipping(self, receive, *, scope):
        return receive, scope

    monkeypatch.setattr(AbstractRequestBodyValidator, "wrap_receive", skipping)
    with pytest.raises(RuntimeError, match="no longer calls the request body validator hooks"):
        create_app(settings, clock=clock, migrate=False)


def test_the_validator_hook_probe_passes_on_the_pinned_connexion():
    connexion_adapter.check_validator_hooks()


def test_a_missing_context_variable_turns_direct_dispatch_off(
    build, reference, make_user, caplog, monkeypatch
):
    monkeypatch.delattr(connexion_adapter.connexion_context, "_scope")
    app, client = build()
    assert app.direct.operations == {}
    (warning,) = warnings(caplog)
    assert "connexion.context._scope is not a ContextVar" in warning
    assert_served_like_connexion(client, reference, make_user)


def _spec(title: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1"},
        "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }


def test_a_spec_that_passed_is_not_validated_again_but_a_changed_one_is(app, monkeypatch):
    validators = []
    real = connexion.spec.create_spec_validator
    monkeypatch.setattr(
        connexion.spec, "create_spec_validator", lambda spec: validators.append(spec) or real(spec)
    )
    title = f"remembered {uuid.uuid4()}"  # a document this process has not seen
    OpenAPISpecification.from_dict(_spec(title))
    OpenAPISpecification.from_dict(_spec(title))
    assert len(validators) == 1
    OpenAPISpecification.from_dict(_spec(title + " changed"))
    assert len(validators) == 2


def test_an_invalid_spec_is_refused_every_time(app):
    invalid = _spec(f"invalid {uuid.uuid4()}")
    invalid["paths"]["/x"]["get"]["responses"]["200"] = {"no description": True}
    for _ in range(2):
        with pytest.raises(InvalidSpecification):
            OpenAPISpecification.from_dict(invalid)


def test_building_another_app_does_not_wrap_the_spec_check_again(app, settings, clock):
    wrapped = inspect.getattr_static(Specification, "_validate_spec")
    create_app(settings, clock=clock, core=app.core, migrate=False)
    assert inspect.getattr_static(Specification, "_validate_spec") is wrapped


def test_a_changed_spec_check_turns_direct_dispatch_off(build, caplog, monkeypatch):
    monkeypatch.setattr(Specification, "_validate_spec", classmethod(lambda cls, spec, strict=True: None))
    app, _client = build()
    assert app.direct.operations == {}
    (warning,) = warnings(caplog)
    assert "Specification._validate_spec is no longer a (cls, spec) class method" in warning
