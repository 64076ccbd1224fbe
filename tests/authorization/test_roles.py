"""Roles: user < admin < superadmin. Nobody grants a role above their own or changes someone above them."""

import pytest

from tests.admin.helpers import headers_for


@pytest.fixture
def admin(client, make_user):
    make_user("root", role="admin")
    return headers_for(client, "root")


@pytest.fixture
def boss(make_user):
    return make_user("boss", role="superadmin")


def test_an_admin_cannot_make_itself_superadmin(client, admin, make_user):
    me = client.get("/api/v1/whoami", headers=admin).json()
    response = client.patch(f"/api/v1/users/{me['user_id']}", headers=admin, json={"role": "superadmin"})
    assert response.status_code == 403
    assert client.get("/api/v1/whoami", headers=admin).json()["role"] == "admin"


def test_an_admin_cannot_create_a_superadmin(client, admin):
    response = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "climber", "password": "a long enough password", "role": "superadmin"},
    )
    assert response.status_code == 403


def test_an_admin_cannot_touch_a_superadmin(client, admin, boss):
    assert (
        client.put(
            f"/api/v1/users/{boss.id}/password", headers=admin, json={"password": "a long enough password"}
        ).status_code
        == 404
    )
    assert client.patch(f"/api/v1/users/{boss.id}", headers=admin, json={"disabled": True}).status_code == 404
    assert client.post(f"/api/v1/users/{boss.id}/credentials/revoke", headers=admin).status_code == 404
    assert boss.username not in client.get("/api/v1/users", headers=admin).text


def test_an_admin_may_grant_its_own_role(client, admin, alice):
    response = client.patch(f"/api/v1/users/{alice.id}", headers=admin, json={"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"


def test_a_superadmin_may_grant_superadmin(client, boss, alice):
    headers = headers_for(client, "boss")
    response = client.patch(f"/api/v1/users/{alice.id}", headers=headers, json={"role": "superadmin"})
    assert response.status_code == 200 and response.json()["role"] == "superadmin"


def test_an_admin_of_a_tenant_administers_only_that_tenant(client, core, make_user):
    from tokensmith.models import Tenant

    with core.db.write() as session:
        one = Tenant(
            external_id="11111111-1111-1111-1111-111111111111",
            name="one",
            sub_domain="one",
            disabled=False,
            created_at=core.clock.now(),
        )
        two = Tenant(
            external_id="22222222-2222-2222-2222-222222222222",
            name="two",
            sub_domain="two",
            disabled=False,
            created_at=core.clock.now(),
        )
        session.add_all([one, two])
        session.flush()
        one_id, two_id = one.id, two.id
    make_user("ada", role="admin", tenant_id=one_id)
    insider = make_user("ina", tenant_id=one_id)
    outsider = make_user("otto", tenant_id=two_id)
    headers = headers_for(client, "ada")
    names = {u["username"] for u in client.get("/api/v1/users", headers=headers).json()["items"]}
    assert names == {"ada", "ina"}
    assert client.get(f"/api/v1/users/{insider.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/users/{outsider.id}", headers=headers).status_code == 404
    made = client.post(
        "/api/v1/users", headers=headers, json={"username": "newbie", "password": "a long enough password"}
    )
    assert made.status_code == 201
    assert client.get(f"/api/v1/users/{made.json()['id']}", headers=headers).status_code == 200
    assert (
        client.patch(
            "/api/v1/settings", headers=headers, json={".feature_flags.enable_swagger": True}
        ).status_code
        == 403
    )
