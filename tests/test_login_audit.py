"""A failed login's audit row names the submitted username only when it names an account: a password
typed into the username field must never reach the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tokensmith import users
from tokensmith.errors import LoginFailed
from tokensmith.models import AuditEvent


def _failed_logins(core) -> list[AuditEvent]:
    with core.db.read() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")))


def test_a_password_typed_as_the_username_is_not_audited(core, alice):
    typed = "Correct-Horse-Battery-Staple-9"
    with pytest.raises(LoginFailed):
        users.authenticate(core, typed, "", "192.0.2.1")
    (event,) = _failed_logins(core)
    assert typed not in repr(event.detail) and typed not in repr((event.actor, event.target, event.client))
    assert event.target is None and "username" not in event.detail


def test_a_failed_login_to_an_account_names_the_account(core, make_user):
    unal = make_user("Ünal")
    with pytest.raises(LoginFailed):
        users.authenticate(core, "ÜNAL", "not the password at all", "192.0.2.1")
    (event,) = _failed_logins(core)
    assert event.target == f"user:{unal.id}" and event.detail["username"] == "Ünal"
