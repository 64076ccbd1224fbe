"""Gateway tokens on the native API: forward auth and Bearer accept them, and a regenerate ends them."""

from tests.gateway.conftest import BASE, bearer, key


def test_forward_auth_accepts_a_tenant_token_and_names_the_tenant(client, tenant):
    for headers in (key(tenant["tenantAccessToken"]), bearer(tenant["tenantAccessToken"])):
        response = client.get("/api/v1/authorize", headers=headers)
        assert response.status_code == 200
        assert response.headers["X-Auth-Tenant"] == tenant["tenantExternalId"]
        assert response.headers["X-Auth-User"] == ""


def test_forward_auth_refuses_a_tenant_token_at_once_after_a_regenerate(client, tenant, superadmin_token):
    old = tenant["tenantAccessToken"]
    client.get(
        f"{BASE}/platform/apiaccesskeys/generate",
        params={"tenantExternalId": tenant["tenantExternalId"]},
        headers=bearer(superadmin_token),
    )
    assert client.get("/api/v1/authorize", headers=key(old)).status_code == 401


def test_a_superadmin_token_works_as_bearer_on_the_native_api(client, superadmin_token):
    response = client.get("/api/v1/whoami", headers=bearer(superadmin_token))
    assert response.status_code == 200 and response.json()["role"] == "superadmin"


def test_a_tampered_tenant_token_is_refused_by_forward_auth(client, tenant):
    header, payload, signature = tenant["tenantAccessToken"].split(".")
    tampered = ".".join([header, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    assert client.get("/api/v1/authorize", headers=key(tampered)).status_code == 401
