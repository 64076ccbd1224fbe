"""Each event type is recorded by the change that causes it, in the same transaction: a change that is
rolled back records nothing, and a payload never holds a secret or a hash."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.admin.helpers import headers_for
from tests.commandcenter.helpers import created, renew, session
from tests.gateway.conftest import BASE as GATEWAY
from tests.gateway.conftest import bearer
from tests.integration.helpers import access_token, call, refresh_token
from tests.webhooks.conftest import queued_events, subscribe
from tokensmith import audit, inventory
from tokensmith.models import Credential
from tokensmith.webhooks.events import EVENT_TYPES

HOOK = "https://hooks.example.com/tokensmith"


@pytest.fixture
def everything(client, alice_headers):
    """Alice subscribed to every event type."""
    return subscribe(client, alice_headers, HOOK, list(EVENT_TYPES))


def _secrets_and_hashes(core) -> list[str]:
    with core.db.engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.text("SELECT secret_hash FROM credentials"))]


def test_a_revoke_records_one_token_revoked_per_revoked_credential(client, core, alice, everything, clock):
    refresh = refresh_token(client)
    minted = [access_token(client, refresh)["api_access_token"] for _ in range(2)]
    headers = {"TOKEN": access_token(client, refresh_token(client, name="other"))["api_access_token"]}
    response = client.post(f"/api/v1/credentials/{refresh['refresh_token'][:16]}/revoke", headers=headers)
    assert response.json() == {"revoked": 3}
    revoked = queued_events(core, "token.revoked")
    assert sorted(e["data"]["publicId"] for e in revoked) == sorted(
        [refresh["refresh_token"][:16], *(value[:16] for value in minted)]
    )
    first = next(e for e in revoked if e["data"]["publicId"] == refresh["refresh_token"][:16])
    assert first["timestamp"] == clock.now().isoformat(timespec="microseconds").replace("+00:00", "Z")
    data = first["data"]
    assert data["kind"] == "refresh" and data["dialect"] == "integration" and data["name"] == "agent"
    assert data["owner"] == {"type": "user", "id": alice.id, "username": "alice", "tenant": None}
    assert data["reason"] == "revoked by request" and data["revokedAt"] == first["timestamp"]
    assert data["createdAt"] and data["expiresAt"]
    text = str(revoked)
    for secret in [refresh["refresh_token"], *minted, *_secrets_and_hashes(core)]:
        assert secret not in text


def test_a_revoke_that_is_rolled_back_records_nothing(client, core, alice, everything, monkeypatch):
    refresh = refresh_token(client)
    real = audit.record

    def failing(session, at, action, **kwargs):
        if action == "credential.revoke":
            raise RuntimeError("the database went away after the revoke")
        return real(session, at, action, **kwargs)

    monkeypatch.setattr(audit, "record", failing)
    viewer = _principal(core, alice)
    with pytest.raises(RuntimeError):
        inventory.revoke_credential(core, viewer, refresh["refresh_token"][:16])
    assert queued_events(core) == []
    with core.db.read() as db:
        assert (
            db.scalar(
                sa.select(Credential.revoked_at).where(Credential.public_id == refresh["refresh_token"][:16])
            )
            is None
        )


def _principal(core, user):
    from tokensmith.auth import Principal

    return Principal(0, "", "access", "integration", user.id, user.username, user.role, user.tenant_id)


def test_nothing_is_recorded_while_nobody_subscribes(client, core, alice):
    refresh = refresh_token(client)
    call(client, "revokeAPIAccessTokens", refresh_token=refresh["refresh_token"], user_id=alice.id)
    headers = headers_for(client, "alice")
    client.post(f"/api/v1/credentials/{refresh['refresh_token'][:16]}/revoke", headers=headers)
    assert queued_events(core) == []


def test_a_rotation_is_not_a_revocation_but_its_orphaned_access_tokens_are(client, core, alice, everything):
    refresh = refresh_token(client)
    access = access_token(client, refresh)
    regenerated = call(client, "regenRefreshToken", refresh_token=refresh["refresh_token"], user_id=alice.id)
    assert regenerated.status_code == 200
    revoked = queued_events(core, "token.revoked")
    assert [e["data"]["publicId"] for e in revoked] == [access["api_access_token"][:16]]
    assert revoked[0]["data"]["reason"] == "parent regenerated"


def test_revoking_an_integration_refresh_tokens_access_tokens_is_announced(client, core, alice, everything):
    refresh = refresh_token(client)
    access = access_token(client, refresh)
    call(client, "revokeAPIAccessTokens", refresh_token=refresh["refresh_token"], user_id=alice.id)
    assert [e["data"]["publicId"] for e in queued_events(core, "token.revoked")] == [
        access["api_access_token"][:16]
    ]


def test_a_leak_report_records_token_leaked_and_the_revocations(client, core, alice, everything):
    refresh = refresh_token(client)
    access = access_token(client, refresh)
    response = client.post("/api/v1/credentials/revoke", json={"credentials": [refresh["refresh_token"]]})
    assert response.json() == {"revoked": 2}
    leaked = queued_events(core, "token.leaked")
    assert len(leaked) == 1 and leaked[0]["data"]["publicId"] == refresh["refresh_token"][:16]
    assert leaked[0]["data"]["reason"] == "reported leaked" and leaked[0]["data"]["revokedWithIt"] == 2
    assert {e["data"]["publicId"] for e in queued_events(core, "token.revoked")} == {
        refresh["refresh_token"][:16],
        access["api_access_token"][:16],
    }
    assert refresh["refresh_token"] not in str(leaked)


def test_a_replayed_pair_records_chain_revoked(client, core, clock, alice, everything):
    first = created(client, session(client))
    second = renew(client, first["accessToken"], first["refreshToken"]).json()
    assert queued_events(core) == []  # a renewal replaces, it does not revoke
    clock.advance(seconds=1)
    renew(client, first["accessToken"], first["refreshToken"])
    chains = queued_events(core, "chain.revoked")
    assert len(chains) == 1
    data = chains[0]["data"]
    assert data["reason"] == "replay detected" and data["owner"]["username"] == "alice"
    assert set(data["presented"]) == {first["accessToken"][:16], first["refreshToken"][:16]}
    assert set(data["revoked"]) == {second["accessToken"][:16], second["refreshToken"][:16]}
    assert {e["data"]["publicId"] for e in queued_events(core, "token.revoked")} == set(data["revoked"])
    for value in (first["accessToken"], first["refreshToken"], second["accessToken"], second["refreshToken"]):
        assert value not in str(chains)


def test_regenerating_a_tenant_token_records_tenant_token_regenerated(client, core, tenant, superadmin_token):
    tenant_headers = {"Authorization": f"Bearer {tenant['tenantAccessToken']}"}
    subscribe(client, tenant_headers, HOOK, ["tenant.token.regenerated", "token.revoked"])
    with core.db.read() as db:
        old_id = db.scalar(sa.select(Credential.public_id).where(Credential.kind == "tenant"))
    response = client.get(
        f"{GATEWAY}/platform/apiaccesskeys/generate",
        params={"tenantExternalId": tenant["tenantExternalId"]},
        headers=bearer(superadmin_token),
    )
    assert response.status_code == 200, response.text
    regenerated = queued_events(core, "tenant.token.regenerated")
    assert len(regenerated) == 1
    data = regenerated[0]["data"]
    assert data["replaces"] == [old_id] and data["publicId"] != old_id and data["kind"] == "tenant"
    assert data["owner"] == {"type": "tenant", "id": tenant["tenantExternalId"], "name": "test tenant1"}
    assert queued_events(core, "token.revoked") == []  # replaced, not lost
    assert tenant["tenantAccessToken"] not in str(regenerated)


def test_disabling_a_user_records_their_revocations(client, core, alice, make_user, everything):
    make_user("root", role="admin")
    refresh = refresh_token(client)
    admin = headers_for(client, "root")
    assert (
        client.patch(f"/api/v1/users/{alice.id}", json={"disabled": True}, headers=admin).status_code == 200
    )
    assert refresh["refresh_token"][:16] in {
        e["data"]["publicId"] for e in queued_events(core, "token.revoked")
    }
