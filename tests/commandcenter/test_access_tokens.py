"""V4 AccessToken: create, list, edit and delete; types and their bounds; scopes; who may do what."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient

from handlers.app import create_app
from tests.commandcenter.helpers import BASE, bearer, create, created, listed, session, who_am_i
from tokensmith import runtime

DAY = 24 * 3600


def epoch(clock) -> int:
    return int(clock.now().timestamp())


# --- create ------------------------------------------------------------------------------------------


def test_create_all_returns_both_secrets_inside_tokeninfo_with_error_code_zero(client, clock, alice):
    response = create(client, session(client), tokenName="backup-job")
    body = response.json()
    info = body["tokenInfo"]
    assert response.status_code == 200
    assert body["error"] == {"errorMessage": "", "errorCode": 0} and info["error"]["errorCode"] == 0
    assert info["tokenName"] == "backup-job" and info["userId"] == alice.id and info["tokenType"] == "ALL"
    assert info["accessToken"].startswith("tsa_") and info["refreshToken"].startswith("tsr_")


def test_all_token_lives_30_minutes_renewable_for_90_days(client, clock, alice):
    info = created(client, session(client))
    now = epoch(clock)
    assert info["tokenExpiryTimestamp"] == now + 30 * 60
    assert info["renewableUntilTimestamp"] == now + 90 * DAY
    assert info["refreshTokenExpiryTimestamp"] == now + 30 * 60 + 14 * DAY


def test_the_access_token_lifespan_is_a_conf_key(client, core, clock, alice):
    with core.db.write() as db:
        runtime.set_value(db, ".commandcenter.access_token_lifespan", "120", clock.now())
    assert created(client, session(client))["tokenExpiryTimestamp"] == epoch(clock) + 120 * 60


TYPES_SENT_AND_SHOWN = [
    (0, "ALL"),
    ("DEFAULT", "ALL"),
    (1, "MS_SCIM"),
    (2, "ALL"),
    ("ALL", "ALL"),
    (3, "CUSTOM"),
    (4, "OneTouch"),
    ("OneTouch", "OneTouch"),
    (5, "Hyperscale"),
]


def test_token_type_takes_names_and_integers_and_is_returned_as_a_name(client, alice):
    headers = session(client)
    for sent, shown in TYPES_SENT_AND_SHOWN:
        endpoints = {"apiEndpoints": ["/WhoAmI"]} if shown == "CUSTOM" else {}
        assert created(client, headers, tokenType=sent, **endpoints)["tokenType"] == shown, sent


def test_ms_scim_lives_30_days_and_has_no_refresh_token(client, clock, alice):
    info = created(client, session(client), tokenType=1)
    assert info["tokenExpiryTimestamp"] == epoch(clock) + 30 * DAY
    assert "refreshToken" not in info and "renewableUntilTimestamp" not in info


def test_onetouch_lives_7_days_by_default(client, clock, alice):
    assert (
        created(client, session(client), tokenType="OneTouch")["tokenExpiryTimestamp"]
        == epoch(clock) + 7 * DAY
    )


def test_token_expiry_is_honoured_within_the_types_bounds(client, clock, alice):
    headers = session(client)
    assert created(client, headers, tokenType=1, tokenExpiryTimestamp=epoch(clock) + 365 * DAY)
    assert created(client, headers, tokenType=4, tokenExpiryTimestamp=epoch(clock) + 14 * DAY)


# (request fields, with times as offsets from now; the field the 400 must name)
REFUSED = [
    ({"tokenType": 1, "tokenExpiryTimestamp": 366 * DAY}, "tokenExpiryTimestamp"),
    ({"tokenType": 4, "tokenExpiryTimestamp": 15 * DAY}, "tokenExpiryTimestamp"),
    ({"tokenType": 4, "tokenExpiryTimestamp": -60}, "tokenExpiryTimestamp"),
    ({"tokenType": 2, "renewableUntilTimestamp": 366 * DAY}, "renewableUntilTimestamp"),
    ({"tokenType": 2, "renewableUntilTimestamp": -1}, "renewableUntilTimestamp"),
    ({"tokenType": 2, "tokenExpiryTimestamp": DAY}, "tokenExpiryTimestamp"),
    ({"tokenType": 1, "renewableUntilTimestamp": DAY}, "renewableUntilTimestamp"),
    ({"tokenType": 4, "renewableUntilTimestamp": DAY}, "renewableUntilTimestamp"),
    ({"tokenType": 2, "apiEndpoints": ["/WhoAmI"]}, "apiEndpoints"),
    ({"tokenType": 1, "apiEndpoints": ["/WhoAmI"]}, "apiEndpoints"),
    ({"tokenType": 3}, "apiEndpoints"),
    ({"tokenType": "EVERYTHING"}, "tokenType"),
    ({"tokenName": " "}, "tokenName"),
]


def test_a_field_that_does_not_apply_or_a_time_out_of_bounds_is_400_naming_it(client, clock, alice):
    headers = session(client)
    for fields, named in REFUSED:
        body = {k: epoch(clock) + v if k.endswith("Timestamp") else v for k, v in fields.items()}
        response = create(client, headers, **body)
        assert response.status_code == 400, fields
        assert response.json()["errorMessage"].startswith(f"{named}: "), fields
        assert response.json()["errorCode"] == 2
    assert listed(client, headers) == []


def test_a_time_in_the_past_is_refused(client, clock, alice):
    response = create(client, session(client), tokenType=1, tokenExpiryTimestamp=epoch(clock) - 1)
    assert response.status_code == 400
    assert response.json()["errorMessage"] == "tokenExpiryTimestamp: Must be in the future."


def test_an_endpoint_covering_every_path_is_refused_naming_the_field(client, alice):
    for everything in ("/", "//", "/./", " "):
        response = create(client, session(client), tokenType=3, apiEndpoints=["/WhoAmI", everything])
        assert response.status_code == 400, everything
        assert response.json()["errorMessage"].startswith("apiEndpoints: "), everything


def test_the_sdks_documented_custom_example_creates_is_enforced_and_edits(client, alice):
    """cvpysdk's own example names `/client`, which tokensmith does not serve: an entry is a path."""
    headers = session(client)
    info = created(client, headers, tokenType=3, apiEndpoints=["/client", "/v4/servergroup"])
    assert listed(client, headers)[0]["apiEndpoints"] == ["/client", "/v4/servergroup"]
    token = bearer(info["accessToken"])
    assert who_am_i(client, token).status_code == 403
    assert client.get(f"{BASE}/V4/AccessToken", headers=token).status_code == 403
    edited = edit(client, headers, info["accessTokenId"], tokenType=3, apiEndpoints=["/client", "/WhoAmI"])
    assert edited.status_code == 200
    assert listed(client, headers)[0]["apiEndpoints"] == ["/client", "/WhoAmI"]
    assert who_am_i(client, token).status_code == 200


