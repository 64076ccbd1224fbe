"""`token.expiring` and `token.expired`: found by the periodic scan, which follows the core clock (the
tests move it), each (credential, lead time) once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from tests.webhooks.conftest import queued_events, subscribe
from tokensmith import jobs, runtime, tokens
from tokensmith.webhooks import expiry


def _mint(core, user, lifespan: timedelta, name: str = "t") -> str:
    with core.db.write() as session:
        issued = tokens.mint(
            session,
            core,
            kind="refresh",
            dialect="integration",
            now=core.clock.now(),
            user_id=user.id,
            name=name,
            lifespan=lifespan,
        )
    return issued.credential.public_id


def _seen(core) -> list[tuple[str, str, int | None]]:
    """The expiry events about the refresh tokens a test minted (the access token behind the test's own
    API calls expires along the way too, and is announced: not what these tests look at)."""
    return [
        (e["type"], e["data"]["publicId"], e["data"].get("noticeHours"))
        for e in queued_events(core)
        if e["type"] in ("token.expiring", "token.expired") and e["data"]["kind"] == "refresh"
    ]


@pytest.fixture
def watching(client, alice_headers):
    return subscribe(client, alice_headers, "https://hooks.example.com/", ["token.expiring", "token.expired"])


def _until(core, clock, moment):
    """Move the clock to `moment` and run what is due: one scan, over the whole stretch since the last."""
    clock.set(moment)
    jobs.run_due(core)


def test_a_token_announces_both_lead_times_then_its_expiry_once_each(core, clock, alice, watching):
    start = clock.now()
    jobs.run_due(core)  # the first scan: nothing has happened yet
    ten_days = _mint(core, alice, timedelta(days=10))
    _until(core, clock, start + timedelta(days=2))
    assert _seen(core) == []
    _until(core, clock, start + timedelta(days=3, minutes=1))
    assert _seen(core) == [("token.expiring", ten_days, 168)]
    _until(core, clock, start + timedelta(days=3, minutes=2))
    _until(core, clock, start + timedelta(days=9, minutes=1))
    assert _seen(core)[1:] == [("token.expiring", ten_days, 24)]
    _until(core, clock, start + timedelta(days=10, minutes=1))
    assert _seen(core)[2:] == [("token.expired", ten_days, None)]
    _until(core, clock, start + timedelta(days=40))
    assert len(_seen(core)) == 3


def test_a_short_lived_token_never_crosses_a_lead_time_but_expires(core, clock, alice, watching):
    jobs.run_due(core)
    short = _mint(core, alice, timedelta(hours=2))
    _until(core, clock, clock.now() + timedelta(hours=3))
    assert _seen(core) == [("token.expired", short, None)]


def test_a_long_jump_announces_what_is_still_ahead_and_what_expired(core, clock, alice, watching):
    jobs.run_due(core)
    five_days = _mint(core, alice, timedelta(days=5), "five")
    thirty_days = _mint(core, alice, timedelta(days=30), "thirty")
    _until(core, clock, clock.now() + timedelta(days=24))  # 6 days left: the 7-day notice, not the 1-day
    assert sorted(_seen(core)) == [("token.expired", five_days, None), ("token.expiring", thirty_days, 168)]


def test_a_revoked_token_announces_no_expiry(client, core, clock, alice, watching):
    jobs.run_due(core)
    public_id = _mint(core, alice, timedelta(days=1))
    with core.db.write() as session:
        from tokensmith.models import Credential

        tokens.revoke_where(session, clock.now(), "test", Credential.public_id == public_id)
    _until(core, clock, clock.now() + timedelta(days=2))
    assert _seen(core) == []


def test_the_lead_times_are_runtime_settings(core, clock, alice, watching):
    runtime.change(core, ".webhooks.expiring_lead_time_1", "0", actor="test")
    runtime.change(core, ".webhooks.expiring_lead_time_2", "48", actor="test")
    jobs.run_due(core)
    public_id = _mint(core, alice, timedelta(days=10))
    _until(core, clock, clock.now() + timedelta(days=8, minutes=1))
    assert _seen(core) == [("token.expiring", public_id, 48)]


def test_a_clock_set_back_and_forward_again_announces_nothing_twice(core, clock, alice, watching):
    start = clock.now()
    jobs.run_due(core)
    public_id = _mint(core, alice, timedelta(hours=1))
    _until(core, clock, start + timedelta(hours=2))
    clock.set(start)
    expiry.scan(core)
    clock.set(start + timedelta(hours=3))
    expiry.scan(core)
    assert _seen(core) == [("token.expired", public_id, None)]


def test_nothing_is_scanned_for_while_nobody_subscribes(core, clock, alice):
    _mint(core, alice, timedelta(hours=1))
    clock.advance(hours=2)
    jobs.run_due(core)
    assert expiry.scan(core) == 0 and _seen(core) == []


def test_an_expiring_token_is_delivered_to_the_receiver(client, core, clock, alice, alice_headers, receiver):
    hook = subscribe(client, alice_headers, receiver.url, ["token.expiring"])
    jobs.run_due(core)
    public_id = _mint(core, alice, timedelta(days=2))
    _until(core, clock, clock.now() + timedelta(days=1, minutes=1))
    assert len(receiver.received) == 1
    payload = Verifier(hook["secret"]).verify(receiver.received[0].body, receiver.received[0].headers)
    assert payload["type"] == "token.expiring" and payload["data"]["publicId"] == public_id
    assert payload["data"]["noticeHours"] == 24 and payload["data"]["expiresAt"]
