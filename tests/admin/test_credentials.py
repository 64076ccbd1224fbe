"""The token inventory, cascading revocation, RFC 7662 introspection, RFC 7009 revocation, leak reports."""

import pytest

from tests.admin.helpers import headers_for
from tests.integration.helpers import access_token, call, refresh_token


@pytest.fixture
def admin(client, make_user):
    make_user("root", role="admin")
    return headers_for(client, "root")


def test_inventory_never_shows_a_secret(client, alice):
    refresh = refresh_token(client)
    access = access_token(client, refresh)
    headers = {"TOKEN": access["api_access_token"]}
    listing = client.get("/api/v1/credentials", headers=headers)
    assert listing.status_code == 200
    assert refresh["refresh_token"] not in listing.text and access["api_access_token"] not in listing.text
    kinds = {c["kind"]: c for c in listing.json()["items"]}
    assert kinds["access"]["parent"] == kinds["refresh"]["public_id"]
    assert kinds["access"]["display_prefix"] == access["api_access_token"][:16]


def test_owners_see_only_their_own_tokens_and_admins_see_all(client, alice, make_user, admin):
    make_user("bob")
    bob = headers_for(client, "bob")
    alice_headers = headers_for(client, "alice")
    owners = {c["owner"]["username"] for c in client.get("/api/v1/credentials", headers=bob).json()["items"]}
    assert owners == {"bob"}
    everyone = {
        c["owner"]["username"] for c in client.get("/api/v1/credentials", headers=admin).json()["items"]
    }
    assert everyone == {"alice", "bob", "root"}
    bobs_token = client.get("/api/v1/credentials", headers=bob).json()["items"][0]["public_id"]
    assert client.get(f"/api/v1/credentials/{bobs_token}", headers=alice_headers).status_code == 404
    assert client.post(f"/api/v1/credentials/{bobs_token}/revoke", headers=alice_headers).status_code == 404


def test_inventory_filters_by_kind_status_owner_and_time(client, alice, admin, clock):
    refresh = refresh_token(client)
    access_token(client, refresh)
    clock.advance(hours=25)
    admin = headers_for(client, "root")  # the fixture's token has expired too
    by = lambda query: client.get(f"/api/v1/credentials?{query}", headers=admin).json()["items"]  # noqa: E731
    assert {c["kind"] for c in by("owner=alice&kind=access")} == {"access"}
    assert all(c["status"] == "expired" for c in by("owner=alice&status=expired"))
    assert len(by("owner=alice&status=expired")) == 1
    assert by("created_after=2100-01-01T00:00:00Z") == []


def test_inventory_pages_newest_first(client, alice):
    refresh = refresh_token(client)
    for _ in range(4):
        access_token(client, refresh)
    headers = headers_for(client, "alice")
    ids, cursor, pages = [], "", 0
    while cursor is not None:
        page = client.get(
            f"/api/v1/credentials?limit=3{'&cursor=' + cursor if cursor else ''}", headers=headers
        ).json()
        ids += [c["public_id"] for c in page["items"]]
        cursor, pages = page["next_cursor"], pages + 1
    assert pages == 3 and len(ids) == len(set(ids)) == 7
    assert ids[0].startswith("tsa_") and ids[-1].startswith("tsr_")  # newest first


def test_revoking_a_refresh_token_cascades_to_its_access_tokens(client, alice):
    refresh = refresh_token(client)
    minted = [access_token(client, refresh)["api_access_token"] for _ in range(3)]
    headers = headers_for(client, "alice")  # another refresh token: survives
    response = client.post(f"/api/v1/credentials/{refresh['refresh_token'][:16]}/revoke", headers=headers)
    assert response.status_code == 200 and response.json() == {"revoked": 4}
    for value in minted:
        assert (
            call(client, "validateAPIAccessToken", api_access_token=value, user_id=alice.id).json()[
                "token_status"
            ]
            == "REVOKED"
        )
    assert client.get("/api/v1/whoami", headers=headers).status_code == 200


def test_revoking_a_family_kills_the_whole_rotation_chain(client, alice, admin):
    old = refresh_token(client)
    new = call(client, "regenRefreshToken", refresh_token=old["refresh_token"], user_id=alice.id).json()
    live = access_token(client, new)
    view = client.get(f"/api/v1/credentials/{new['refresh_token'][:16]}", headers=admin).json()
    response = client.post(f"/api/v1/families/{view['family']}/revoke", headers=admin)
    assert response.json() == {"revoked": 2}
    assert client.get("/api/v1/whoami", headers={"TOKEN": live["api_access_token"]}).status_code == 401


