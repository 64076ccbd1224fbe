"""Throttling under concurrency: N racing wrong passwords run at most the limit's password checks,
per account and per address, however many app instances share the database."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from tests import racing
from tokensmith import runtime, users
from tokensmith.errors import LoginFailed, Throttled
from tokensmith.models import LoginThrottle
from tokensmith.passwords import Passwords

RACERS = 40


@pytest.fixture
def checks(monkeypatch):
    """Count real password verifications (Argon2id runs), from any thread."""
    counted = {"n": 0}
    lock = threading.Lock()
    real = Passwords.verify

    def counting(self, stored_hash, password):
        with lock:
            counted["n"] += 1
        return real(self, stored_hash, password)

    monkeypatch.setattr(Passwords, "verify", counting)
    return counted


def _limit(core, key: str) -> int:
    with core.db.read() as session:
        return runtime.get_value(session, key)


def _second_instance(core):
    """Another worker or instance: its own engine and pool on the same database."""
    from tokensmith.db import Database

    return dataclasses.replace(core, db=Database(core.db.url))


def test_racing_wrong_passwords_for_one_account_run_at_most_the_limits_checks(core, alice, checks):
    limit = _limit(core, ".authentication.throttle.max_failures_per_account")
    other = _second_instance(core)
    turn = iter(range(RACERS))
    lock = threading.Lock()

    def attempt():
        with lock:
            i = next(turn)
        instance = core if i % 2 else other
        return users.authenticate(instance, "alice", f"wrong password {i}", f"10.0.{i}.1")

    try:
        results = racing.race(RACERS, attempt, (LoginFailed, Throttled))
    finally:
        other.db.dispose()
    assert len(results) == RACERS
    failed = [r for r in results if isinstance(r, LoginFailed)]
    assert checks["n"] == len(failed) <= limit
    assert all(isinstance(r, LoginFailed | Throttled) for r in results)
    with pytest.raises(Throttled):  # even the right password waits now
        users.authenticate(core, "alice", "correct horse battery", "10.9.9.9")


def test_racing_wrong_passwords_from_one_address_run_at_most_the_limits_checks(core, make_user, checks):
    limit = _limit(core, ".authentication.throttle.max_failures_per_address")
    names = iter(range(RACERS))
    lock = threading.Lock()

    def attempt():
        with lock:
            i = next(names)
        return users.authenticate(core, f"user{i}", "wrong password", "192.0.2.7")

    results = racing.race(RACERS, attempt, (LoginFailed, Throttled))
    assert len(results) == RACERS
    assert checks["n"] == sum(isinstance(r, LoginFailed) for r in results) <= limit


def test_a_refused_attempt_takes_no_slot_on_the_other_counter(core, alice, clock):
    """Address blocked: the account's counter must not move (the refusal rolls back both)."""
    limit = _limit(core, ".authentication.throttle.max_failures_per_address")
    for i in range(limit):
        with pytest.raises(LoginFailed):
            users.authenticate(core, f"stranger{i}", "wrong password", "192.0.2.9")
    for _ in range(3):
        with pytest.raises(Throttled):
            users.authenticate(core, "alice", "wrong password", "192.0.2.9")
    assert users.authenticate(core, "alice", "correct horse battery", "192.0.2.10").username == "alice"


def test_a_success_gives_its_address_slot_back(core, make_user):
    limit = _limit(core, ".authentication.throttle.max_failures_per_address")
    for i in range(limit + 3):
        make_user(f"worker{i}")
        users.authenticate(core, f"worker{i}", "correct horse battery", "192.0.2.50")


def test_the_throttle_table_never_holds_the_submitted_username(core, alice):
    typed = "my-secret-passphrase-typed-as-username"
    with pytest.raises(LoginFailed):
        users.authenticate(core, typed, "wrong password", "192.0.2.1")
    with core.db.read() as session:
        keys = [row.key for row in session.query(LoginThrottle)]
    assert keys and not any(typed in key for key in keys)
