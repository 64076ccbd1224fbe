"""Usernames: one normalised key (NFKC + case folding) on SQLite and PostgreSQL alike, and names that
could fool a reader refused with a clear field error in each dialect's format."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.admin.helpers import headers_for
from tests.conftest import PASSWORD
from tokensmith import refresh_tokens, tenants, usernames, users
from tokensmith.errors import Conflict, InvalidValue, LoginFailed, NotAllowed
from tokensmith.models import User

SAME_NAME = [
    ("Ünal", "ünal"),
    ("Ünal", "ÜNAL"),
    ("Ünal", "U\u0308nal"),  # decomposed: U + combining diaeresis
    ("alice", "ＡＬＩＣＥ"),  # full-width
    ("Straße", "STRASSE"),
    ("alice", "\u00a0alice"),  # a no-break space around it
    ("ǅemal", "džemal"),
]

REFUSED = [
    ("pаypal", "scripts"),  # Cyrillic а among Latin letters
    ("Ωmega", "scripts"),  # Greek among Latin
    ("аdmin", "scripts"),
    ("ali\u200bce", "invisible"),  # zero-width space
    ("ali\u200dce", "invisible"),  # zero-width joiner
    ("ali\u00adce", "invisible"),  # soft hyphen
    ("ali\u3164ce", "invisible"),  # Hangul filler: a letter that shows nothing
    ("\u202eecila", "bidirectional"),  # right-to-left override
    ("ali\u2067ce", "bidirectional"),  # right-to-left isolate
    ("ali\x07ce", "control"),
    ("ali\x1bce", "control"),
    ("   ", "whitespace"),
    ("\u3000\u00a0", "whitespace"),
    ("ali\u2028ce", "separator"),
    ("a" * 256, "at most"),
]


@pytest.mark.parametrize(("first", "second"), SAME_NAME)
def test_two_spellings_of_one_name_are_one_account(core, first, second):
    created = users.create_user(core, first, PASSWORD)
    assert users.authenticate(core, second, PASSWORD, None).id == created.id
    with pytest.raises(Conflict):
        users.create_user(core, second, PASSWORD)


def test_a_name_with_non_ascii_capitals_logs_in_as_typed(core):
    """SQLite's lower() is ASCII-only: `Ünal` could be created and then never log in."""
    created = users.create_user(core, "Ünal", PASSWORD)
    assert users.authenticate(core, "Ünal", PASSWORD, None).id == created.id
    assert created.username == "Ünal" and created.username_key == "ünal"


@pytest.mark.parametrize(("name", "why"), REFUSED)
def test_names_that_could_fool_a_reader_are_refused_with_a_clear_message(core, name, why):
    with pytest.raises(InvalidValue) as refused:
        users.create_user(core, name, PASSWORD)
    assert refused.value.field == "username" and why in refused.value.message
    with core.db.read() as session:
        assert session.scalar(select(User.id)) is None


ACCEPTED = ["José", "Иван", "Ελληνικά", "山田taro", "김민준", "user_1.name@example.com"]


@pytest.mark.parametrize("name", ACCEPTED)
def test_single_script_and_cjk_names_are_accepted(core, name):
    created = users.create_user(core, name, PASSWORD)
    assert users.authenticate(core, name.upper(), PASSWORD, None).id == created.id


def test_the_admin_api_refuses_a_mixed_script_name_in_its_error_format(client, make_user):
    make_user("root", role="admin")
    body = {"username": "pаypal", "password": PASSWORD}
    response = client.post("/api/v1/users", headers=headers_for(client, "root"), json=body)
    assert response.status_code == 400 and "scripts" in response.text and "errors" in response.json()


def test_the_admin_api_answers_409_for_a_case_variant(client, make_user):
    make_user("root", role="admin")
    make_user("Ünal")
    response = client.post(
        "/api/v1/users", headers=headers_for(client, "root"), json={"username": "ünal", "password": PASSWORD}
    )
    assert response.status_code == 409


def test_an_sso_user_is_recognised_under_any_spelling(core):
    users.create_user(core, "Carol", None, auth_source="sso")
    with pytest.raises(NotAllowed):
        refresh_tokens.authenticate_for_refresh(core, "CAROL", PASSWORD, None)


def test_set_password_finds_the_account_by_its_key(core):
    users.create_user(core, "Ünal", PASSWORD)
    users.set_password(core, "ÜNAL", "a brand new passphrase")
    assert users.authenticate(core, "ünal", "a brand new passphrase", None).username == "Ünal"
    with pytest.raises(LoginFailed):
        users.authenticate(core, "ünal", PASSWORD, None)


def test_lookups_of_names_no_account_can_have_find_nothing_without_an_error(core, alice):
    for name in ("ali\x00ce", "\ud800", "a" * 5000):
        with pytest.raises(LoginFailed):
            users.authenticate(core, name, PASSWORD, None)
    assert usernames.lookup_key("\ud800") is None


def test_no_key_contains_an_upper_case_ascii_letter():
    """The migration parks colliding accounts on `DUPLICATE-...` keys; no typed name may reach them."""
    keys = (usernames.key(chr(i)) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    assert not any(any("A" <= c <= "Z" for c in key) for key in keys)


def test_tenants_module_uses_the_same_checks():
    with pytest.raises(InvalidValue) as refused:
        tenants._checked(
            tenants.NewTenant(
                name="n", description=None, sub_domain="n", admin_username="pаypal", admin_password=PASSWORD
            )
        )
    assert refused.value.field == "admin_username"
