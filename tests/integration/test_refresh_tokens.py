"""createRefreshToken, validateRefreshToken, regenRefreshToken: the refresh token's life."""

import re
from datetime import timedelta

from tests.conftest import PASSWORD
from tests.integration.helpers import BASE, access_token, call, create_refresh, refresh_token

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
REFRESH_FIELDS = {
    "refresh_token",
    "user_id",
    "created_at",
    "name",
    "token_expires_at",
    "token_status",
    "last_used_at",
}


def test_create_returns_exactly_the_reference_fields(client, alice):
    body = refresh_token(client)
    assert set(body) == REFRESH_FIELDS
    assert body["user_id"] == alice.id and body["name"] == "agent"
    assert body["token_status"] == "ACTIVE" and body["last_used_at"] is None
    assert TIME.match(body["created_at"]) and TIME.match(body["token_expires_at"])


def test_refresh_token_lives_sixty_days_by_default(client, alice, clock):
    body = refresh_token(client)
    assert body["created_at"] == clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert body["token_expires_at"] == (clock.now() + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_create_accepts_form_and_multipart_bodies(client, alice):
    form = client.post(
        f"{BASE}/createRefreshToken/", data={"username": "alice", "password": PASSWORD, "name": "form"}
    )
    multipart = client.post(
        f"{BASE}/createRefreshToken/",
        files={"username": (None, "alice"), "password": (None, PASSWORD), "name": (None, "multi")},
    )
    assert form.status_code == 200 and form.json()["name"] == "form"
    assert multipart.status_code == 200 and multipart.json()["name"] == "multi"


def test_wrong_password_and_unknown_user_get_the_same_reply(client, alice):
    wrong = create_refresh(client, password="not the password")
    unknown = create_refresh(client, username="mallory")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Invalid username or password.", "code": "401000"}


def test_disabled_user_cannot_create_a_refresh_token(client, make_user, core):
    from tokensmith.models import User

    user = make_user("carol")
    with core.db.write() as session:
        session.get(User, user.id).disabled = True
    assert create_refresh(client, username="carol").json()["code"] == "401000"


def test_sso_user_is_told_to_use_the_user_interface(client, make_user):
    make_user("sam", password=None, auth_source="sso")
    response = create_refresh(client, username="sam", password="anything")
    assert response.status_code == 403
    assert "SSO" in response.json()["detail"] and response.json()["code"] == "403000"


def test_missing_fields_are_reported_per_field(client):
    response = client.post(f"{BASE}/createRefreshToken/", json={"username": "alice"})
    assert response.status_code == 400
    assert response.json() == {"password": ["This field is required."], "name": ["This field is required."]}


def test_validate_echoes_the_token_and_reports_active(client, alice):
    created = refresh_token(client)
    response = call(
        client, "validateRefreshToken", refresh_token=created["refresh_token"], user_id=str(alice.id)
    )
    assert response.status_code == 200
    assert response.json() == created


def test_validate_of_an_expired_token_answers_expired(client, alice, clock):
    created = refresh_token(client)
    clock.advance(days=60)
    response = call(client, "validateRefreshToken", refresh_token=created["refresh_token"], user_id=alice.id)
    assert response.status_code == 200 and response.json()["token_status"] == "EXPIRED"


def test_validate_of_another_users_token_is_401(client, alice, make_user):
    created = refresh_token(client)
    bob = make_user("bob")
    response = call(client, "validateRefreshToken", refresh_token=created["refresh_token"], user_id=bob.id)
    assert response.status_code == 401
    assert response.json() == {"detail": "Refresh token provided is invalid.", "code": "401000"}


def test_validate_of_a_made_up_token_is_401(client, alice):
    response = call(client, "validateRefreshToken", refresh_token="tsr_" + "a" * 50, user_id=alice.id)
    assert response.status_code == 401 and response.json()["code"] == "401000"


def test_regenerate_keeps_the_name_and_starts_a_fresh_lifespan(client, alice, clock):
    old = refresh_token(client, name="nightly")
    clock.advance(days=59)
    response = call(client, "regenRefreshToken", refresh_token=old["refresh_token"], user_id=alice.id)
    new = response.json()
    assert response.status_code == 200 and new["name"] == "nightly"
    assert new["refresh_token"] != old["refresh_token"] and new["token_status"] == "ACTIVE"
    assert new["token_expires_at"] == (clock.now() + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_regenerate_revokes_the_old_token_and_its_access_tokens(client, alice):
    old = refresh_token(client)
    access = access_token(client, old)
    call(client, "regenRefreshToken", refresh_token=old["refresh_token"], user_id=alice.id)
    refresh_state = call(client, "validateRefreshToken", refresh_token=old["refresh_token"], user_id=alice.id)
    access_state = call(
        client, "validateAPIAccessToken", api_access_token=access["api_access_token"], user_id=alice.id
    )
    assert refresh_state.json()["token_status"] == "REVOKED"
    assert access_state.json()["token_status"] == "REVOKED"


def test_regenerate_works_on_an_expired_token(client, alice, clock):
    old = refresh_token(client)
    clock.advance(days=61)
    response = call(client, "regenRefreshToken", refresh_token=old["refresh_token"], user_id=alice.id)
    assert response.status_code == 200 and response.json()["token_status"] == "ACTIVE"


def test_regenerate_of_a_revoked_token_is_refused(client, alice):
    old = refresh_token(client)
    call(client, "regenRefreshToken", refresh_token=old["refresh_token"], user_id=alice.id)
    again = call(client, "regenRefreshToken", refresh_token=old["refresh_token"], user_id=alice.id)
    assert again.status_code == 401
    assert again.json() == {"detail": "Refresh token provided is invalid.", "code": "401000"}


def test_last_used_at_is_set_when_the_refresh_token_mints_an_access_token(client, alice, clock):
    created = refresh_token(client)
    access_token(client, created)
    body = call(
        client, "validateRefreshToken", refresh_token=created["refresh_token"], user_id=alice.id
    ).json()
    assert body["last_used_at"] == clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
