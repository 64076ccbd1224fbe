"""createAPIAccessToken, validateAPIAccessToken, revokeAPIAccessTokens, and the TOKEN header."""

from datetime import timedelta

from tests.integration.helpers import access_token, call, refresh_token

ACCESS_FIELDS = {"api_access_token", "user_id", "created_at", "token_expires_at", "token_status"}


def test_access_token_has_exactly_the_reference_fields_and_lives_24_hours(client, alice, clock):
    body = access_token(client, refresh_token(client))
    assert set(body) == ACCESS_FIELDS and body["token_status"] == "ACTIVE" and body["user_id"] == alice.id
    assert body["token_expires_at"] == (clock.now() + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_user_id_as_digit_string_is_accepted_and_answered_as_integer(client, alice):
    refresh = refresh_token(client)
    response = call(
        client, "createAPIAccessToken", refresh_token=refresh["refresh_token"], user_id=str(alice.id)
    )
    assert response.status_code == 200 and response.json()["user_id"] == alice.id


def test_user_id_null_is_a_field_error(client, alice):
    response = call(client, "validateAPIAccessToken", api_access_token="x", user_id=None)
    assert response.status_code == 400
    assert response.json() == {"user_id": ["This field may not be null."]}


def test_user_id_that_is_not_a_number_is_a_field_error(client):
    response = call(client, "validateAPIAccessToken", api_access_token="x", user_id="seven")
    assert response.status_code == 400 and list(response.json()) == ["user_id"]


def test_expired_refresh_token_cannot_mint_access_tokens(client, alice, clock):
    refresh = refresh_token(client)
    clock.advance(days=60, seconds=1)
    response = call(client, "createAPIAccessToken", refresh_token=refresh["refresh_token"], user_id=alice.id)
    assert response.status_code == 401
    assert response.json() == {"detail": "Refresh token provided is invalid.", "code": "401000"}


def test_validate_access_token_echoes_it_and_reports_expired_after_a_day(client, alice, clock):
    access = access_token(client, refresh_token(client))
    clock.advance(hours=24)
    response = call(
        client, "validateAPIAccessToken", api_access_token=access["api_access_token"], user_id=alice.id
    )
    assert response.status_code == 200
    assert response.json() == {**access, "token_status": "EXPIRED"}


def test_unknown_access_token_is_401_with_the_access_message(client, alice):
    response = call(client, "validateAPIAccessToken", api_access_token="garbage", user_id=alice.id)
    assert response.status_code == 401
    assert response.json() == {"detail": "API Access Token provided is invalid.", "code": "401000"}


def test_a_refresh_token_is_not_an_access_token(client, alice):
    refresh = refresh_token(client)
    response = call(
        client, "validateAPIAccessToken", api_access_token=refresh["refresh_token"], user_id=alice.id
    )
    assert response.status_code == 401


def test_revoke_revokes_every_active_access_token_of_that_refresh_token_only(client, alice):
    refresh, other = refresh_token(client, name="one"), refresh_token(client, name="two")
    first, second = access_token(client, refresh), access_token(client, refresh)
    untouched = access_token(client, other)
    response = call(client, "revokeAPIAccessTokens", refresh_token=refresh["refresh_token"], user_id=alice.id)
    assert response.status_code == 200
    assert response.json()["detail"].startswith("Revoked active access tokens for refresh token: 'one'")

    def status(token):
        return call(
            client, "validateAPIAccessToken", api_access_token=token["api_access_token"], user_id=alice.id
        ).json()["token_status"]

    assert (status(first), status(second), status(untouched)) == ("REVOKED", "REVOKED", "ACTIVE")
    still = call(client, "validateRefreshToken", refresh_token=refresh["refresh_token"], user_id=alice.id)
    assert still.json()["token_status"] == "ACTIVE"


def test_revoke_with_another_users_refresh_token_is_401(client, alice, make_user):
    refresh = refresh_token(client)
    bob = make_user("bob")
    response = call(client, "revokeAPIAccessTokens", refresh_token=refresh["refresh_token"], user_id=bob.id)
    assert response.status_code == 401


def test_whoami_with_the_token_header_returns_the_caller(client, alice):
    access = access_token(client, refresh_token(client))
    for header in ("TOKEN", "Token", "token"):
        response = client.get("/api/v1/whoami", headers={header: access["api_access_token"]})
        assert response.status_code == 200
        assert response.json()["username"] == "alice" and response.json()["user_id"] == alice.id
        assert response.json()["token"]["public_id"] == access["api_access_token"][:16]


def test_whoami_refuses_revoked_expired_and_missing_tokens(client, alice, clock):
    refresh = refresh_token(client)
    revoked, expiring = access_token(client, refresh), None
    call(client, "revokeAPIAccessTokens", refresh_token=refresh["refresh_token"], user_id=alice.id)
    expiring = access_token(client, refresh)
    clock.advance(hours=25)
    for headers in ({"TOKEN": revoked["api_access_token"]}, {"TOKEN": expiring["api_access_token"]}, {}):
        response = client.get("/api/v1/whoami", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


def test_userinfo_returns_the_caller_in_alations_shape(client, alice):
    access = access_token(client, refresh_token(client))
    response = client.get("/integration/v1/userinfo/", headers={"Token": access["api_access_token"]})
    assert response.status_code == 200
    assert response.json()["id"] == alice.id and response.json()["username"] == "alice"


def test_using_the_token_records_last_use_at_most_once_a_minute(client, alice, clock, core):
    from tokensmith.models import Credential

    access = access_token(client, refresh_token(client))
    public_id = access["api_access_token"][:16]

    def last_used():
        with core.db.read() as session:
            return session.query(Credential).filter_by(public_id=public_id).one().last_used_at

    first_use = clock.now()
    client.get("/api/v1/whoami", headers={"TOKEN": access["api_access_token"]})
    clock.advance(seconds=30)
    client.get("/api/v1/whoami", headers={"TOKEN": access["api_access_token"]})
    assert last_used() == first_use
    clock.advance(seconds=31)
    client.get("/api/v1/whoami", headers={"TOKEN": access["api_access_token"]})
    assert last_used() == clock.now()
