"""Forward auth reads the original URI from one configured header only, and judges it normalised."""

import dataclasses

import pytest
from starlette.testclient import TestClient

from handlers.app import create_app
from tests.commandcenter.helpers import created, session

SCOPE = "/app/orders"


@pytest.fixture
def orders_token(client, alice):
    return created(client, session(client), tokenType=3, apiEndpoints=[SCOPE])["accessToken"]


def decide(client, token, uri, header="X-Forwarded-Uri"):
    return client.get("/api/v1/authorize", headers={"Authorization": f"Bearer {token}", header: uri})


@pytest.mark.parametrize(
    "uri",
    ["/app/orders", "/app/orders/17", "/app/orders?id=1", "/APP/Orders/17", "/app//orders", "/app/./orders"],
)
def test_a_scoped_token_passes_for_its_path_however_spelled(client, orders_token, uri):
    assert decide(client, orders_token, uri).status_code == 200


@pytest.mark.parametrize(
    "uri",
    [
        "/app/ordersX",
        "/app/orders/../admin",
        "/app/orders/%2e%2e/admin",
        "/app/orders%2F..%2Fadmin",
        "/app/orders%252F..%252Fadmin",
        "/app/orders/..;/admin",
        "/app/orders\\..\\admin",
        "/app/orders/../../../admin",
        "/app/orders%00/x/../../admin",
        "/admin",
        "/",
    ],
)
def test_a_scoped_token_is_refused_for_any_path_outside_it(client, orders_token, uri):
    assert decide(client, orders_token, uri).status_code == 403


def test_a_header_the_proxy_was_not_configured_with_is_ignored(client, orders_token):
    """A client adding `X-Original-URI` of its own picks nothing: only X-Forwarded-Uri is read."""
    response = client.get(
        "/api/v1/authorize",
        headers={"Authorization": f"Bearer {orders_token}", "X-Original-URI": SCOPE},
    )
    assert response.status_code == 403


def test_the_uri_header_sent_twice_is_refused(client, orders_token):
    response = client.get(
        "/api/v1/authorize",
        headers=[
            ("Authorization", f"Bearer {orders_token}"),
            ("X-Forwarded-Uri", SCOPE),
            ("X-Forwarded-Uri", "/admin"),
        ],
    )
    assert response.status_code == 400


def test_the_uri_header_is_a_setting(settings, clock, client, orders_token):
    nginx = create_app(dataclasses.replace(settings, forward_auth_uri_header="X-Original-URI"), clock=clock)
    with TestClient(nginx) as proxied:
        assert decide(proxied, orders_token, SCOPE, header="X-Original-URI").status_code == 200
        assert decide(proxied, orders_token, SCOPE, header="X-Forwarded-Uri").status_code == 403
    nginx.core.db.dispose()
