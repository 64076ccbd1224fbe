"""Tenants: created with their admin user and first access token; listed without tokens; their token
regenerated, after which the previous one is refused at once, on every worker and instance."""

import threading
import uuid

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.gateway import wire
from handlers.gateway.security import TENANT
from tests.gateway.conftest import ADMIN_PASSWORD, BASE, bearer, key, tenant_body
from tests.gateway.test_superadmin import claims_of
from tokensmith import tenants, verifier
from tokensmith.errors import TokenInvalid
from tokensmith.models import Credential, Tenant, User


def regenerate(client, superadmin_token, external_id):
    return client.get(
        f"{BASE}/platform/apiaccesskeys/generate",
        params={"tenantExternalId": external_id},
        headers=bearer(superadmin_token),
    )


def definitions(client, token):
    return client.get(f"{BASE}/workflowdefinition", headers=key(token))


def test_create_tenant_returns_its_ids_and_a_working_token(client, superadmin_token):
    response = client.post(f"{BASE}/platform/tenants", json=tenant_body(), headers=bearer(superadmin_token))
    body = response.json()
    assert response.status_code == 200 and body["statusLine"] == "Successfully created the Tenant."
    result = body["resultData"]
    assert set(result) == {"tenantId", "tenantExternalId", "tenantAccessToken"}
    assert str(uuid.UUID(result["tenantExternalId"])) == result["tenantExternalId"]
    assert definitions(client, result["tenantAccessToken"]).status_code == 200


def test_the_tenant_token_carries_the_seeds_claims_and_no_expiry(client, tenant, clock):
    header, claims = claims_of(tenant["tenantAccessToken"])
    assert header == {"alg": "HS512"}
    assert list(claims) == ["tenantExternalId", "authToken", "iss", "jti", "iat"]
    assert claims["tenantExternalId"] == tenant["tenantExternalId"]
    assert len(claims["authToken"]) == 50 and claims["authToken"].isascii() and claims["authToken"].isalnum()
    assert claims["iss"] == "http://itas.serviceaide.com" and claims["iat"] == int(clock.now().timestamp())


def test_the_tenant_token_never_expires_by_itself(client, tenant, clock):
    clock.advance(days=3650)
    assert definitions(client, tenant["tenantAccessToken"]).status_code == 200


def test_create_tenant_makes_its_admin_a_plain_user_of_the_tenant(client, tenant, core):
    with core.db.read() as session:
        admin = session.scalar(select(User).where(User.username == "admin@tenant1.com"))
        row = session.get(Tenant, tenant["tenantId"])
    assert admin.role == "user" and admin.tenant_id == tenant["tenantId"]
    assert (admin.email, admin.first_name, admin.last_name) == ("admin@tenant1.com", "admin", "tenant1")
    assert (row.name, row.sub_domain, row.external_id) == (
        "test tenant1",
        "tenant1",
        tenant["tenantExternalId"],
    )
    assert admin.password_hash and ADMIN_PASSWORD not in admin.password_hash


def test_a_duplicate_subdomain_is_a_409_and_creates_nothing(client, superadmin_token, tenant, core):
    response = client.post(
        f"{BASE}/platform/tenants",
        headers=bearer(superadmin_token),
        json=tenant_body("TENANT1", tenantAdmin={"username": "other", "password": ADMIN_PASSWORD}),
    )
    assert response.status_code == 409
    assert "sub-domain 'tenant1' already exists" in response.json()["statusLine"]
    with core.db.read() as session:
        assert session.scalar(select(User).where(User.username == "other")) is None
        assert len(list(session.scalars(select(Tenant)))) == 1


def test_a_taken_admin_username_is_a_409_and_creates_no_tenant(client, superadmin_token, alice, core):
    body = tenant_body("fresh", tenantAdmin={"username": "ALICE", "password": ADMIN_PASSWORD})
    response = client.post(f"{BASE}/platform/tenants", json=body, headers=bearer(superadmin_token))
    assert response.status_code == 409 and "already exists" in response.json()["statusLine"]
    with core.db.read() as session:
        assert session.scalar(select(Tenant).where(Tenant.sub_domain == "fresh")) is None


BAD_TENANT_FIELDS = [
    ({"subDomain": "-bad"}, "subDomain"),
    ({"subDomain": "a" * 64}, "subDomain"),
    ({"name": "   "}, "name"),
    ({"tenantAdmin": {"username": "x", "password": "short"}}, "tenantAdmin.password"),
    (
        {"tenantAdmin": {"username": "x", "password": ADMIN_PASSWORD, "email": "no-at-sign"}},
        "tenantAdmin.email",
    ),
    ({"description": "nul\x00byte"}, "description"),
]


def test_bad_tenant_fields_are_400_field_errors(client, superadmin_token):
    for overrides, field in BAD_TENANT_FIELDS:
        response = client.post(
            f"{BASE}/platform/tenants", json=tenant_body("ok", **overrides), headers=bearer(superadmin_token)
        )
        assert response.status_code == 400, overrides
        assert response.json()["status"] == "Failure", overrides
        if field != "description":  # NUL is refused before field validation
            assert field in {error.get("field") for error in response.json()["errors"]}, overrides