def test_an_access_token_cannot_create_edit_or_delete_tokens(client, alice):
    info = created(client, session(client))
    headers = bearer(info["accessToken"])
    message = "You cannot create, edit, and delete an access token using another access token."
    for response in (
        create(client, headers),
        client.put(
            f"{BASE}/V4/AccessToken/{info['accessTokenId']}", headers=headers, json={"tokenName": "x"}
        ),
        client.delete(f"{BASE}/V4/AccessToken/{info['accessTokenId']}", headers=headers),
    ):
        assert response.status_code == 403 and response.json()["errorMessage"] == message


def test_nobody_creates_a_token_for_another_user_not_even_an_admin(client, make_user, alice):
    make_user("root", role="admin")
    response = create(client, session(client, "root"), userId=alice.id)
    assert response.status_code == 403
    assert response.json()["errorMessage"] == "You cannot create an access token for another user."


def test_own_user_id_in_the_create_body_is_fine(client, alice):
    assert created(client, session(client), userId=alice.id)["userId"] == alice.id


def test_create_answers_on_the_lower_case_path(client, alice):
    response = client.post(f"{BASE}/v4/accesstoken", headers=session(client), json={"tokenName": "lc"})
    assert response.status_code == 200 and response.json()["tokenInfo"]["tokenName"] == "lc"


# --- use ---------------------------------------------------------------------------------------------


def test_an_access_token_is_accepted_in_every_form_clients_send(client, alice):
    token = created(client, session(client))["accessToken"]
    for headers in (
        bearer(token),
        {"Authtoken": f"Bearer {token}"},
        {"Authtoken": token},
        {"Authtoken": f"QSDK {token}"},
    ):
        assert who_am_i(client, headers).status_code == 200, headers


def test_an_expired_access_token_is_401(client, clock, alice):
    token = created(client, session(client))["accessToken"]
    clock.advance(minutes=31)
    assert who_am_i(client, bearer(token)).json() == {"errorMessage": "Access denied", "errorCode": 5}


