"""Login sessions: Base64 login, failures as HTTP 200, idle expiry, device-bound renewal, logout, WhoAmI."""

from __future__ import annotations

from sqlalchemy import select

from tests.commandcenter.helpers import BASE, DEVICE, created, encoded, login, session, who_am_i
from tests.conftest import PASSWORD
from tokensmith.models import AuditEvent


def test_service_probe_answers_200_without_credentials(client):
    response = client.get(f"{BASE}/")
    assert response.status_code == 200 and response.json()["errorCode"] == 0


def test_login_with_base64_password_returns_a_qsdk_session_token(client, alice):
    response = login(client)
    body = response.json()
    assert response.status_code == 200
    assert body["token"].startswith("QSDK tss_")
    assert body["userName"] == "alice" and body["aliasName"] == str(alice.id)
    assert body["errList"] == [] and body["isAccountLocked"] is False


def test_login_success_body_has_every_field_of_the_reference(client, alice):
    body = login(client).json()
    reference = {
        "aliasName",
        "userGUID",
        "loginAttempts",
        "remainingLockTime",
        "smtpAddress",
        "userName",
        "providerType",
        "ccn",
        "token",
        "capability",
        "forcePasswordChange",
        "isAccountLocked",
        "ownerOrganization",
        "additionalResp",
        "providerOrganization",
        "errList",
        "company",
    }
    assert set(body) == reference
    assert set(body["ownerOrganization"]) == {"GUID", "providerId", "providerDomainName"}


def test_the_session_token_authenticates_whoami_with_an_empty_xml_post(client, alice):
    response = who_am_i(client, session(client))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["user"] == {
        "userName": "alice",
        "userId": alice.id,
        "userGUID": response.json()["user"]["userGUID"],
    }


def test_whoami_answers_get_too(client, alice):
    response = client.get(f"{BASE}/WhoAmI", headers=session(client))
    assert response.status_code == 200 and response.json()["user"]["userName"] == "alice"


def test_a_bare_session_token_is_treated_as_qsdk(client, alice):
    bare = session(client)["Authtoken"].removeprefix("QSDK ")
    assert who_am_i(client, {"Authtoken": bare}).status_code == 200


def test_a_session_token_is_not_a_bearer_token(client, alice):
    bare = session(client)["Authtoken"].removeprefix("QSDK ")
    assert who_am_i(client, {"Authtoken": f"Bearer {bare}"}).status_code == 401
    assert who_am_i(client, {"Authorization": f"Bearer {bare}"}).status_code == 401


def test_wrong_password_is_http_200_with_errlist(client, alice):
    response = login(client, password="not the password")
    assert response.status_code == 200
    assert response.json() == {
        "errList": [{"errLogMessage": "Invalid username or password.", "errorCode": 1}],
        "isAccountLocked": False,
        "remainingLockTime": 0,
    }


def test_unknown_user_gets_exactly_the_wrong_password_reply(client, alice):
    unknown = login(client, username="mallory", password="not the password")
    wrong = login(client, password="not the password")
    assert unknown.status_code == wrong.status_code == 200
    assert unknown.json() == wrong.json()