def test_creating_a_tenant_needs_a_superadmin_token(client, tenant):
    response = client.post(
        f"{BASE}/platform/tenants", json=tenant_body("other"), headers=bearer(tenant["tenantAccessToken"])
    )
    assert response.status_code == 401


def test_the_tenant_listing_never_shows_a_token(client, superadmin_token, make_tenant):
    made = [make_tenant(name) for name in ("alpha", "beta", "gamma")]
    body = client.get(
        f"{BASE}/platform/tenants", params={"orderBy": "subDomain desc"}, headers=bearer(superadmin_token)
    ).json()
    assert [t["subDomain"] for t in body["resultData"]] == ["gamma", "beta", "alpha"]
    assert body["resultData"][0] == {
        "tenantId": made[2]["tenantId"],
        "tenantExternalId": made[2]["tenantExternalId"],
        "name": "test gamma",
        "description": None,
        "subDomain": "gamma",
        "status": "ACTIVE",
        "createdTime": body["timestamp"],
    }
    text = repr(body)
    for tenant in made:
        assert (
            tenant["tenantAccessToken"] not in text and tenant["tenantAccessToken"].split(".")[1] not in text
        )


def test_the_tenant_listing_filters_and_pages(client, superadmin_token, make_tenant):
    for name in ("alpha", "alpine", "beta"):
        make_tenant(name)
    listed = client.get(
        f"{BASE}/platform/tenants",
        headers=bearer(superadmin_token),
        params={"filter": "subDomain=='AL*'", "orderBy": "name desc", "skip": 1, "top": 5},
    ).json()
    assert [t["subDomain"] for t in listed["resultData"]] == ["alpha"]


# --- regenerate -------------------------------------------------------------------------------------


def test_regenerate_answers_the_seeds_reply_with_a_new_token(client, superadmin_token, tenant):
    body = regenerate(client, superadmin_token, tenant["tenantExternalId"]).json()
    assert body["statusLine"] == "Able to generate new access key successfully."
    result = body["resultData"]
    assert (
        result["tenantId"] == tenant["tenantId"] and result["tenantExternalId"] == tenant["tenantExternalId"]
    )
    assert result["tenantAccessToken"] != tenant["tenantAccessToken"]
    assert definitions(client, result["tenantAccessToken"]).status_code == 200


def test_regenerate_refuses_old_token_at_once(client, superadmin_token, tenant):
    regenerate(client, superadmin_token, tenant["tenantExternalId"])
    response = definitions(client, tenant["tenantAccessToken"])
    assert response.status_code == 401 and response.json()["status"] == "Failure"


def test_regenerate_refuses_old_token_on_another_app_instance_sharing_the_database(
    client, superadmin_token, tenant, settings, clock
):
    other = create_app(settings, clock=clock, migrate=False)
    try:
        with TestClient(other, raise_server_exceptions=False) as second:
            assert definitions(second, tenant["tenantAccessToken"]).status_code == 200
            new = regenerate(client, superadmin_token, tenant["tenantExternalId"]).json()["resultData"]
            assert definitions(second, tenant["tenantAccessToken"]).status_code == 401
            assert definitions(second, new["tenantAccessToken"]).status_code == 200
    finally:
        other.core.db.dispose()


def test_regenerate_an_unknown_tenant_is_a_404_envelope(client, superadmin_token):
    response = regenerate(client, superadmin_token, str(uuid.uuid4()))
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_regenerate_a_malformed_id_is_a_400_envelope(client, superadmin_token):
    for bad in ["nope", "5b1a46e1-0c7d-4a4e-9a34", "", "5b1a46e1-0c7d-4a4e-9a34-2f1c1e1b7a1g"]:
        response = regenerate(client, superadmin_token, bad)
        assert response.status_code == 400 and response.json()["status"] == "Failure", bad


def test_regenerate_without_the_id_is_a_400_envelope(client, superadmin_token):
    response = client.get(f"{BASE}/platform/apiaccesskeys/generate", headers=bearer(superadmin_token))
    assert response.status_code == 400


def test_regenerate_needs_a_superadmin_token_not_a_tenant_token(client, tenant):
    response = client.get(
        f"{BASE}/platform/apiaccesskeys/generate",
        params={"tenantExternalId": tenant["tenantExternalId"]},
        headers=bearer(tenant["tenantAccessToken"]),
    )
    assert response.status_code == 401
    assert definitions(client, tenant["tenantAccessToken"]).status_code == 200


def test_racing_regenerations_leave_exactly_one_live_token(core, tenant):
    barrier = threading.Barrier(4)
    issued = []

    def run():
        barrier.wait()
        issued.append(
            tenants.regenerate_token(core, tenant["tenantExternalId"], wire.TENANT_TOKEN, "test")[1]
        )

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(issued) == 4
    with core.db.read() as session:
        live = list(
            session.scalars(
                select(Credential).where(
                    Credential.tenant_id == tenant["tenantId"],
                    Credential.kind == "tenant",
                    Credential.revoked_at.is_(None),
                )
            )
        )
    assert len(live) == 1
    working = []
    for result in issued:
        try:
            verifier.authenticate(core, result.value, TENANT)
            working.append(result)
        except TokenInvalid:
            pass
    assert [result.credential.id for result in working] == [live[0].id]
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, tenant["tenantAccessToken"], TENANT)
