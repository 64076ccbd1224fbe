"""The vendors' own SDKs against the plugin's server: allie-sdk through a token expiry, cvpysdk
through a fault. (docs/contract-testing.md, "The pytest plugin", shows this file.)"""

from __future__ import annotations

import pytest
import requests

PASSWORD = "correct horse battery"
# Hard-coded, in tokensmith's own format: the seed stores it, so every fresh server accepts it.
REFRESH = "tsr_hcobhOJA217KlJT0bIP92iYOexbkDJuZHmSwkhHgHk772vDWFk"


@pytest.fixture(scope="module")
def alice(tokensmith_server) -> int:
    """Seeded once for this module; the `tokensmith` fixture resets to right here before each test."""
    tokensmith_server.reset(fresh=True)
    seeded = tokensmith_server.seed(
        {
            "users": [{"username": "alice", "password": PASSWORD}],
            "tokens": [{"user": "alice", "value": REFRESH, "name": "contract tests"}],
        }
    )
    return seeded["users"]["alice"]


def test_allie_sdk_sees_its_access_token_expire_a_day_later(tokensmith, alice):
    from allie_sdk.methods.authentication import AlationAuthentication

    auth = AlationAuthentication(
        refresh_token=REFRESH, user_id=str(alice), session=requests.Session(), host=tokensmith.url
    )
    access = auth.create_access_token().api_access_token
    assert auth.validate_access_token(access).token_status == "ACTIVE"

    tokensmith.advance(24 * 3600 + 1)  # the access token lifespan: 24 hours, without waiting for it

    assert auth.validate_access_token(access).token_status == "EXPIRED"
    assert auth.validate_refresh_token().token_status == "ACTIVE"  # the refresh token lives 60 days
    assert [e["status"] for e in tokensmith.requests("validateAPIAccessToken")] == [200, 200]


def test_cvpysdk_reports_a_failing_login_then_logs_in(tokensmith, alice):
    from cvpysdk.commcell import Commcell
    from cvpysdk.exception import SDKException

    host = tokensmith.url.removeprefix("http://")
    tokensmith.fault("login", status=500, body={"errorMessage": "CommServe is down"})
    with pytest.raises(SDKException):
        Commcell(host, "alice", PASSWORD)

    cell = Commcell(host, "alice", PASSWORD)  # the fault fired once; the next login is real
    assert cell.commcell_username == "alice"
    assert [e["status"] for e in tokensmith.requests("login")] == [500, 200]
