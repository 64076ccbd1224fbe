"""Tenants on the native API: listed and disabled by operators, never with a token in sight."""

from tests.gateway.conftest import bearer, key


def test_operators_list_and_get_tenants_without_any_token(client, tenant, superadmin_token):
    listing = client.get("/api/v1/tenants", headers=bearer(superadmin_token))
    assert listing.status_code == 200
    assert [t["external_id"] for t in listing.json()["items"]] == [tenant["tenantExternalId"]]
    assert tenant["tenantAccessToken"] not in listing.text
    one = client.get(f"/api/v1/tenants/{tenant['tenantExternalId']}", headers=bearer(superadmin_token))
    assert one.json()["sub_domain"] == "tenant1" and one.json()["disabled"] is False


def test_disabling_a_tenant_stops_its_token_at_once_and_enabling_does_not_revive_it(
    client, tenant, superadmin_token
):
    path = f"/api/v1/tenants/{tenant['tenantExternalId']}"
    assert client.get("/api/v1/authorize", headers=key(tenant["tenantAccessToken"])).status_code == 200
    assert client.patch(path, headers=bearer(superadmin_token), json={"disabled": True}).json()["disabled"]
    assert client.get("/api/v1/authorize", headers=key(tenant["tenantAccessToken"])).status_code == 401
    client.patch(path, headers=bearer(superadmin_token), json={"disabled": False})
    assert client.get("/api/v1/authorize", headers=key(tenant["tenantAccessToken"])).status_code == 401


def test_revoking_a_tenants_tokens_counts_them(client, tenant, superadmin_token):
    path = f"/api/v1/tenants/{tenant['tenantExternalId']}/credentials/revoke"
    assert client.post(path, headers=bearer(superadmin_token)).json() == {"revoked": 1}
    assert client.get("/api/v1/authorize", headers=key(tenant["tenantAccessToken"])).status_code == 401


def test_tenants_are_for_operators_only(client, tenant, alice):
    from tests.admin.helpers import headers_for

    headers = headers_for(client, "alice")
    assert client.get("/api/v1/tenants", headers=headers).status_code == 403
    unknown = client.get(
        "/api/v1/tenants/00000000-0000-0000-0000-000000000000",
        headers=bearer(
            client.post(
                "/gateway/api/v1/auth/login", json={"username": "root", "password": "correct horse battery"}
            ).json()["resultData"]["accessToken"]
        ),
    )
    assert unknown.status_code == 404