def test_custom_token_reaches_only_what_its_endpoints_cover(client, alice):
    token = created(client, session(client), tokenType=3, apiEndpoints=["/whoami"])["accessToken"]
    assert who_am_i(client, bearer(token)).status_code == 200
    refused = client.get(f"{BASE}/V4/AccessToken", headers=bearer(token))
    assert refused.status_code == 403 and refused.json()["errorCode"] == 5


def test_custom_token_is_refused_in_other_dialects_too(client, alice):
    token = created(client, session(client), tokenType=3, apiEndpoints=["/V4/User"])["accessToken"]
    assert client.get(f"{BASE}/V4/User", headers=bearer(token)).status_code == 200
    assert client.get("/integration/v1/userinfo/", headers={"TOKEN": token}).status_code == 403
    assert client.get("/api/v1/whoami", headers={"TOKEN": token}).status_code == 403


def test_custom_endpoint_may_name_another_dialects_full_path(client, alice):
    token = created(client, session(client), tokenType=3, apiEndpoints=["/integration/v1/userinfo"])[
        "accessToken"
    ]
    assert client.get("/integration/v1/userinfo/", headers={"TOKEN": token}).status_code == 200
    assert who_am_i(client, bearer(token)).status_code == 403


def test_custom_endpoints_see_through_double_slashes(client, alice):
    token = created(client, session(client), tokenType=3, apiEndpoints=["/V4/AccessToken"])["accessToken"]
    assert client.get(f"{BASE}//V4/AccessToken/", headers=bearer(token)).status_code == 200


def test_allowed_ips_limit_where_a_token_may_be_used(app, client, alice):
    token = created(client, session(client), allowedIPs=["10.1.0.0/16", "192.168.1.1-192.168.1.9"])[
        "accessToken"
    ]
    inside = TestClient(app, client=("10.1.2.3", 5000))
    ranged = TestClient(app, client=("192.168.1.5", 5000))
    outside = TestClient(app, client=("10.2.0.1", 5000))
    assert who_am_i(inside, bearer(token)).status_code == 200
    assert who_am_i(ranged, bearer(token)).status_code == 200
    refused = who_am_i(outside, bearer(token))
    assert (
        refused.status_code == 403
        and refused.json()["errorMessage"] == "This token may not be used from this address."
    )
    assert outside.get("/integration/v1/userinfo/", headers={"TOKEN": token}).status_code == 403


def test_an_allowed_ip_that_is_not_an_address_is_400_naming_it(client, alice):
    response = create(client, session(client), allowedIPs=["10.0.0.300"])
    assert response.status_code == 400 and response.json()["errorMessage"].startswith(
        "allowedIPs: '10.0.0.300'"
    )


# --- list --------------------------------------------------------------------------------------------


def test_list_shows_tokens_but_never_their_secrets(client, clock, alice):
    headers = session(client)
    info = created(client, headers, tokenName="one")
    tokens = listed(client, headers, userId=alice.id)
    assert [t["accessTokenId"] for t in tokens] == [info["accessTokenId"]]
    item = tokens[0]
    assert item["createdTime"] == epoch(clock) and item["tokenType"] == "ALL" and item["lastUsedTime"] == 0
    assert "accessToken" not in item and "refreshToken" not in item
    assert info["accessToken"] not in str(tokens) and info["refreshToken"] not in str(tokens)


def test_list_defaults_to_the_caller(client, alice):
    headers = session(client)
    created(client, headers)
    assert len(listed(client, headers)) == 1


