"""A gateway tenant token on the native API reaches its own tenant's tokens and nothing else."""

import pytest

from tests.admin.helpers import token_for
from tests.gateway.conftest import bearer


@pytest.fixture
def two_tenants(make_tenant):
    return make_tenant("tenant1"), make_tenant("tenant2")


def _introspected(client, token):
    """The token's own view of itself (a tenant token may look at itself)."""
    return client.post("/api/v1/oauth2/introspect", headers=bearer(token), data={"token": token}).json()


def test_a_tenant_token_lists_only_its_own_tenants_tokens(client, two_tenants, alice):
    mine, theirs = two_tenants
    alices = token_for(client, "alice")
    listed = client.get("/api/v1/credentials", headers=bearer(mine["tenantAccessToken"]))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert items and {item["tenant"] for item in items} == {mine["tenantExternalId"]}
    assert theirs["tenantExternalId"] not in listed.text and "alice" not in listed.text
    assert alices not in listed.text


def test_a_tenant_token_reads_no_audit_log_and_manages_no_users(client, two_tenants):
    headers = bearer(two_tenants[0]["tenantAccessToken"])
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    assert client.get("/api/v1/tenants", headers=headers).status_code == 403


def test_a_tenant_token_cannot_see_or_revoke_another_tenants_token(client, two_tenants):
    mine, theirs = two_tenants
    headers = bearer(mine["tenantAccessToken"])
    victim = theirs["tenantAccessToken"]
    seen = client.post("/api/v1/oauth2/introspect", headers=headers, data={"token": victim})
    assert seen.json() == {"active": False}
    public_id = _introspected(client, victim)["jti"]
    assert client.get(f"/api/v1/credentials/{public_id}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/credentials/{public_id}/revoke", headers=headers).status_code == 404
    family = client.get(f"/api/v1/credentials/{public_id}", headers=bearer(victim)).json()["family"]
    assert client.post(f"/api/v1/families/{family}/revoke", headers=headers).status_code == 404
    assert client.post("/api/v1/oauth2/revoke", headers=headers, data={"token": victim}).status_code == 200
    assert client.get("/gateway/api/v1/workflowdefinition", headers=bearer(victim)).status_code == 200


def test_a_tenant_token_revokes_its_own_token(client, two_tenants):
    mine = two_tenants[0]["tenantAccessToken"]
    assert client.post("/api/v1/oauth2/revoke", headers=bearer(mine), data={"token": mine}).status_code == 200
    assert client.get("/gateway/api/v1/workflowdefinition", headers=bearer(mine)).status_code == 401
