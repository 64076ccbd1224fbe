"""The audit log over HTTP, and forward authentication for nginx and Traefik."""

import pytest

from tests.admin.helpers import headers_for, token_for
from tests.integration.helpers import call, create_refresh, refresh_token


@pytest.fixture
def admin(client, make_user):
    make_user("root", role="admin")
    return headers_for(client, "root")


def test_admin_reads_and_filters_the_audit_log(client, alice, admin):
    create_refresh(client, password="wrong-password")
    failed = client.get("/api/v1/audit?action=login.failed", headers=admin).json()["items"]
    assert len(failed) == 1 and failed[0]["target"] == f"user:{alice.id}"
    assert "wrong-password" not in str(failed)
    issued = client.get("/api/v1/audit?action=access.issue", headers=admin).json()["items"]
    assert issued and all(event["action"] == "access.issue" for event in issued)


def test_a_user_sees_only_what_they_did(client, alice, make_user):
    make_user("bob")
    headers_for(client, "bob")
    alice_view = client.get("/api/v1/audit", headers=headers_for(client, "alice")).json()["items"]
    assert alice_view and {event["actor"] for event in alice_view} == {f"user:{alice.id}"}


def test_audit_log_pages(client, alice, admin):
    for _ in range(3):
        refresh_token(client)
    first = client.get("/api/v1/audit?limit=2", headers=admin).json()
    second = client.get(f"/api/v1/audit?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    assert first["items"][-1]["id"] > second["items"][0]["id"]


def test_forward_auth_allows_a_good_token_and_names_the_caller(client, alice):
    token = token_for(client, "alice")
    for headers in ({"TOKEN": token}, {"Authorization": f"Bearer {token}"}, {"Authtoken": f"Bearer {token}"}):
        response = client.get(
            "/api/v1/authorize",
            headers={**headers, "X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/app/orders?id=1"},
        )
        assert response.status_code == 200
        assert (
            response.headers["X-Auth-User"] == "alice" and response.headers["X-Auth-Token-Id"] == token[:16]
        )


def test_forward_auth_refuses_no_token_and_bad_tokens_with_401(client, alice):
    assert client.get("/api/v1/authorize", headers={"X-Original-URI": "/x"}).status_code == 401
    bad = client.get("/api/v1/authorize", headers={"Authorization": "Bearer tsa_nope"})
    assert bad.status_code == 401


def test_forward_auth_refuses_a_revoked_token_at_once(client, alice):
    refresh = refresh_token(client)
    from tests.integration.helpers import access_token

    token = access_token(client, refresh)["api_access_token"]
    assert client.get("/api/v1/authorize", headers={"TOKEN": token}).status_code == 200
    call(client, "revokeAPIAccessTokens", refresh_token=refresh["refresh_token"], user_id=alice.id)
    assert client.get("/api/v1/authorize", headers={"TOKEN": token}).status_code == 401


def test_bearer_and_authtoken_headers_authenticate_the_native_api(client, alice):
    token = token_for(client, "alice")
    assert client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/whoami", headers={"Authtoken": token}).status_code == 200


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
def test_forward_auth_answers_whatever_method_the_proxy_forwards(client, alice, method):
    token = token_for(client, "alice")
    allowed = client.request(method, "/api/v1/authorize", headers={"TOKEN": token})
    refused = client.request(method, "/api/v1/authorize")
    assert (allowed.status_code, refused.status_code) == (200, 401)
    assert allowed.headers["X-Auth-Token-Id"] == token[:16]
