"""Each fault kind, and the journal, seen from a real HTTP client."""

from __future__ import annotations

import time

import pytest
import requests

PASSWORD = "correct horse battery"
REFRESH = "tsr_CHlml00MR6OO3F5duOPvrUxTG2gPynbhTqPUoNJag4GK2HZ2Xj"
VALIDATE = "/integration/v1/validateRefreshToken/"


@pytest.fixture(scope="module")
def alice(tokensmith_server) -> int:
    tokensmith_server.reset(fresh=True)
    seeded = tokensmith_server.seed(
        {
            "users": [{"username": "alice", "password": PASSWORD}],
            "tokens": [{"user": "alice", "value": REFRESH, "name": "ci"}],
        }
    )
    return seeded["users"]["alice"]


def _validate(tokensmith, alice: int) -> requests.Response:
    return requests.post(
        tokensmith.url + VALIDATE, json={"refresh_token": REFRESH, "user_id": alice}, timeout=10
    )


def test_a_response_fault_answers_its_status_and_body_for_the_next_times_calls(tokensmith, alice):
    tokensmith.fault("validateRefreshToken", status=503, body={"error": "maintenance"}, times=2)
    replies = [_validate(tokensmith, alice) for _ in range(3)]
    assert [r.status_code for r in replies] == [503, 503, 200]
    assert replies[0].json() == {"error": "maintenance"}
    assert replies[2].json()["token_status"] == "ACTIVE"
    assert tokensmith.faults() == []


def test_a_delay_fault_adds_latency_then_answers_for_real(tokensmith, alice):
    tokensmith.fault("validateRefreshToken", "delay", delay_ms=400)
    began = time.perf_counter()
    reply = _validate(tokensmith, alice)
    assert time.perf_counter() - began >= 0.4
    assert reply.status_code == 200 and reply.json()["token_status"] == "ACTIVE"


def test_a_reset_fault_resets_the_connection(tokensmith, alice):
    tokensmith.fault("validate_refresh_token", "reset")
    with pytest.raises(requests.ConnectionError, match="reset|Connection aborted"):
        _validate(tokensmith, alice)
    assert _validate(tokensmith, alice).status_code == 200


def test_an_empty_fault_closes_the_connection_without_a_reply(tokensmith, alice):
    tokensmith.fault("validate_refresh_token", "empty")
    with pytest.raises(requests.ConnectionError, match="without response|Connection aborted"):
        _validate(tokensmith, alice)
    assert _validate(tokensmith, alice).status_code == 200


def test_a_malformed_fault_sends_json_headers_and_a_body_that_is_not_json(tokensmith, alice):
    tokensmith.fault("validate_refresh_token", "malformed")
    reply = _validate(tokensmith, alice)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        reply.json()


def test_a_fault_with_probability_zero_never_fires_and_stays_armed(tokensmith, alice):
    tokensmith.fault("validate_refresh_token", status=500, probability=0.0)
    assert all(_validate(tokensmith, alice).status_code == 200 for _ in range(5))
    assert [f["remaining"] for f in tokensmith.faults()] == [1]


def test_an_unknown_operation_cannot_be_armed(tokensmith):
    with pytest.raises(Exception, match="400"):
        tokensmith.fault("no_such_operation")


def test_the_journal_lists_each_request_with_its_principal_and_never_a_secret(tokensmith, alice):
    _validate(tokensmith, alice)
    login = requests.post(
        tokensmith.url + "/commandcenter/api/Login",
        json={"username": "alice", "password": "Y29ycmVjdCBob3JzZSBiYXR0ZXJ5"},
        headers={"Accept": "application/json"},
        timeout=30,
    ).json()
    requests.post(
        tokensmith.url + "/commandcenter/api/WhoAmI",
        headers={"Authtoken": login["token"], "Accept": "application/json"},
        timeout=10,
    )
    journal = tokensmith.requests()
    assert [(e["method"], e["path"], e["status"]) for e in journal] == [
        ("POST", VALIDATE, 200),
        ("POST", "/commandcenter/api/Login", 200),
        ("POST", "/commandcenter/api/WhoAmI", 200),
    ]
    assert journal[2]["operationId"] == "commandcenter.whoAmI"
    session_public_id = login["token"].removeprefix("QSDK ")[:16]
    assert journal[2]["principal"] == session_public_id
    text = repr(journal)
    assert REFRESH not in text and login["token"].split()[-1] not in text and PASSWORD not in text
    assert [e["path"] for e in tokensmith.requests("who_am_i")] == ["/commandcenter/api/WhoAmI"]
    tokensmith.clear_requests()
    assert tokensmith.requests() == []
