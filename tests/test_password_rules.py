"""Passwords (NIST SP 800-63B): at least 12 characters, not on the bundled common-password list, and
a refusal that says why without repeating the password; the generated first-admin password passes."""

from __future__ import annotations

import pytest

from tests.admin.helpers import headers_for
from tests.conftest import PASSWORD
from tests.gateway.conftest import ADMIN_PASSWORD
from tokensmith import passwords, users
from tokensmith.errors import InvalidValue

REFUSED = [
    ("12345678", "at least 12"),
    (" " * 8, "at least 12"),
    ("eleven-char", "at least 12"),
    (" " * 12, "whitespace"),
    ("qwerty123456", "commonly used"),  # on the list as it is
    ("password1234", "commonly used"),  # a listed password with digits around it
    ("!!iloveyou!!", "commonly used"),
    ("ILOVEYOU123456", "commonly used"),  # the list is compared case-insensitively
    ("abcabcabcabc", "repeated"),
    ("xxxxxxxxxxxxxxxx", "repeated"),
    ("123456789012", "consecutive"),
    ("mnopqrstuvwxyz", "consecutive"),
]


@pytest.mark.parametrize(("password", "why"), REFUSED)
def test_weak_passwords_are_refused_with_a_reason_that_does_not_echo_them(core, password, why):
    with pytest.raises(InvalidValue) as refused:
        users.create_user(core, "alice", password)
    assert refused.value.field == "password" and why in refused.value.message
    assert not password.strip() or password.strip() not in refused.value.message


def test_the_password_may_not_be_the_username(core):
    with pytest.raises(InvalidValue, match="username"):
        users.create_user(core, "alice-in-wonderland", "Alice-in-Wonderland")


@pytest.mark.parametrize("password", [PASSWORD, ADMIN_PASSWORD, "Tr0ub4dor&3-horse", "ünïcödé pässwörd"])
def test_long_uncommon_passwords_are_accepted(core, password):
    users.create_user(core, "alice", password)
    assert users.authenticate(core, "alice", password, None).username == "alice"


def test_the_bundled_list_holds_the_most_common_passwords():
    common = passwords.common_passwords()
    assert len(common) > 10_000 and {"123456", "password", "qwerty", "iloveyou"} <= common


def test_setting_a_password_follows_the_same_rules(core, alice):
    with pytest.raises(InvalidValue, match="commonly used"):
        users.set_password(core, "alice", "password1234")


def test_the_admin_api_refuses_a_common_password_without_echoing_it(client, make_user):
    make_user("root", role="admin")
    body = {"username": "erin", "password": "qwerty123456"}
    response = client.post("/api/v1/users", headers=headers_for(client, "root"), json=body)
    assert response.status_code == 400 and "commonly used" in response.text
    assert "qwerty123456" not in response.text


def test_a_lone_surrogate_in_a_password_is_hashed_not_a_500(core):
    users.create_user(core, "alice", "surrogate \ud800 inside a long password")
    assert users.authenticate(core, "alice", "surrogate \ud800 inside a long password", None)


def test_the_generated_first_admin_password_passes_the_rules(core):
    generated = users.ensure_admin(core)
    assert generated is not None
    passwords.check_new(generated, username="admin")
    assert users.authenticate(core, "admin", generated, None).role == "admin"
