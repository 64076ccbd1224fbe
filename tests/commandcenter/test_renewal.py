"""Renewing V4 access tokens: rotation, windows, replay detection (the whole chain dies), races."""

from __future__ import annotations

from sqlalchemy import select

from tests.commandcenter.helpers import BASE, bearer, created, listed, renew, session, who_am_i
from tokensmith.models import AuditEvent

DAY = 24 * 3600


def test_renew_needs_no_auth_header_and_returns_the_new_pair_at_the_top_level(client, clock, alice):
    info = created(client, session(client))
    clock.advance(minutes=10)
    response = renew(client, info["accessToken"], info["refreshToken"])
    body = response.json()
    assert response.status_code == 200 and body["error"]["errorCode"] == 0
    assert body["accessToken"].startswith("tsa_") and body["refreshToken"].startswith("tsr_")
    assert body["accessToken"] != info["accessToken"] and body["refreshToken"] != info["refreshToken"]
    assert body["accessTokenId"] == info["accessTokenId"]
    assert body["tokenExpiryTimestamp"] == int(clock.now().timestamp()) + 30 * 60
    assert body["renewableUntilTimestamp"] == info["renewableUntilTimestamp"]


def test_renewal_invalidates_the_old_pair_and_the_new_one_works(client, clock, alice):
    info = created(client, session(client))
    new = renew(client, info["accessToken"], info["refreshToken"]).json()
    assert who_am_i(client, bearer(info["accessToken"])).status_code == 401
    assert who_am_i(client, bearer(new["accessToken"])).status_code == 200


def test_the_entry_keeps_its_id_and_name_across_renewals(client, alice):
    headers = session(client)
    info = created(client, headers, tokenName="nightly")
    renew(client, info["accessToken"], info["refreshToken"])
    tokens = listed(client, headers)
    assert [(t["accessTokenId"], t["tokenName"]) for t in tokens] == [(info["accessTokenId"], "nightly")]


def test_custom_scope_survives_renewal(client, alice):
    info = created(client, session(client), tokenType=3, apiEndpoints=["/V4/User"])
    new = renew(client, info["accessToken"], info["refreshToken"]).json()
    assert who_am_i(client, bearer(new["accessToken"])).status_code == 403
    assert client.get(f"{BASE}/V4/User", headers=bearer(new["accessToken"])).status_code == 200


def test_renewal_works_up_to_14_days_after_the_access_token_expired(client, clock, alice):
    info = created(client, session(client))
    clock.advance(minutes=30, days=13, hours=23)
    assert renew(client, info["accessToken"], info["refreshToken"]).json()["error"]["errorCode"] == 0


def test_renewal_is_refused_more_than_14_days_after_expiry(client, clock, alice):
    info = created(client, session(client))
    clock.advance(minutes=31, days=14)
    response = renew(client, info["accessToken"], info["refreshToken"])
    assert response.status_code == 200
    assert response.json()["errorCode"] == 7 and "accessToken" not in response.json()


def test_renewal_is_refused_past_renewable_until(client, clock, alice):
    until = int(clock.now().timestamp()) + DAY
    info = created(client, session(client), renewableUntilTimestamp=until)
    for _ in range(4):  # renew every six hours until the day is over
        clock.advance(hours=6)
        pair = renew(client, info["accessToken"], info["refreshToken"]).json()
        if pair.get("errorCode"):
            break
        info = pair
        assert info["tokenExpiryTimestamp"] <= until
    assert pair["errorCode"] == 7 and "renewable-until" in pair["errorMessage"]


def test_the_access_token_never_outlives_renewable_until(client, clock, alice):
    until = int(clock.now().timestamp()) + 600
    info = created(client, session(client), renewableUntilTimestamp=until)
    assert info["tokenExpiryTimestamp"] == until and info["refreshTokenExpiryTimestamp"] == until


def test_fixed_types_cannot_be_renewed(client, alice):
    info = created(client, session(client), tokenType=1)
    response = renew(client, info["accessToken"], "tsr_000000000000000000000000000000000000000000000000")
    assert response.status_code == 200 and response.json()["errorCode"] == 7


def test_a_mismatched_pair_is_refused(client, alice):
    headers = session(client)
    one, two = created(client, headers), created(client, headers)
    response = renew(client, one["accessToken"], two["refreshToken"])
    assert response.json()["errorCode"] == 7
    assert who_am_i(client, bearer(one["accessToken"])).status_code == 200


def test_garbage_is_refused_without_a_500(client):
    response = renew(client, "x" * 1024, "")
    assert response.status_code == 200 and response.json()["errorCode"] == 7


def test_missing_field_is_400(client):
    response = client.post(f"{BASE}/V4/AccessToken/Renew", json={"accessToken": "x"})
    assert response.status_code == 400 and response.json()["errorMessage"].startswith("refreshToken")


def test_replaying_an_old_pair_revokes_the_whole_chain(client, clock, alice):
    headers = session(client)
    first = created(client, headers)
    second = renew(client, first["accessToken"], first["refreshToken"]).json()
    third = renew(client, second["accessToken"], second["refreshToken"]).json()
    clock.advance(seconds=1)
    response = renew(client, first["accessToken"], first["refreshToken"])
    assert response.status_code == 200 and response.json()["errorCode"] == 7
    assert "every token of this chain has been revoked" in response.json()["errorMessage"]
    assert who_am_i(client, bearer(third["accessToken"])).status_code == 401
    assert renew(client, third["accessToken"], third["refreshToken"]).json()["errorCode"] == 7
    assert listed(client, headers) == []


def test_replaying_the_previous_pair_is_enough(client, clock, alice):
    first = created(client, session(client))
    second = renew(client, first["accessToken"], first["refreshToken"]).json()
    clock.advance(seconds=1)
    renew(client, first["accessToken"], first["refreshToken"])
    assert who_am_i(client, bearer(second["accessToken"])).status_code == 401


def test_a_replay_is_audited(client, core, clock, alice):
    first = created(client, session(client))
    renew(client, first["accessToken"], first["refreshToken"])
    clock.advance(seconds=1)
    renew(client, first["accessToken"], first["refreshToken"])
    with core.db.read() as db:
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "scoped_token.replay"))
    assert event is not None and event.actor == f"user:{alice.id}" and event.detail["revoked"] == 2
    assert first["refreshToken"] not in str(event.detail) and first["accessToken"] not in str(event.detail)


def test_other_chains_survive_a_replay(client, clock, alice):
    headers = session(client)
    victim, bystander = created(client, headers), created(client, headers)
    renew(client, victim["accessToken"], victim["refreshToken"])
    clock.advance(seconds=1)
    renew(client, victim["accessToken"], victim["refreshToken"])
    assert who_am_i(client, bearer(bystander["accessToken"])).status_code == 200


def test_renew_answers_on_the_lower_case_path(client, alice):
    info = created(client, session(client))
    response = client.post(
        f"{BASE}/v4/accesstoken/renew",
        json={"accessToken": info["accessToken"], "refreshToken": info["refreshToken"]},
    )
    assert response.json()["error"]["errorCode"] == 0


# Racing renewals: tests/commandcenter/test_renewal_races.py (real clock, every racer begun first).
