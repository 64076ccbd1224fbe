"""The one policy: declarations, caller kinds, administration, grants and endpoint scopes."""

import pytest

from tokensmith import policy
from tokensmith.auth import Principal
from tokensmith.errors import Forbidden, InvalidValue
from tokensmith.models import User


def principal(role="user", user_id=1, tenant_id=None, kind="access", **extra):
    return Principal(
        credential_id=1,
        public_id="tsa_x",
        kind=kind,
        dialect="integration",
        user_id=user_id,
        username="someone",
        role=role,
        tenant_id=tenant_id,
        **extra,
    )


def user(user_id, role="user", tenant_id=None):
    return User(id=user_id, username=f"u{user_id}", role=role, tenant_id=tenant_id)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {},
        {"callers": []},
        {"callers": ["root"]},
        {"callers": ["anonymous", "user"]},
        {"callers": ["user"], "platform": True},
        {"callers": ["admin"], "color": "red"},
    ],
)
def test_a_declaration_that_says_nothing_clear_is_refused(raw):
    with pytest.raises(ValueError):
        policy.Declaration.parse(raw)


def test_a_credential_that_speaks_for_nobody_is_refused():
    with pytest.raises(Forbidden):
        policy.caller_kind(principal(user_id=None, tenant_id=None, role="tenant"))


def test_a_session_satisfies_a_session_only_declaration_and_an_access_token_does_not():
    only_sessions = policy.Declaration(frozenset({"session"}))
    assert policy.admits(only_sessions, principal(kind="session"))
    assert not policy.admits(only_sessions, principal())


def test_platform_operations_admit_admins_of_no_tenant_only():
    platform = policy.Declaration(frozenset({"admin", "superadmin"}), platform=True)
    assert policy.admits(platform, principal(role="admin"))
    assert not policy.admits(platform, principal(role="admin", tenant_id=3))
    assert policy.admits(platform, principal(role="superadmin", tenant_id=3))


def test_administration_follows_role_rank_and_tenant():
    tenant_admin = principal(role="admin", user_id=10, tenant_id=1)
    assert policy.administers(tenant_admin, user(11, tenant_id=1))
    assert policy.administers(tenant_admin, user(12, role="admin", tenant_id=1))
    assert not policy.administers(tenant_admin, user(13, tenant_id=2))
    assert not policy.administers(tenant_admin, user(14, role="superadmin", tenant_id=1))
    assert policy.administers(principal(role="admin", user_id=10), user(13, tenant_id=2))
    assert not policy.administers(principal(role="user", user_id=10), user(11))
    assert policy.administers(principal(role="user", user_id=10), user(10))
    assert not policy.administers(principal(role="tenant", user_id=None, tenant_id=1), user(11, tenant_id=1))


def test_nobody_grants_a_role_above_their_own():
    policy.require_may_grant(principal(role="admin"), "admin")
    with pytest.raises(Forbidden):
        policy.require_may_grant(principal(role="admin"), "superadmin")
    with pytest.raises(InvalidValue):
        policy.require_may_grant(principal(role="superadmin"), "root")


def test_scopes_cover_paths_at_segment_boundaries():
    assert policy.covers(["/V4/AccessToken"], ["/v4/accesstoken/17"])
    assert not policy.covers(["/User"], ["/users"])
    assert not policy.covers(["/a"], ["/audit"])
    assert not policy.covers(["/app/orders"], ["/app/orders/../admin"])


@pytest.mark.parametrize("entry", ["/", "", "  ", "/./", "/a/..", "/a?b=1", "/a/../b"])
def test_a_scope_entry_covering_everything_or_ambiguous_is_refused(entry):
    with pytest.raises(InvalidValue):
        policy.scope_entry(entry, max_length=512)


def test_a_scope_entry_keeps_its_spelling_with_slashes_tidied():
    assert policy.scope_entry("client//jobs/", max_length=512) == "/client/jobs"
