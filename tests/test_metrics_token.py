"""/metrics behind a scrape token (TOKENSMITH_METRICS_TOKEN): open when none is set; otherwise only a
request presenting `Authorization: Bearer <token>` reads it, and anyone else gets the ops API's 401."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from handlers.app import create_app

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def guarded(settings, clock):
    app = create_app(dataclasses.replace(settings, metrics_token=TOKEN), clock=clock, migrate=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.core.db.dispose()


def test_metrics_are_open_when_no_token_is_set(client):
    response = client.get("/metrics")
    assert response.status_code == 200 and "tokensmith_http_requests" in response.text


@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Basic {TOKEN}", "Bearer", "Bearer wrong-token", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
)
def test_metrics_without_the_token_are_401_in_the_ops_error_format(guarded, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = guarded.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401 and "TOKENSMITH_METRICS_TOKEN" in body["detail"]
    assert TOKEN not in response.text and "tokensmith_http_requests" not in response.text


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}", f"bearer  {TOKEN} "])
def test_metrics_with_the_token_are_served(guarded, authorization):
    response = guarded.get("/metrics", headers={"Authorization": authorization})
    assert response.status_code == 200 and "tokensmith_http_requests" in response.text


def test_the_token_guards_only_metrics(guarded):
    assert guarded.get("/healthz").status_code == 200 and guarded.get("/readyz").status_code == 200


def test_the_metrics_token_is_read_from_the_environment_and_never_shown():
    from tokensmith.config import Settings

    settings = Settings.from_env({"TOKENSMITH_SECRET_KEY": "k" * 32, "TOKENSMITH_METRICS_TOKEN": TOKEN})
    assert settings.metrics_token == TOKEN and TOKEN not in repr(settings)
