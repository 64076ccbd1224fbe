"""Seeded commandcenter access tokens are V4 entries: the demo data set's examples edit, renew and
delete them (`tokensmith demo`, the testing API's seed), so they must behave like created ones."""

from __future__ import annotations

from handlers import testing_seed
from tests.commandcenter.helpers import BASE, listed, renew, session, who_am_i
from tokensmith import crypto


def _seed_pair(core) -> tuple[str, str]:
    refresh = crypto.mint("refresh", core.key).value
    access = crypto.mint("access", core.key).value
    testing_seed.seed(
        core,
        {
            "tokens": [
                {"user": "alice", "value": refresh, "dialect": "commandcenter", "name": "seeded"},
                {"user": "alice", "parent": refresh, "value": access, "dialect": "commandcenter"},
            ]
        },
    )
    return access, refresh


def test_a_seeded_pair_is_listed_as_a_renewable_entry(client, core, alice):
    _seed_pair(core)
    [entry] = listed(client, session(client))
    assert entry["tokenType"] == "ALL" and entry["tokenName"] == "seeded"
    assert entry["renewableUntilTimestamp"] > 0


def test_a_seeded_pair_renews_and_the_old_pair_stops_working(client, core, alice):
    access, refresh = _seed_pair(core)
    renewed = renew(client, access, refresh).json()
    assert renewed["error"]["errorCode"] == 0
    assert who_am_i(client, {"Authorization": f"Bearer {renewed['accessToken']}"}).status_code == 200
    assert who_am_i(client, {"Authorization": f"Bearer {access}"}).status_code == 401


def test_a_seeded_token_is_edited_and_deleted_by_its_entry_id(client, core, alice):
    access, _refresh = _seed_pair(core)
    headers = session(client)
    [entry] = listed(client, headers)
    edited = client.put(
        f"{BASE}/V4/AccessToken/{entry['accessTokenId']}", headers=headers, json={"tokenName": "renamed"}
    )
    assert edited.status_code == 200 and edited.json()["tokenInfo"]["tokenName"] == "renamed"
    deleted = client.delete(f"{BASE}/V4/AccessToken/{entry['accessTokenId']}", headers=headers)
    assert deleted.status_code == 200
    assert who_am_i(client, {"Authorization": f"Bearer {access}"}).status_code == 401
    assert listed(client, headers) == []


def test_a_lone_seeded_access_token_is_an_entry_too(client, core, alice):
    access = crypto.mint("access", core.key).value
    testing_seed.seed(core, {"tokens": [{"user": "alice", "value": access, "dialect": "commandcenter"}]})
    headers = session(client)
    [entry] = listed(client, headers)
    assert (
        client.delete(f"{BASE}/V4/AccessToken/{entry['accessTokenId']}", headers=headers).status_code == 200
    )
