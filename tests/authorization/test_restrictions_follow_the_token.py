"""A restricted credential's restrictions follow everything derived from it, in every dialect; a refresh
token is redeemed only by the dialect that issued it."""

from starlette.testclient import TestClient

from tests.commandcenter.helpers import BASE, bearer, created, listed, renew, session, who_am_i
from tests.integration.helpers import call


def test_a_custom_chains_refresh_token_mints_nothing_at_the_integration_api(client, alice):
    info = created(client, session(client), tokenType=3, apiEndpoints=["/WhoAmI"])
    minted = call(client, "createAPIAccessToken", refresh_token=info["refreshToken"], user_id=alice.id)
    assert minted.status_code == 401 and "api_access_token" not in minted.text


def test_a_custom_chains_refresh_token_cannot_be_regenerated_into_a_long_lived_one(client, alice):
    headers = session(client)
    info = created(client, headers, tokenType=3, apiEndpoints=["/WhoAmI"])
    regenerated = call(client, "regenRefreshToken", refresh_token=info["refreshToken"], user_id=alice.id)
    assert regenerated.status_code == 401
    assert [t["accessTokenId"] for t in listed(client, headers)] == [info["accessTokenId"]]
    assert renew(client, info["accessToken"], info["refreshToken"]).json()["error"]["errorCode"] == 0


def test_a_renewed_custom_pair_stays_limited_to_its_endpoints(client, alice):
    info = created(client, session(client), tokenType=3, apiEndpoints=["/WhoAmI"])
    renewed = renew(client, info["accessToken"], info["refreshToken"]).json()
    token = bearer(renewed["accessToken"])
    assert who_am_i(client, token).status_code == 200
    assert client.get(f"{BASE}/V4/AccessToken", headers=token).status_code == 403
    assert client.get("/api/v1/whoami", headers=token).status_code == 403


def test_a_pair_limited_to_addresses_renews_only_from_them(app, client, alice):
    info = created(client, session(client), allowedIPs=["10.1.0.0/16"])
    outside = TestClient(app, client=("10.2.0.1", 5000))
    refused = outside.post(
        f"{BASE}/V4/AccessToken/Renew",
        json={"accessToken": info["accessToken"], "refreshToken": info["refreshToken"]},
    )
    assert refused.status_code == 403
    inside = TestClient(app, client=("10.1.2.3", 5000))
    renewed = inside.post(
        f"{BASE}/V4/AccessToken/Renew",
        json={"accessToken": info["accessToken"], "refreshToken": info["refreshToken"]},
    ).json()
    assert who_am_i(inside, bearer(renewed["accessToken"])).status_code == 200
    assert who_am_i(outside, bearer(renewed["accessToken"])).status_code == 403


def test_a_commandcenter_access_token_is_not_an_integration_one_to_validate(client, alice):
    info = created(client, session(client), tokenType=3, apiEndpoints=["/WhoAmI"])
    validated = call(client, "validateAPIAccessToken", api_access_token=info["accessToken"], user_id=alice.id)
    assert validated.status_code == 401
