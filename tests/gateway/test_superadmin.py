"""Superadmin login: a short-lived HS512 JWT for `Authorization: Bearer`, only for superadmins."""

import base64
import json

from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.gateway.conftest import BASE, bearer, login
from tokensmith import runtime, users
from tokensmith.models import AuditEvent


def claims_of(token: str) -> tuple[dict, dict]:
    header, payload, _signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def test_login_returns_an_hs512_token_valid_for_fifteen_minutes(client, superadmin, clock):
    body = login(client).json()
    result = body["resultData"]
    assert body["statusLine"] == "Successfully logged in."
    assert result["accessToken"] == result["token"] and result["tokenType"] == "Bearer"
    assert result["expiresIn"] == 15 * 60
    header, claims = claims_of(result["token"])
    assert header == {"alg": "HS512"}
    assert claims["sub"] == "root" and claims["iss"] == "http://itas.serviceaide.com"
    assert claims["exp"] - claims["iat"] == 15 * 60 and claims["iat"] == int(clock.now().timestamp())
    assert len(claims["authToken"]) == 50 and claims["authToken"].isalnum()


def test_the_superadmin_token_expires_after_its_lifespan(client, superadmin_token, clock):
    clock.advance(minutes=14, seconds=59)
    assert client.get(f"{BASE}/platform/tenants", headers=bearer(superadmin_token)).status_code == 200
    clock.advance(seconds=1)
    assert client.get(f"{BASE}/platform/tenants", headers=bearer(superadmin_token)).status_code == 401


def test_the_lifespan_is_a_runtime_setting_in_minutes(client, superadmin, core):
    with core.db.write() as session:
        runtime.set_value(session, ".gateway.superadmin_token_lifespan", "5", core.clock.now())
    assert login(client).json()["resultData"]["expiresIn"] == 300


def test_the_issuer_is_a_runtime_setting(client, superadmin, core):
    with core.db.write() as session:
        runtime.set_value(session, ".gateway.issuer", "https://gateway.example", core.clock.now())
    assert claims_of(login(client).json()["resultData"]["token"])[1]["iss"] == "https://gateway.example"


def test_a_wrong_password_is_refused_in_the_envelope(client, superadmin):
    response = login(client, password="wrong password")
    assert response.status_code == 401
    assert response.json()["statusLine"] == "Invalid username or password."


def test_an_ordinary_user_is_refused_exactly_like_a_wrong_password(client, alice):
    response = login(client, username="alice")
    assert response.status_code == 401
    assert response.json()["statusLine"] == "Invalid username or password."


def test_repeated_failures_are_throttled_with_retry_after(client, superadmin):
    for _ in range(5):
        assert login(client, password="wrong password").status_code == 401
    response = login(client)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert response.json()["status"] == "Failure" and response.json()["statusCode"] == 429


def test_a_superadmin_demoted_since_login_is_refused(client, superadmin, superadmin_token, core):
    users.update_user(core, superadmin.id, role="user")
    response = client.get(f"{BASE}/platform/tenants", headers=bearer(superadmin_token))
    assert response.status_code == 403


def test_a_disabled_superadmin_is_refused_at_once(client, superadmin, superadmin_token, core):
    with core.db.write() as session:
        session.get(type(superadmin), superadmin.id).disabled = True
    assert client.get(f"{BASE}/platform/tenants", headers=bearer(superadmin_token)).status_code == 401


def test_the_superadmin_token_is_not_accepted_as_itas_api_access_key_on_platform_paths(
    client, superadmin_token
):
    response = client.get(f"{BASE}/platform/tenants", headers={"itas-api-access-key": superadmin_token})
    assert response.status_code == 401


def test_login_takes_an_optional_subdomain_like_luma_knowledge(client, superadmin):
    response = client.post(
        f"{BASE}/auth/login", json={"username": "root", "password": PASSWORD, "subdomain": "superadmin"}
    )
    assert response.status_code == 200


def test_login_is_audited_without_the_token(client, superadmin, core):
    token = login(client).json()["resultData"]["token"]
    with core.db.read() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "superadmin.issue")))
    assert len(events) == 1 and events[0].actor == f"user:{superadmin.id}"
    assert token not in repr((events[0].target, events[0].detail))
    assert claims_of(token)[1]["authToken"] not in repr((events[0].target, events[0].detail))