def test_a_password_that_is_not_base64_is_a_login_failure_naming_the_encoding(client, alice):
    response = client.post(f"{BASE}/Login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert "Base64" in response.json()["errList"][0]["errLogMessage"]
    assert "token" not in response.json()


def test_repeated_failures_lock_the_account_like_every_password_check(client, alice):
    for _ in range(5):
        login(client, password="not the password")
    response = login(client)  # even the right password, while locked
    body = response.json()
    assert response.status_code == 200 and "token" not in body
    assert body["isAccountLocked"] is True and body["remainingLockTime"] > 0


def test_unknown_users_are_locked_out_the_same_way(client, alice):
    for _ in range(5):
        login(client, username="mallory", password="x")
    assert login(client, username="mallory", password="x").json()["isAccountLocked"] is True


def test_a_missing_field_is_400_naming_it(client):
    response = client.post(f"{BASE}/Login", json={"username": "alice"})
    assert response.status_code == 400
    assert response.json()["errorMessage"].startswith("password")


def test_session_expires_after_the_default_30_minutes_of_inactivity(client, clock, alice):
    headers = session(client)
    clock.advance(minutes=29)
    assert who_am_i(client, headers).status_code == 200
    clock.advance(minutes=29)  # 29 idle minutes since the last use
    assert who_am_i(client, headers).status_code == 200
    clock.advance(minutes=31)
    response = who_am_i(client, headers)
    assert response.status_code == 401
    assert response.json() == {"errorMessage": "Access denied", "errorCode": 5}


def test_login_timeout_sets_the_idle_minutes(client, clock, alice):
    headers = session(client, timeout=5)
    clock.advance(minutes=4)
    assert who_am_i(client, headers).status_code == 200
    clock.advance(minutes=6)
    assert who_am_i(client, headers).status_code == 401


def test_renew_login_token_from_the_same_device_replaces_the_expired_session(client, clock, alice):
    old = session(client)
    clock.advance(minutes=45)
    response = client.post(
        f"{BASE}/RenewLoginToken", headers=old, json={"sessionId": old["Authtoken"], "deviceId": DEVICE}
    )
    assert response.status_code == 200 and response.json()["token"].startswith("QSDK ")
    assert who_am_i(client, {"Authtoken": response.json()["token"]}).status_code == 200
    assert who_am_i(client, old).status_code == 401


def test_renew_login_token_from_another_device_is_refused_with_http_200(client, alice):
    old = session(client)
    response = client.post(
        f"{BASE}/RenewLoginToken", json={"sessionId": old["Authtoken"], "deviceId": "other"}
    )
    assert response.status_code == 200
    assert (
        response.json()["error"]["errLogMessage"]
        == "The session can only be renewed from the device that logged in."
    )


def test_a_session_opened_without_a_device_cannot_be_renewed(client, alice):
    token = client.post(f"{BASE}/Login", json={"username": "alice", "password": encoded(PASSWORD)}).json()[
        "token"
    ]
    response = client.post(f"{BASE}/RenewLoginToken", json={"sessionId": token, "deviceId": ""})
    assert response.status_code == 200 and "token" not in response.json()


def test_renewal_is_refused_a_day_after_expiry(client, clock, alice):
    old = session(client)
    clock.advance(minutes=30, hours=24)
    response = client.post(
        f"{BASE}/RenewLoginToken", json={"sessionId": old["Authtoken"], "deviceId": DEVICE}
    )
    assert response.json()["error"]["errLogMessage"].startswith("The session expired too long ago")


def test_a_renewed_session_cannot_be_renewed_again(client, alice):
    old = session(client)
    body = {"sessionId": old["Authtoken"], "deviceId": DEVICE}
    assert "token" in client.post(f"{BASE}/RenewLoginToken", json=body).json()
    again = client.post(f"{BASE}/RenewLoginToken", json=body)
    assert again.status_code == 200 and again.json()["error"]["errorCode"] != 0


def test_renewing_garbage_is_refused_with_http_200_never_401(client):
    response = client.post(f"{BASE}/RenewLoginToken", json={"sessionId": "QSDK nonsense", "deviceId": DEVICE})
    assert response.status_code == 200 and "errLogMessage" in response.json()["error"]


def test_session_renewal_is_audited(client, core, alice):
    old = session(client)
    client.post(f"{BASE}/RenewLoginToken", json={"sessionId": old["Authtoken"], "deviceId": DEVICE})
    with core.db.read() as db:
        assert db.scalar(select(AuditEvent.action).where(AuditEvent.action == "session.renew")) is not None


def test_logout_ends_the_session_at_once(client, alice):
    headers = session(client)
    response = client.post(f"{BASE}/Logout", headers={**headers, "Content-Type": "application/xml"})
    assert response.status_code == 200 and response.json() == {"errorMessage": "", "errorCode": 0}
    assert who_am_i(client, headers).status_code == 401


def test_logout_with_an_access_token_is_refused(client, alice):
    access = created(client, session(client))["accessToken"]
    response = client.post(f"{BASE}/Logout", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 403
    assert who_am_i(client, {"Authorization": f"Bearer {access}"}).status_code == 200


def test_missing_or_malformed_authtoken_is_the_generic_401(client):
    for headers in (
        {},
        {"Authtoken": "QSDK 0123abcd"},
        {"Authtoken": "garbage"},
        {"Authorization": "Bearer x"},
    ):
        response = who_am_i(client, headers)
        assert response.status_code == 401
        assert response.json() == {"errorMessage": "Access denied", "errorCode": 5}


def test_a_disabled_user_loses_the_session(client, core, alice):
    headers = session(client)
    with core.db.write() as db:
        db.get(type(alice), alice.id).disabled = True
    assert who_am_i(client, headers).status_code == 401
