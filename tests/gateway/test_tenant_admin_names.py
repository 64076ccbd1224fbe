"""A tenant admin's username follows the same rules and the same normalised key as every account."""

from tests.conftest import PASSWORD
from tests.gateway.conftest import ADMIN_PASSWORD, BASE, bearer, tenant_body
from tokensmith import users


def test_a_tenant_admin_name_follows_the_same_rules(core, client, superadmin_token):
    body = tenant_body("zw", tenantAdmin={"username": "ad\u200bmin", "password": ADMIN_PASSWORD})
    response = client.post(f"{BASE}/platform/tenants", json=body, headers=bearer(superadmin_token))
    assert response.status_code == 400 and "invisible" in response.text
    users.create_user(core, "Ünal", PASSWORD)
    body = tenant_body("dup", tenantAdmin={"username": "ÜNAL", "password": ADMIN_PASSWORD})
    response = client.post(f"{BASE}/platform/tenants", json=body, headers=bearer(superadmin_token))
    assert response.status_code == 409


def test_a_tenant_admin_logs_in_under_any_spelling(core, superadmin_token, client):
    body = tenant_body("acme", tenantAdmin={"username": "Ärzte", "password": ADMIN_PASSWORD})
    response = client.post(f"{BASE}/platform/tenants", json=body, headers=bearer(superadmin_token))
    assert response.status_code == 200
    assert users.authenticate(core, "ärzte", ADMIN_PASSWORD, None).username == "Ärzte"