def test_the_sdks_list_form_with_slash_and_double_slash_works(client, alice):
    headers = session(client)
    created(client, headers)
    for path in (f"{BASE}//V4/AccessToken/?userId={alice.id}", f"{BASE}/v4/accesstoken/?userId={alice.id}"):
        response = client.get(path, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 200 and len(response.json()["tokens"]) == 1


def test_last_used_time_is_kept_to_the_minute(client, clock, alice):
    headers = session(client)
    info = created(client, headers)
    clock.advance(minutes=2)
    who_am_i(client, bearer(info["accessToken"]))
    used = epoch(clock)
    clock.advance(seconds=20)
    who_am_i(client, bearer(info["accessToken"]))
    assert listed(client, headers)[0]["lastUsedTime"] == used


def test_a_user_cannot_list_another_users_tokens(client, make_user, alice):
    bob = make_user("bob")
    created(client, session(client, "bob"))
    response = client.get(f"{BASE}/V4/AccessToken", headers=session(client), params={"userId": bob.id})
    assert response.status_code == 403 and response.json()["errorCode"] == 5


def test_an_admin_lists_another_users_tokens(client, make_user, alice):
    make_user("root", role="admin")
    created(client, session(client), tokenName="alices")
    tokens = listed(client, session(client, "root"), userId=alice.id)
    assert [t["tokenName"] for t in tokens] == ["alices"]


def test_an_admin_of_another_tenant_cannot(client, core, make_user, alice):
    from tokensmith.models import Tenant

    with core.db.write() as db:
        tenant = Tenant(
            external_id="t-1", name="t", sub_domain="t", disabled=False, created_at=core.clock.now()
        )
        db.add(tenant)
        db.flush()
        tenant_id = tenant.id
    make_user("tenantadmin", role="admin", tenant_id=tenant_id)
    response = client.get(
        f"{BASE}/V4/AccessToken", headers=session(client, "tenantadmin"), params={"userId": alice.id}
    )
    assert response.status_code == 403


# --- edit --------------------------------------------------------------------------------------------


def edit(client, headers, token_id, **body):
    return client.put(f"{BASE}/V4/AccessToken/{token_id}", headers=headers, json=body)


def test_edit_renames_and_reports_with_error_code_zero(client, alice):
    headers = session(client)
    info = created(client, headers)
    response = edit(client, headers, info["accessTokenId"], tokenName="renamed")
    assert response.status_code == 200 and response.json()["error"]["errorCode"] == 0
    assert response.json()["tokenInfo"]["tokenName"] == "renamed"
    assert listed(client, headers)[0]["tokenName"] == "renamed"


def test_edit_to_custom_scopes_the_live_token_at_once(client, alice):
    headers = session(client)
    info = created(client, headers)
    response = edit(client, headers, info["accessTokenId"], tokenType=3, apiEndpoints=["/V4/AccessToken"])
    assert response.json()["tokenInfo"]["apiEndpoints"] == ["/V4/AccessToken"]
    assert who_am_i(client, bearer(info["accessToken"])).status_code == 403


def test_edit_to_custom_without_endpoints_is_400(client, alice):
    headers = session(client)
    info = created(client, headers)
    response = edit(client, headers, info["accessTokenId"], tokenType=3)
    assert response.status_code == 400 and response.json()["errorMessage"].startswith("apiEndpoints: ")


def test_edit_refuses_an_endpoint_with_dot_segments(client, alice):
    headers = session(client)
    info = created(client, headers, tokenType=3, apiEndpoints=["/WhoAmI"])
    response = edit(client, headers, info["accessTokenId"], tokenType=3, apiEndpoints=["/plan/../V4"])
    assert response.status_code == 400 and response.json()["errorMessage"].startswith("apiEndpoints: ")


def test_a_renewable_token_cannot_become_a_fixed_one(client, alice):
    headers = session(client)
    info = created(client, headers)
    response = edit(client, headers, info["accessTokenId"], tokenType=1)
    assert response.status_code == 400 and response.json()["errorMessage"].startswith("tokenType: ")


def test_edit_moves_renewable_until_within_365_days_of_creation(client, clock, alice):
    info = created(client, session(client))
    clock.advance(days=10)
    headers = session(client)
    ok = edit(client, headers, info["accessTokenId"], renewableUntilTimestamp=epoch(clock) + 355 * DAY)
    assert (
        ok.status_code == 200
        and ok.json()["tokenInfo"]["renewableUntilTimestamp"] == epoch(clock) + 355 * DAY
    )
    too_late = edit(client, headers, info["accessTokenId"], renewableUntilTimestamp=epoch(clock) + 356 * DAY)
    assert too_late.status_code == 400 and too_late.json()["errorMessage"].startswith(
        "renewableUntilTimestamp: "
    )


def test_edit_extends_a_scim_token_within_its_bounds(client, clock, alice):
    headers = session(client)
    info = created(client, headers, tokenType=1)
    response = edit(client, headers, info["accessTokenId"], tokenExpiryTimestamp=epoch(clock) + 200 * DAY)
    assert response.json()["tokenInfo"]["tokenExpiryTimestamp"] == epoch(clock) + 200 * DAY
    refused = edit(client, headers, info["accessTokenId"], renewableUntilTimestamp=epoch(clock) + DAY)
    assert refused.status_code == 400 and refused.json()["errorMessage"].startswith(
        "renewableUntilTimestamp: "
    )


def test_changing_scim_to_onetouch_must_fit_the_new_bounds(client, clock, alice):
    headers = session(client)
    info = created(client, headers, tokenType=1)
    response = edit(client, headers, info["accessTokenId"], tokenType=4)
    assert response.status_code == 400 and response.json()["errorMessage"].startswith(
        "tokenExpiryTimestamp: "
    )
    moved = edit(client, headers, info["accessTokenId"], tokenType=4, tokenExpiryTimestamp=epoch(clock) + DAY)
    assert moved.json()["tokenInfo"]["tokenType"] == "OneTouch"


def test_edit_with_a_different_body_id_is_400(client, alice):
    headers = session(client)
    info = created(client, headers)
    response = edit(
        client, headers, info["accessTokenId"], accessTokenId=info["accessTokenId"] + 1, tokenName="x"
    )
    assert response.status_code == 400 and response.json()["errorMessage"].startswith("accessTokenId: ")


def test_someone_elses_token_is_not_found_for_a_non_admin(client, make_user, alice):
    make_user("bob")
    info = created(client, session(client))
    bob = session(client, "bob")
    assert edit(client, bob, info["accessTokenId"], tokenName="mine").status_code == 404
    assert client.delete(f"{BASE}/V4/AccessToken/{info['accessTokenId']}", headers=bob).status_code == 404


def test_an_admin_edits_and_deletes_another_users_token(client, make_user, alice):
    make_user("root", role="admin")
    info = created(client, session(client))
    root = session(client, "root")
    assert edit(client, root, info["accessTokenId"], tokenName="by-admin").status_code == 200
    assert client.delete(f"{BASE}/V4/AccessToken/{info['accessTokenId']}", headers=root).status_code == 200
    assert who_am_i(client, bearer(info["accessToken"])).status_code == 401


def test_edit_answers_on_the_lower_case_path(client, alice):
    headers = session(client)
    info = created(client, headers)
    response = client.put(
        f"{BASE}/v4/accesstoken/{info['accessTokenId']}", headers=headers, json={"tokenName": "lc"}
    )
    assert response.status_code == 200 and response.json()["tokenInfo"]["tokenName"] == "lc"


# --- delete ------------------------------------------------------------------------------------------


def test_delete_answers_200_with_error_code_zero_and_the_token_stops_working(client, alice):
    headers = session(client)
    info = created(client, headers)
    response = client.delete(f"{BASE}//V4/AccessToken/{info['accessTokenId']}", headers=headers)
    assert response.status_code == 200 and response.json() == {"errorMessage": "", "errorCode": 0}
    assert who_am_i(client, bearer(info["accessToken"])).status_code == 401
    assert listed(client, headers) == []


def test_delete_is_seen_at_once_by_another_instance(settings, clock, client, alice):
    headers = session(client)
    info = created(client, headers)
    other = create_app(settings, clock=clock, migrate=False)
    try:
        with TestClient(other) as second:
            assert who_am_i(second, bearer(info["accessToken"])).status_code == 200
            client.delete(f"{BASE}/V4/AccessToken/{info['accessTokenId']}", headers=headers)
            assert who_am_i(second, bearer(info["accessToken"])).status_code == 401
    finally:
        other.core.db.dispose()


def test_deleting_an_unknown_or_deleted_token_is_404(client, alice):
    headers = session(client)
    info = created(client, headers)
    assert client.delete(f"{BASE}/v4/accesstoken/{info['accessTokenId']}", headers=headers).status_code == 200
    again = client.delete(f"{BASE}/V4/AccessToken/{info['accessTokenId']}", headers=headers)
    assert again.status_code == 404 and again.json()["errorCode"] != 0
    assert client.delete(f"{BASE}/V4/AccessToken/999999", headers=headers).status_code == 404


def test_deleting_revokes_the_refresh_token_too(client, alice):
    headers = session(client)
    info = created(client, headers)
    client.delete(f"{BASE}/V4/AccessToken/{info['accessTokenId']}", headers=headers)
    response = client.post(
        f"{BASE}/V4/AccessToken/Renew",
        json={"accessToken": info["accessToken"], "refreshToken": info["refreshToken"]},
    )
    assert response.json()["errorCode"] == 7


def test_a_token_expires_with_the_clock_not_a_cache(client, clock, alice):
    info = created(client, session(client), tokenType=4, tokenExpiryTimestamp=epoch(clock) + DAY)
    assert who_am_i(client, bearer(info["accessToken"])).status_code == 200
    clock.advance(timedelta(days=1))
    assert who_am_i(client, bearer(info["accessToken"])).status_code == 401
