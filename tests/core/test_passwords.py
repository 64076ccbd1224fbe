"""Argon2id at the configured cost, and hashes made at another cost upgraded by the next login."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters

from tests.conftest import PASSWORD, TEST_ARGON2
from tokensmith import users
from tokensmith.config import Settings, SettingsError
from tokensmith.core import Core
from tokensmith.errors import LoginFailed
from tokensmith.models import User
from tokensmith.passwords import Argon2Cost, Passwords

OTHER_COST = Argon2Cost(time_cost=2, memory_cost=2048, parallelism=2)
KEY = {"TOKENSMITH_SECRET_KEY": "k" * 32}


def _cost_of(password_hash: str) -> Argon2Cost:
    parameters = extract_parameters(password_hash)
    return Argon2Cost(parameters.time_cost, parameters.memory_cost, parameters.parallelism)


def _stored_hash(core: Core, user_id: int) -> str:
    with core.db.read() as session:
        return session.get(User, user_id).password_hash


def _set_hash(core: Core, user_id: int, password_hash: str) -> None:
    with core.db.write() as session:
        session.get(User, user_id).password_hash = password_hash


def test_the_settings_default_to_argon2_cffis_own_cost():
    assert Settings.from_env(KEY).argon2 == Argon2Cost(time_cost=3, memory_cost=65536, parallelism=4)


def test_the_cost_is_read_from_the_environment():
    env = dict(
        KEY,
        TOKENSMITH_ARGON2_TIME_COST="5",
        TOKENSMITH_ARGON2_MEMORY_COST="32768",
        TOKENSMITH_ARGON2_PARALLELISM="2",
    )
    assert Settings.from_env(env).argon2 == Argon2Cost(time_cost=5, memory_cost=32768, parallelism=2)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKENSMITH_ARGON2_TIME_COST", "0"),
        ("TOKENSMITH_ARGON2_PARALLELISM", "two"),
        ("TOKENSMITH_ARGON2_MEMORY_COST", "31"),  # Argon2 needs 8 KiB for each of the 4 default lanes
    ],
)
def test_a_cost_argon2_cannot_use_is_refused_by_name(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(dict(KEY, **{name: value}))


def test_the_core_hashes_at_the_cost_its_settings_name(core):
    assert _cost_of(core.passwords.hash(PASSWORD)) == TEST_ARGON2


def test_a_login_upgrades_a_hash_made_at_another_cost(core, alice):
    old = Passwords(OTHER_COST).hash(PASSWORD)
    _set_hash(core, alice.id, old)
    assert users.authenticate(core, "alice", PASSWORD, None).id == alice.id
    upgraded = _stored_hash(core, alice.id)
    assert upgraded != old and _cost_of(upgraded) == TEST_ARGON2
    assert core.passwords.verify(upgraded, PASSWORD)
    assert users.authenticate(core, "alice", PASSWORD, None).id == alice.id  # and it still logs in


def test_a_wrong_password_leaves_an_old_hash_alone(core, alice):
    old = Passwords(OTHER_COST).hash(PASSWORD)
    _set_hash(core, alice.id, old)
    with pytest.raises(LoginFailed):
        users.authenticate(core, "alice", "not the password at all", None)
    assert _stored_hash(core, alice.id) == old


def test_a_hash_at_the_current_cost_is_kept_on_login(core, alice):
    before = _stored_hash(core, alice.id)
    users.authenticate(core, "alice", PASSWORD, None)
    assert _stored_hash(core, alice.id) == before


def test_rehash_only_answers_for_another_cost():
    current, other = Passwords(TEST_ARGON2), Passwords(OTHER_COST)
    assert current.rehash(current.hash(PASSWORD), PASSWORD) is None
    assert _cost_of(current.rehash(other.hash(PASSWORD), PASSWORD)) == TEST_ARGON2


def test_an_empty_stored_hash_never_verifies():
    passwords = Passwords(TEST_ARGON2)
    assert not passwords.verify("", "tokensmith-dummy-password")
    assert not passwords.verify(None, "tokensmith-dummy-password")
