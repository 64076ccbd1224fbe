"""Who may see which subscriptions, and which events a subscription receives: the credentials' rule,
applied to the subscription's owner as they stand when the event is fanned out."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.admin.helpers import headers_for
from tests.gateway.conftest import BASE as GATEWAY
from tests.gateway.conftest import bearer
from tests.integration.helpers import refresh_token
from tests.webhooks.conftest import BASE, subscribe
from tokensmith import jobs, policy
from tokensmith.models import Webhook

HOOK = "https://hooks.example.com/tokensmith"


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def root(make_user):
    return make_user("root", role="admin")


def _fanned_out_to(core) -> dict[str, set[str]]:
    """Run the jobs due, then say which subscription got messages about which credentials."""
    jobs.run_due(core)
    with core.db.read() as session:
        rows = session.execute(
            sa.text(
                "SELECT w.public_id, j.payload FROM webhook_deliveries d"
                " JOIN webhooks w ON w.id = d.webhook_id"
                " JOIN jobs j ON j.key = 'webhook.deliver:' || d.message_id WHERE d.attempt = 1"
            )
        ).all()
    fanned: dict[str, set[str]] = {}
    for public_id, payload in rows:
        body = json.loads((payload if isinstance(payload, dict) else json.loads(payload))["body"])
        fanned.setdefault(public_id, set()).add(body["data"]["publicId"])
    return fanned


def test_a_user_sees_and_deletes_only_their_own_subscriptions(client, alice, bob, root):
    alice_headers, bob_headers = headers_for(client, "alice"), headers_for(client, "bob")
    mine = subscribe(client, alice_headers, HOOK, ["token.revoked"])
    theirs = subscribe(client, bob_headers, HOOK, ["token.revoked"])
    assert [h["id"] for h in client.get(BASE, headers=alice_headers).json()["items"]] == [mine["id"]]
    for method in ("GET", "DELETE"):
        assert client.request(method, f"{BASE}/{theirs['id']}", headers=alice_headers).status_code == 404
    assert client.get(f"{BASE}/{theirs['id']}/deliveries", headers=alice_headers).status_code == 404
    admin = headers_for(client, "root")
    assert {h["id"] for h in client.get(BASE, headers=admin).json()["items"]} == {mine["id"], theirs["id"]}
    assert client.delete(f"{BASE}/{theirs['id']}", headers=admin).status_code == 204
    assert client.get(f"{BASE}/{theirs['id']}", headers=bob_headers).status_code == 404


def test_a_user_receives_events_about_their_own_tokens_only_and_an_admin_about_all(
    client, core, alice, bob, root
):
    alice_hook = subscribe(client, headers_for(client, "alice"), HOOK, ["token.revoked"])
    root_hook = subscribe(client, headers_for(client, "root"), HOOK, ["token.revoked"])
    alices = refresh_token(client, "alice", name="a")["refresh_token"][:16]
    bobs = refresh_token(client, "bob", name="b")["refresh_token"][:16]
    admin = headers_for(client, "root")
    for public_id in (alices, bobs):
        assert client.post(f"/api/v1/credentials/{public_id}/revoke", headers=admin).status_code == 200
    fanned = _fanned_out_to(core)
    assert fanned[alice_hook["id"]] == {alices}
    assert fanned[root_hook["id"]] == {alices, bobs}


def test_an_owner_disabled_or_demoted_receives_accordingly(client, core, alice, bob, root, make_user):
    root_hook = subscribe(client, headers_for(client, "root"), HOOK, ["token.revoked"])
    alice_hook = subscribe(client, headers_for(client, "alice"), HOOK, ["token.revoked"])
    superadmin = make_user("sam", role="superadmin")
    sam = headers_for(client, "sam")
    assert client.patch(f"/api/v1/users/{root.id}", json={"role": "user"}, headers=sam).status_code == 200
    assert client.patch(f"/api/v1/users/{alice.id}", json={"disabled": True}, headers=sam).status_code == 200
    bobs = refresh_token(client, "bob", name="b")["refresh_token"][:16]
    assert client.post(f"/api/v1/credentials/{bobs}/revoke", headers=sam).status_code == 200
    fanned = _fanned_out_to(core)
    assert root_hook["id"] not in fanned  # no longer an admin: bob's tokens are not root's to see
    assert alice_hook["id"] not in fanned  # disabled: alice's own revoked tokens are not sent to her either
    assert superadmin.id


def test_a_tenant_token_subscribes_to_its_own_tenants_tokens_only(
    client, core, make_tenant, superadmin_token
):
    one, two = make_tenant("tenant1"), make_tenant("tenant2")
    one_hook = subscribe(client, bearer(one["tenantAccessToken"]), HOOK, ["tenant.token.regenerated"])
    listing = client.get(BASE, headers=bearer(one["tenantAccessToken"])).json()["items"]
    assert [h["id"] for h in listing] == [one_hook["id"]] and listing[0]["owner"]["tenant"] == one[
        "tenantExternalId"
    ]
    assert client.get(BASE, headers=bearer(two["tenantAccessToken"])).json()["items"] == []
    for tenant in (one, two):
        response = client.get(
            f"{GATEWAY}/platform/apiaccesskeys/generate",
            params={"tenantExternalId": tenant["tenantExternalId"]},
            headers=bearer(superadmin_token),
        )
        assert response.status_code == 200
    fanned = _fanned_out_to(core)
    assert len(fanned[one_hook["id"]]) == 1
    with core.db.read() as session:
        tenant_one_tokens = set(
            session.scalars(
                sa.text(
                    "SELECT c.public_id FROM credentials c JOIN tenants t ON t.id = c.tenant_id"
                    " WHERE t.external_id = :e"
                ),
                {"e": one["tenantExternalId"]},
            )
        )
    assert fanned[one_hook["id"]] <= tenant_one_tokens


def test_no_owner_is_never_every_owner(core):
    with pytest.raises(IntegrityError), core.db.write() as session:
        session.add(
            Webhook(
                public_id="wh_orphan",
                url=HOOK,
                events=["token.revoked"],
                secret_sealed="x",
                created_at=core.clock.now(),
            )
        )
    assert policy.standing_owner(None, None) is None
