"""The rules an owner of scoped tokens meets (tokensmith.scoped_tokens.rules): no rows, no clock."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tokensmith.auth import Principal
from tokensmith.errors import Forbidden, InvalidValue
from tokensmith.scoped_tokens.model import ALL, CUSTOM, PROVISIONING, RECOVERY, Changes
from tokensmith.scoped_tokens.rules import (
    MAX_ENDPOINTS,
    MAX_RENEWABLE_FOR,
    RENEW_WINDOW,
    checked_endpoints,
    checked_fixed_expiry,
    checked_name,
    checked_renewable_until,
    refresh_expiry,
    refuse_fixed_expiry,
    refuse_renewable_until,
    require_session,
    require_user,
    type_named,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SESSION = Principal(
    credential_id=1,
    public_id="tss_x",
    kind="session",
    dialect="commandcenter",
    user_id=7,
    username="alice",
    role="user",
    tenant_id=None,
)


def test_only_a_user_holding_a_login_session_manages_tokens():
    require_session(SESSION)
    with pytest.raises(Forbidden, match="using another access token"):
        require_session(replace(SESSION, kind="access"))
    tenant = replace(SESSION, user_id=None, role="tenant", tenant_id=3)
    with pytest.raises(Forbidden, match="Only a user"):
        require_user(tenant)
    with pytest.raises(Forbidden, match="Only a user"):
        require_session(tenant)


def test_a_type_is_one_of_the_cores_names():
    assert type_named("custom") is CUSTOM
    with pytest.raises(InvalidValue, match="Unknown token type"):
        type_named("Custom")


def test_a_name_is_trimmed_and_bounded():
    assert checked_name("  build bot ") == "build bot"
    assert checked_name("x" * 255) == "x" * 255
    for bad in (None, "", "   ", "x" * 256):
        with pytest.raises(InvalidValue) as caught:
            checked_name(bad)
        assert caught.value.field == "name"


def test_a_scoped_type_takes_normalised_endpoints_once_each():
    assert checked_endpoints(["v4/Jobs", "/v4//Jobs/", "/v4/Jobs"], CUSTOM, required=True) == ["/v4/Jobs"]


def test_a_scoped_type_needs_an_endpoint_when_required_and_at_most_the_limit():
    with pytest.raises(InvalidValue, match="at least one endpoint"):
        checked_endpoints([], CUSTOM, required=True)
    assert checked_endpoints(None, CUSTOM, required=False) == []
    with pytest.raises(InvalidValue, match=f"At most {MAX_ENDPOINTS}"):
        checked_endpoints([f"/e{i}" for i in range(MAX_ENDPOINTS + 1)], CUSTOM, required=True)


def test_endpoints_on_a_type_that_is_not_scoped_are_refused_and_none_is_fine():
    assert checked_endpoints(None, ALL, required=True) == []
    with pytest.raises(InvalidValue, match="Only tokens limited to API endpoints"):
        checked_endpoints(["/v4/Jobs"], ALL, required=False)


@pytest.mark.parametrize("endpoint", ["/", "/v4/../admin", "/v4?x=1"])
def test_an_endpoint_covering_everything_or_escaping_its_path_is_refused(endpoint):
    with pytest.raises(InvalidValue):
        checked_endpoints([endpoint], CUSTOM, required=True)


def test_each_kind_of_type_refuses_the_other_kinds_expiry():
    refuse_fixed_expiry(Changes(renewable_until=NOW))
    refuse_renewable_until(Changes(expires_at=NOW))
    with pytest.raises(InvalidValue) as caught:
        refuse_fixed_expiry(Changes(expires_at=NOW))
    assert caught.value.field == "expires_at"
    with pytest.raises(InvalidValue) as caught:
        refuse_renewable_until(Changes(renewable_until=NOW))
    assert caught.value.field == "renewable_until"


def test_renewable_until_lies_in_the_future_and_within_the_maximum_from_creation():
    created = NOW - timedelta(days=100)
    latest = created + MAX_RENEWABLE_FOR
    assert checked_renewable_until(latest, NOW, created) == latest
    with pytest.raises(InvalidValue, match="at most 365 days"):
        checked_renewable_until(latest + timedelta(seconds=1), NOW, created)
    with pytest.raises(InvalidValue, match="in the future"):
        checked_renewable_until(NOW, NOW, created)


def test_a_fixed_expiry_stays_within_its_types_maximum_from_creation():
    created = NOW - timedelta(days=10)
    assert checked_fixed_expiry(created + timedelta(days=14), RECOVERY, NOW, created) == created + timedelta(
        days=14
    )
    with pytest.raises(InvalidValue, match="at most 14 days"):
        checked_fixed_expiry(created + timedelta(days=15), RECOVERY, NOW, created)
    assert checked_fixed_expiry(created + timedelta(days=15), PROVISIONING, NOW, created)
    with pytest.raises(InvalidValue, match="in the future"):
        checked_fixed_expiry(NOW, PROVISIONING, NOW, created)


def test_an_existing_expiry_under_a_new_type_is_checked_only_against_the_maximum():
    created = NOW - timedelta(days=10)
    past = NOW - timedelta(days=1)
    assert checked_fixed_expiry(past, RECOVERY, NOW, created, moment_checked=False) == past
    with pytest.raises(InvalidValue, match="at most 14 days"):
        checked_fixed_expiry(created + timedelta(days=20), RECOVERY, NOW, created, moment_checked=False)


def test_a_refresh_token_outlives_its_access_token_by_the_window_but_never_renewable_until():
    assert refresh_expiry(NOW, NOW + timedelta(days=90)) == NOW + RENEW_WINDOW
    assert refresh_expiry(NOW, NOW + timedelta(days=3)) == NOW + timedelta(days=3)
