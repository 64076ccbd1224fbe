"""Which pairs may renew (tokensmith.scoped_tokens.renewal), judged on credentials and their owner alone."""

from datetime import UTC, datetime, timedelta

import pytest

from tokensmith.models import Credential, User
from tokensmith.scoped_tokens.renewal import NO_LONGER_VALID, is_pair, refusal

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWNER = User(id=7, username="alice", role="user", disabled=False)


def pair(**refresh_fields) -> tuple[Credential, Credential]:
    refresh = Credential(
        id=10,
        kind="refresh",
        dialect="commandcenter",
        family="f1",
        user_id=7,
        expires_at=NOW + timedelta(days=14),
        renewable_until=NOW + timedelta(days=90),
        revoked_at=None,
    )
    for name, value in refresh_fields.items():
        setattr(refresh, name, value)
    access = Credential(
        id=11, kind="access", dialect="commandcenter", family="f1", user_id=7, parent_id=10, revoked_at=None
    )
    return access, refresh


def test_the_current_pair_of_a_live_chain_renews():
    access, refresh = pair()
    assert is_pair(access, refresh, "commandcenter")
    assert refusal(access, refresh, OWNER, NOW) is None


@pytest.mark.parametrize(("field", "value"), [("family", "f2"), ("user_id", 8), ("dialect", "integration")])
def test_credentials_of_another_chain_owner_or_dialect_are_no_pair(field, value):
    access, refresh = pair()
    setattr(access, field, value)
    assert not is_pair(access, refresh, "commandcenter")


def test_an_unknown_credential_makes_no_pair():
    access, refresh = pair()
    assert not is_pair(None, refresh, "commandcenter")
    assert not is_pair(access, None, "commandcenter")
    assert not is_pair(access, refresh, "integration")


def test_a_revoked_or_superseded_pair_or_a_missing_or_disabled_owner_is_no_longer_valid():
    access, refresh = pair(revoked_at=NOW - timedelta(minutes=1))
    assert refusal(access, refresh, OWNER, NOW) == NO_LONGER_VALID
    access, refresh = pair()
    access.parent_id = 9  # minted from an earlier refresh token of the chain
    assert refusal(access, refresh, OWNER, NOW) == NO_LONGER_VALID
    access, refresh = pair()
    assert refusal(access, refresh, None, NOW) == NO_LONGER_VALID
    disabled = User(id=7, username="alice", role="user", disabled=True)
    assert refusal(access, refresh, disabled, NOW) == NO_LONGER_VALID


def test_renewal_ends_at_renewable_until_and_when_the_window_after_expiry_has_passed():
    access, refresh = pair(renewable_until=NOW)
    assert refusal(access, refresh, OWNER, NOW) == (
        "The token is past its renewable-until time. Create a new access token."
    )
    access, refresh = pair(expires_at=NOW)
    assert refusal(access, refresh, OWNER, NOW) == (
        "The access token expired more than 14 days ago and can no longer be renewed. "
        "Create a new access token."
    )
    access, refresh = pair(expires_at=NOW + timedelta(microseconds=1))
    assert refusal(access, refresh, OWNER, NOW) is None
