"""Commvault's own Python SDK (cvpysdk) against a real tokensmith server over a socket.

The SDK probes `GET /commandcenter/api/`, logs in with a Base64 password, sends `Authtoken: QSDK …`,
finds the user through `/v4/user…` and `/User/{id}/Security`, sends integer `tokenType`s, lists at
`//V4/AccessToken/?userId=`, and reads errors from 200 replies. Every call below is the SDK's own.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import uvicorn

from tests.conftest import PASSWORD


@pytest.fixture
def server(app) -> Iterator[str]:
    """uvicorn serving this test's app on a free 127.0.0.1 port, in a background thread."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def commcell(server, alice):
    from cvpysdk.commcell import Commcell

    cell = Commcell(server, "alice", PASSWORD)  # probes https, then http, as the SDK always does
    yield cell
    if getattr(cell, "_headers", {}).get("Authtoken"):
        cell.logout()


def test_the_sdk_logs_in_with_its_qsdk_session(commcell):
    assert commcell.auth_token.startswith("QSDK ")
    assert commcell.commcell_username == "alice"


def test_the_sdk_drives_create_list_renew_edit_delete(commcell, server, alice):
    user = commcell.users.get("alice")
    assert int(user.user_id) == alice.id

    info = user.create_access_token("sdk-token", token_type=2)
    assert info["tokenType"] == "ALL" and info["accessToken"] and info["refreshToken"]

    tokens = user.get_access_tokens()["tokens"]
    assert [(t["accessTokenId"], t["tokenName"]) for t in tokens] == [(info["accessTokenId"], "sdk-token")]

    renewed = user.renew_access_token(info["accessToken"], info["refreshToken"])
    assert renewed["accessToken"] != info["accessToken"] and renewed["accessTokenId"] == info["accessTokenId"]
    whoami = requests.post(
        f"http://{server}/commandcenter/api/WhoAmI",
        headers={"Authorization": f"Bearer {renewed['accessToken']}"},
    )
    assert whoami.status_code == 200 and whoami.json()["user"]["userName"] == "alice"

    edited = user.edit_access_token(
        info["accessTokenId"], token_name="scoped", token_type=3, api_endpoints=["/WhoAmI"]
    )
    assert edited["tokenType"] == "CUSTOM" and edited["apiEndpoints"] == ["/WhoAmI"]

    assert user.delete_access_token(info["accessTokenId"]) == {"errorMessage": "", "errorCode": 0}
    assert user.get_access_tokens()["tokens"] == []
    gone = requests.post(
        f"http://{server}/commandcenter/api/WhoAmI",
        headers={"Authorization": f"Bearer {renewed['accessToken']}"},
    )
    assert gone.status_code == 401


def test_the_sdk_surfaces_a_replayed_renewal_as_its_own_error(commcell, clock):
    from cvpysdk.exception import SDKException

    user = commcell.users.get("alice")
    info = user.create_access_token("once", token_type=2)
    user.renew_access_token(info["accessToken"], info["refreshToken"])
    clock.advance(seconds=1)  # a replay arrives after the rotation it replays
    with pytest.raises(SDKException, match="every token of this chain has been revoked"):
        user.renew_access_token(info["accessToken"], info["refreshToken"])


def test_the_sdks_own_custom_token_example_creates_is_enforced_and_edits(commcell, server):
    """cvpysdk documents `api_endpoints=["/client", "/v4/servergroup"]`: paths tokensmith need not serve."""
    user = commcell.users.get("alice")
    info = user.create_access_token("custom", token_type=3, api_endpoints=["/client", "/v4/servergroup"])
    assert info["tokenType"] == "CUSTOM"
    who = f"http://{server}/commandcenter/api/WhoAmI"
    assert requests.post(who, headers={"Authorization": f"Bearer {info['accessToken']}"}).status_code == 403
    edited = user.edit_access_token(
        info["accessTokenId"], token_name="custom", token_type=3, api_endpoints=["/client", "/WhoAmI"]
    )
    assert edited["apiEndpoints"] == ["/client", "/WhoAmI"]
    assert requests.post(who, headers={"Authorization": f"Bearer {info['accessToken']}"}).status_code == 200


def test_the_sdk_reports_a_field_error_from_the_server(commcell):
    from cvpysdk.exception import SDKException

    user = commcell.users.get("alice")
    with pytest.raises(SDKException, match="apiEndpoints"):
        user.create_access_token("bad", token_type=3, api_endpoints=["/"])


def test_the_sdk_can_use_an_access_token_as_its_authtoken(commcell, server):
    from cvpysdk.commcell import Commcell

    info = commcell.users.get("alice").create_access_token("as-authtoken", token_type=2)
    cell = Commcell(server, authtoken=f"Bearer {info['accessToken']}")
    assert cell.commcell_username == "alice"


def test_a_wrong_password_is_reported_by_the_sdk_as_a_login_error(server, alice):
    from cvpysdk.commcell import Commcell
    from cvpysdk.exception import SDKException

    with pytest.raises(SDKException, match="Invalid username or password"):
        Commcell(server, "alice", "wrong password")
