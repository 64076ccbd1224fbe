"""Delivery to a real HTTP receiver, in the job workers: signed as Standard Webhooks says (checked with
the `standardwebhooks` package), retried with backoff under one `webhook-id`, given up after the
documented number of attempts, every attempt recorded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from tests.integration.helpers import refresh_token
from tests.webhooks.conftest import BASE, receiving, subscribe
from tokensmith import jobs, runtime
from tokensmith.webhooks import delivery


def _revoke(client, headers, public_id):
    response = client.post(f"/api/v1/credentials/{public_id}/revoke", headers=headers)
    assert response.status_code == 200, response.text


def _attempts(client, headers, hook):
    response = client.get(f"{BASE}/{hook['id']}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first


@pytest.fixture
def revoked(client, alice, alice_headers):
    """Revoke one of alice's refresh tokens (no derived tokens): one `token.revoked` event."""

    def revoke():
        refresh = refresh_token(client, name="doomed")
        _revoke(client, alice_headers, refresh["refresh_token"][:16])
        return refresh["refresh_token"][:16]

    return revoke


def test_an_event_is_delivered_signed_and_verifies_with_standardwebhooks(
    client, core, alice_headers, receiver, revoked
):
    hook = subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    public_id = revoked()
    assert receiver.received == []  # never inside the request that caused it
    jobs.run_due(core)
    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert request.path == "/hook" and request.headers["content-type"] == "application/json"
    payload = Verifier(hook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "token.revoked" and payload["data"]["publicId"] == public_id
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["webhook-signature"].startswith("v1,")
    attempts = _attempts(client, alice_headers, hook)
    assert [(a["attempt"], a["status"], a["response_code"]) for a in attempts] == [(1, "succeeded", 204)]
    assert (
        attempts[0]["message_id"] == request.headers["webhook-id"]
        and attempts[0]["event_type"] == "token.revoked"
    )
    assert attempts[0]["error"] is None and attempts[0]["next_retry_at"] is None


def test_a_tampered_body_or_another_secret_does_not_verify(client, core, alice_headers, receiver, revoked):
    hook = subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    other = subscribe(client, alice_headers, receiver.url + "2", ["token.revoked"])
    revoked()
    jobs.run_due(core)
    by_path = {r.path: r for r in receiver.received}
    request = by_path["/hook"]
    with pytest.raises(Exception, match="signature"):
        Verifier(other["secret"]).verify(request.body, request.headers)
    with pytest.raises(Exception, match="signature"):
        Verifier(hook["secret"]).verify(request.body.replace(b"revoked", b"REVOKED"), request.headers)
    assert by_path["/hook2"].headers["webhook-id"] != request.headers["webhook-id"]  # one message each


def test_a_receiver_that_fails_twice_gets_the_third_attempt_with_the_same_webhook_id(
    client, core, clock, alice_headers, receiver, revoked
):
    receiver.answers = [500, 503]
    hook = subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    revoked()
    jobs.run_due(core)
    attempts = _attempts(client, alice_headers, hook)
    assert [(a["attempt"], a["status"], a["response_code"]) for a in attempts] == [
        (1, "failed", 500),
        (2, "pending", None),
    ]
    assert attempts[0]["next_retry_at"] == attempts[1]["scheduled_at"]
    assert "500" in attempts[0]["error"]
    jobs.run_due(core)
    assert len(receiver.received) == 1  # not due yet: the backoff follows the core clock
    clock.advance(delivery.retry_delay(1))
    jobs.run_due(core)
    clock.advance(delivery.retry_delay(2))
    jobs.run_due(core)
    assert len(receiver.received) == 3
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1
    bodies = {r.body for r in receiver.received}
    assert len(bodies) == 1  # the same message each time
    for request in receiver.received:
        Verifier(hook["secret"]).verify(request.body, request.headers)
    attempts = _attempts(client, alice_headers, hook)
    assert [(a["attempt"], a["status"], a["response_code"]) for a in attempts] == [
        (1, "failed", 500),
        (2, "failed", 503),
        (3, "succeeded", 204),
    ]
    assert {a["message_id"] for a in attempts} == ids


def test_delivery_gives_up_after_the_documented_number_of_attempts(
    client, core, clock, alice_headers, receiver, revoked
):
    receiver.default = 500
    hook = subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    revoked()
    jobs.run_due(core)
    for failures in range(1, delivery.MAX_ATTEMPTS):
        clock.advance(delivery.retry_delay(failures))
        jobs.run_due(core)
    assert len(receiver.received) == delivery.MAX_ATTEMPTS == 10
    attempts = _attempts(client, alice_headers, hook)
    assert [a["status"] for a in attempts] == ["failed"] * 9 + ["given-up"]
    assert attempts[-1]["next_retry_at"] is None
    clock.advance(days=30)
    jobs.run_due(core)
    assert len(receiver.received) == 10
    waits = [delivery.retry_delay(n).total_seconds() for n in range(1, 10)]
    assert waits == [5, 20, 80, 320, 1280, 5120, 20480, 21600, 21600]  # as docs/webhooks.md shows them
    assert timedelta(hours=19.5) < delivery.give_up_after() < timedelta(hours=19.7)


def test_a_receiver_that_is_down_is_a_failed_attempt_without_a_status(
    client, core, clock, alice_headers, revoked
):
    with receiving() as gone:
        url = gone.url
    hook = subscribe(client, alice_headers, url, ["token.revoked"])
    revoked()
    jobs.run_due(core)
    first = _attempts(client, alice_headers, hook)[0]
    assert first["status"] == "failed" and first["response_code"] is None and "Connect" in first["error"]


def test_a_redirect_is_not_followed(client, core, alice_headers, receiver, revoked):
    receiver.answers = [307]
    hook = subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    revoked()
    jobs.run_due(core)
    assert _attempts(client, alice_headers, hook)[0]["status"] == "failed"


def test_a_deleted_subscription_gets_nothing_more(client, core, alice_headers, receiver, revoked):
    hook = subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    revoked()
    assert client.delete(f"{BASE}/{hook['id']}", headers=alice_headers).status_code == 204
    jobs.run_due(core)
    assert receiver.received == []


def test_private_addresses_forbidden_after_subscribing_are_not_delivered_to(
    client, core, alice_headers, receiver, revoked
):
    hook = subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    runtime.change(core, ".webhooks.allow_private_addresses", "False", actor="test")
    revoked()
    jobs.run_due(core)
    assert receiver.received == []
    first = _attempts(client, alice_headers, hook)[0]
    assert first["status"] == "failed" and "private" in first["error"]


def test_a_secret_that_no_longer_opens_gives_up_at_once(client, core, alice_headers, receiver, revoked):
    hook = subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    revoked()
    core.key = b"another-server-secret-entirely-0123456789"
    try:
        jobs.run_due(core)
    finally:
        from tests.conftest import SECRET

        core.key = SECRET
    assert receiver.received == []
    first = _attempts(client, alice_headers, hook)[0]
    assert first["status"] == "given-up" and "server's key" in first["error"]


def test_the_body_is_the_event_envelope(client, core, alice_headers, receiver, revoked):
    subscribe(client, alice_headers, receiver.url, ["token.revoked"])
    public_id = revoked()
    jobs.run_due(core)
    body = json.loads(receiver.received[0].body)
    assert set(body) == {"type", "timestamp", "data"}
    assert body["timestamp"].endswith("Z") and body["data"]["publicId"] == public_id
