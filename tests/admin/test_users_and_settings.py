"""Users and runtime settings over HTTP: admin only, the CLI's validation, disabling kills tokens."""

import pytest

from tests.admin.helpers import headers_for, token_for
from tests.conftest import PASSWORD


@pytest.fixture
def admin(client, make_user):
    make_user("root", role="admin")
    return headers_for(client, "root")


def test_admin_creates_lists_and_gets_users(client, admin):
    created = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "erin", "password": "a-long-password", "email": "e@x.org"},
    )
    assert created.status_code == 201 and created.json()["username"] == "erin"
    listed = client.get("/api/v1/users", headers=admin).json()
    assert {"root", "erin"} <= {u["username"] for u in listed["items"]}
    one = client.get(f"/api/v1/users/{created.json()['id']}", headers=admin)
    assert one.json()["email"] == "e@x.org" and "password" not in one.text


def test_users_list_pages_with_a_cursor(client, admin, make_user):
    for name in ("u1", "u2", "u3"):
        make_user(name)
    first = client.get("/api/v1/users?limit=2", headers=admin).json()
    second = client.get(f"/api/v1/users?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    names = [u["username"] for u in first["items"] + second["items"]]
    assert len(names) == 4 and len(set(names)) == 4 and second["next_cursor"] is None


def test_a_non_admin_cannot_manage_users(client, alice):
    headers = headers_for(client, "alice")
    response = client.post(
        "/api/v1/users", headers=headers, json={"username": "x", "password": "a-long-password"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"/api/v1/users/{alice.id}", headers=headers).status_code == 200


def test_disabling_a_user_stops_their_tokens_at_once(client, admin, alice):
    token = token_for(client, "alice")
    assert client.get("/api/v1/whoami", headers={"TOKEN": token}).status_code == 200
    response = client.patch(f"/api/v1/users/{alice.id}", headers=admin, json={"disabled": True})
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert client.get("/api/v1/whoami", headers={"TOKEN": token}).status_code == 401
    client.patch(f"/api/v1/users/{alice.id}", headers=admin, json={"disabled": False})
    assert client.get("/api/v1/whoami", headers={"TOKEN": token}).status_code == 401  # not brought back


def test_setting_a_role_and_resetting_a_password(client, admin, alice):
    assert (
        client.patch(f"/api/v1/users/{alice.id}", headers=admin, json={"role": "admin"}).json()["role"]
        == "admin"
    )
    reset = client.put(
        f"/api/v1/users/{alice.id}/password", headers=admin, json={"password": "another-password"}
    )
    assert reset.status_code == 200
    login = client.post(
        "/integration/v1/createRefreshToken/", json={"username": "alice", "password": PASSWORD, "name": "x"}
    )
    assert login.status_code == 401


def test_unknown_user_is_404(client, admin):
    assert client.get("/api/v1/users/999999", headers=admin).status_code == 404


def test_settings_are_read_and_changed_with_the_clis_rules(client, admin):
    listed = client.get("/api/v1/settings", headers=admin).json()["items"]
    assert {s["key"] for s in listed} >= {".authentication.token.access_token_lifespan"}
    key = ".authentication.token.access_token_lifespan"
    changed = client.patch(
        "/api/v1/settings", headers=admin, json={key: 2, ".feature_flags.enable_swagger": True}
    )
    assert changed.status_code == 200
    assert {s["key"]: s["value"] for s in changed.json()["items"]}[key] == 2
    assert client.get(f"/api/v1/settings/{key}", headers=admin).json()["value"] == 2
    for nonsense in (0, -1, "ten", True):
        refused = client.patch("/api/v1/settings", headers=admin, json={key: nonsense})
        assert refused.status_code == 400 and "errors" in refused.json()
    assert client.get(f"/api/v1/settings/{key}", headers=admin).json()["value"] == 2


def test_a_refused_value_changes_nothing(client, admin):
    key = ".authentication.token.access_token_lifespan"
    refused = client.patch("/api/v1/settings", headers=admin, json={key: 5, ".gateway.issuer": "   "})
    assert refused.status_code == 400
    assert client.get(f"/api/v1/settings/{key}", headers=admin).json()["value"] == 24


def test_unknown_setting_is_404(client, admin):
    assert client.get("/api/v1/settings/.nope", headers=admin).status_code == 404
    assert client.patch("/api/v1/settings", headers=admin, json={".nope": 1}).status_code == 400


def test_a_local_user_needs_a_password_and_an_sso_user_none(client, admin):
    assert client.post("/api/v1/users", headers=admin, json={"username": "nopass"}).status_code == 400
    sso = client.post("/api/v1/users", headers=admin, json={"username": "sam", "auth_source": "sso"})
    assert sso.status_code == 201 and sso.json()["auth_source"] == "sso"


def test_an_sso_user_with_a_password_is_refused_not_stored_without_it(client, admin):
    """The spec's two shapes (NewLocalUser, NewSsoUser) say an SSO user has no password here: one sent
    anyway is a 400, where it used to be dropped without a word."""
    body = {"username": "sid", "auth_source": "sso", "password": "a-long-sso-password"}
    refused = client.post("/api/v1/users", headers=admin, json=body)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    local = client.post("/api/v1/users", headers=admin, json={**body, "auth_source": "local"})
    assert local.status_code == 201


def test_settings_need_the_admin_role(client, alice):
    assert client.get("/api/v1/settings", headers=headers_for(client, "alice")).status_code == 403