def test_revoking_every_token_of_an_owner(client, alice, make_user, admin):
    make_user("bob")
    bob = headers_for(client, "bob")
    headers_for(client, "alice")
    response = client.post(f"/api/v1/users/{alice.id}/credentials/revoke", headers=admin)
    assert response.json() == {"revoked": 2}
    assert client.get("/api/v1/whoami", headers=bob).status_code == 200
    assert client.post(f"/api/v1/users/{alice.id}/credentials/revoke", headers=bob).status_code == 404


def test_introspection_reports_an_active_token_with_the_rfc_fields(client, alice, clock):
    target = access_token(client, refresh_token(client))["api_access_token"]
    headers = headers_for(client, "alice")
    body = client.post("/api/v1/oauth2/introspect", headers=headers, data={"token": target}).json()
    assert body["active"] is True and body["username"] == "alice" and body["token_type"] == "access"
    assert body["jti"] == target[:16] and body["exp"] - body["iat"] == 24 * 3600


@pytest.mark.parametrize("case", ["unknown", "malformed", "revoked", "expired", "foreign"])
def test_introspection_says_only_inactive_for_anything_else(client, alice, make_user, clock, case):
    refresh = refresh_token(client)
    target = access_token(client, refresh)["api_access_token"]
    make_user("bob")
    caller = headers_for(client, "bob" if case == "foreign" else "alice")
    if case == "unknown":
        target = "tsa_" + target[4:-6] + "AAAAAA"
    elif case == "malformed":
        target = "not a token"
    elif case == "revoked":
        call(client, "revokeAPIAccessTokens", refresh_token=refresh["refresh_token"], user_id=alice.id)
    elif case == "expired":
        clock.advance(hours=24)
        caller = {"TOKEN": access_token(client, refresh)["api_access_token"]}
    response = client.post("/api/v1/oauth2/introspect", headers=caller, data={"token": target})
    assert response.status_code == 200 and response.json() == {"active": False}


def test_oauth_revocation_answers_200_even_for_unknown_tokens(client, alice):
    headers = headers_for(client, "alice")
    target = access_token(client, refresh_token(client))["api_access_token"]
    assert client.post("/api/v1/oauth2/revoke", headers=headers, data={"token": "garbage"}).json() == {}
    assert client.post("/api/v1/oauth2/revoke", headers=headers, data={"token": target}).status_code == 200
    assert client.get("/api/v1/whoami", headers={"TOKEN": target}).status_code == 401


def test_oauth_revocation_cannot_touch_another_users_token(client, alice, make_user):
    target = access_token(client, refresh_token(client))["api_access_token"]
    make_user("bob")
    client.post("/api/v1/oauth2/revoke", headers=headers_for(client, "bob"), data={"token": target})
    assert client.get("/api/v1/whoami", headers={"TOKEN": target}).status_code == 200


def test_leak_report_needs_no_auth_revokes_live_tokens_and_audits_each(client, alice, core):
    from tokensmith.models import AuditEvent

    refresh = refresh_token(client)
    leaked = [access_token(client, refresh)["api_access_token"] for _ in range(2)]
    response = client.post("/api/v1/credentials/revoke", json={"credentials": leaked + ["junk", leaked[0]]})
    assert response.status_code == 200 and response.json() == {"revoked": 2}
    with core.db.read() as session:
        events = session.query(AuditEvent).filter_by(action="credential.leak_reported").all()
    assert sorted(e.target for e in events) == sorted(v[:16] for v in leaked)
    assert all(leaked[0] not in repr(e.detail) for e in events)


def test_leak_reports_are_rate_limited_per_address(client):
    replies = [client.post("/api/v1/credentials/revoke", json={"credentials": ["x"]}) for _ in range(11)]
    assert [r.status_code for r in replies[:10]] == [200] * 10
    assert replies[10].status_code == 429 and int(replies[10].headers["Retry-After"]) > 0


def test_leak_report_refuses_more_than_a_thousand_tokens(client):
    response = client.post("/api/v1/credentials/revoke", json={"credentials": ["x"] * 1001})
    assert response.status_code == 400


def test_huge_cursors_and_owner_ids_are_answered_not_crashed_on(client, alice):
    headers = headers_for(client, "alice")
    assert client.get("/api/v1/credentials?cursor=1720240667316", headers=headers).json()["items"]
    assert client.get("/api/v1/audit?cursor=999999999999999999", headers=headers).status_code == 200
    assert client.get("/api/v1/credentials?owner=99999999999", headers=headers).json()["items"] == []
