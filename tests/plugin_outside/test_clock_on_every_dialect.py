"""The testing clock moves every dialect's expiry rules, seen from a real HTTP client."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import requests

PASSWORD = "correct horse battery"
REFRESH = "tsr_hcobhOJA217KlJT0bIP92iYOexbkDJuZHmSwkhHgHk772vDWFk"
ACCESS = "tsa_HIGMIW7xbThujB2wvnFHfcqHYdd0yQOXH7ieECHuofao2lvqVh"
SESSION = "tss_Mf3jKUkUtxSKfF4UKeHkEXGTLDnLjKVNGNtHwcL2TAMX4yMGfP"
HOUR = 3600


@pytest.fixture
def tokensmith(tokensmith):
    """Each test here seeds its own world: start from the server as it started."""
    tokensmith.reset(fresh=True)
    return tokensmith


def _seed_alice(tokensmith, **extra):
    return tokensmith.seed({"users": [{"username": "alice", "password": PASSWORD}], **extra})


def test_integration_access_token_expires_when_the_clock_passes_its_expiry(tokensmith):
    seeded = _seed_alice(
        tokensmith,
        tokens=[
            {"user": "alice", "value": REFRESH, "name": "ci"},
            {"user": "alice", "value": ACCESS, "parent": REFRESH, "expiresIn": HOUR},
        ],
    )
    alice = seeded["users"]["alice"]

    def status() -> str:
        reply = requests.post(
            tokensmith.url + "/integration/v1/validateAPIAccessToken/",
            json={"api_access_token": ACCESS, "user_id": alice},
            timeout=10,
        )
        return reply.json()["token_status"]

    assert status() == "ACTIVE"
    tokensmith.advance(HOUR - 5)
    assert status() == "ACTIVE"
    tokensmith.advance(10)
    assert status() == "EXPIRED"


def test_commandcenter_session_idles_out_and_each_use_pushes_its_expiry(tokensmith):
    _seed_alice(tokensmith, tokens=[{"user": "alice", "value": SESSION, "expiresIn": 30 * 60}])
    tokensmith.freeze()

    def who_am_i() -> int:
        return requests.post(
            tokensmith.url + "/commandcenter/api/WhoAmI",
            headers={"Authtoken": f"QSDK {SESSION}", "Accept": "application/json"},
            timeout=10,
        ).status_code

    tokensmith.advance(29 * 60)
    assert who_am_i() == 200  # a use: the idle expiry moves to 30 minutes from now
    tokensmith.advance(29 * 60)
    assert who_am_i() == 200
    tokensmith.advance(31 * 60)
    assert who_am_i() == 401


def test_commandcenter_v4_access_token_expires_with_the_clock(tokensmith):
    _seed_alice(tokensmith)
    login = requests.post(
        tokensmith.url + "/commandcenter/api/Login",
        json={"username": "alice", "password": base64.b64encode(PASSWORD.encode()).decode()},
        headers={"Accept": "application/json"},
        timeout=30,
    ).json()
    created = requests.post(
        tokensmith.url + "/commandcenter/api/V4/AccessToken",
        json={"tokenName": "ci"},
        headers={"Authtoken": login["token"], "Accept": "application/json"},
        timeout=10,
    ).json()["tokenInfo"]

    def who_am_i() -> int:
        return requests.post(
            tokensmith.url + "/commandcenter/api/WhoAmI",
            headers={"Authorization": f"Bearer {created['accessToken']}", "Accept": "application/json"},
            timeout=10,
        ).status_code

    assert who_am_i() == 200
    tokensmith.advance(31 * 60)  # the default V4 access token lives 30 minutes
    assert who_am_i() == 401


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_gateway_jwts_take_iat_and_exp_from_the_clock_and_expire_with_it(tokensmith):
    tokensmith.freeze("2031-05-01T08:00:00Z")
    seeded = tokensmith.seed(
        {
            "users": [{"username": "root", "password": PASSWORD, "role": "superadmin"}],
            "tenants": [
                {
                    "name": "Acme",
                    "subDomain": "acme",
                    "admin": {"username": "acme-admin", "password": PASSWORD},
                }
            ],
        }
    )
    moment = int(datetime(2031, 5, 1, 8, tzinfo=UTC).timestamp())
    assert _claims(seeded["tenants"]["acme"]["token"])["iat"] == moment
    reply = requests.post(
        tokensmith.url + "/gateway/api/v1/auth/login",
        json={"username": "root", "password": PASSWORD},
        timeout=30,
    ).json()
    token = reply["resultData"]["accessToken"]
    claims = _claims(token)
    assert claims["iat"] == moment and claims["exp"] == moment + reply["resultData"]["expiresIn"]
    assert reply["timestamp"] == moment * 1000  # the envelope's time follows the clock too

    def tenants() -> int:
        return requests.get(
            tokensmith.url + "/gateway/api/v1/platform/tenants",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).status_code

    assert tenants() == 200
    tokensmith.advance(reply["resultData"]["expiresIn"] + 1)
    assert tenants() == 401


def test_reset_returns_to_the_last_seed_and_its_clock(tokensmith):
    tokensmith.freeze("2032-01-01T00:00:00Z")
    alice = _seed_alice(tokensmith, tokens=[{"user": "alice", "value": REFRESH}])["users"]["alice"]
    tokensmith.advance(400 * 24 * HOUR)
    tokensmith.reset()
    assert tokensmith.clock() == {"now": "2032-01-01T00:00:00.000000Z", "frozen": True}
    validated = requests.post(
        tokensmith.url + "/integration/v1/validateRefreshToken/",
        json={"refresh_token": REFRESH, "user_id": alice},
        timeout=10,
    )
    assert validated.json()["token_status"] == "ACTIVE"  # a year on, it had expired; reset undid that
