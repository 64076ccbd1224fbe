"""The one verifier, format by format: what it accepts, what it refuses, and how it reads."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest

from tests.conftest import PASSWORD
from tokensmith import crypto, jwt_tokens, sessions, stats, tenants, tokens, users, verifier
from tokensmith.errors import Forbidden, TokenInvalid
from tokensmith.jwt_tokens import JwtFormat
from tokensmith.models import Credential, Tenant
from tokensmith.verifier import Accepted

# The core is told a dialect's facts as values: these formats are this test's, not any dialect's.
ISSUER = ".gateway.issuer"  # any registered string setting will do
TENANT_JWT = JwtFormat(
    kind="tenant", dialect="d1", owner="tenant", owner_claim="org", secret_claim="s", issuer_setting=ISSUER
)
OPERATOR_JWT = JwtFormat(
    kind="superadmin",
    dialect="d1",
    owner="user",
    owner_claim="sub",
    secret_claim="s",
    issuer_setting=ISSUER,
    owner_role="superadmin",
)
ACCESS = Accepted(frozenset({verifier.ACCESS}))
SESSION = Accepted(frozenset({verifier.SESSION}))
EVERYTHING = Accepted(frozenset(verifier.SECRET_FORMATS), (TENANT_JWT, OPERATOR_JWT))


def access_token(core, user, lifespan=timedelta(hours=1)) -> tokens.Issued:
    with core.db.write() as session:
        return tokens.mint(
            session,
            core,
            kind="access",
            dialect="d1",
            now=core.clock.now(),
            user_id=user.id,
            lifespan=lifespan,
        )


def login(core, user, idle_minutes=30) -> tokens.Issued:
    return sessions.login(
        core, user.username, PASSWORD, dialect="d1", device_id="dev", idle_minutes=idle_minutes, client=None
    ).issued


def tenant_token(core) -> tokens.Issued:
    _tenant, issued = tenants.create_tenant(
        core, tenants.NewTenant("Acme", None, "acme", "acme-admin", PASSWORD), TENANT_JWT, None
    )
    return issued


def same_public_id_other_secret(value: str) -> str:
    """A well-formed token (valid checksum) naming a real row, with a secret that is not its own."""
    body = (
        value[: 4 + crypto.PUBLIC_LEN] + ("A" if value[16] != "A" else "B") + value[17 : -crypto.CHECKSUM_LEN]
    )
    return body + crypto._checksum(body)


def revoke(core, issued: tokens.Issued) -> None:
    with core.db.write() as session:
        tokens.revoke_where(session, core.clock.now(), "test", Credential.id == issued.credential.id)


@pytest.fixture
def hash_comparisons(monkeypatch):
    """Every keyed-hash comparison the verifier makes, through the one constant-time function."""
    seen: list[str] = []
    original = crypto.hash_matches

    def spy(key: bytes, value: str, stored_hash: str) -> bool:
        seen.append(stored_hash)
        return original(key, value, stored_hash)

    monkeypatch.setattr(crypto, "hash_matches", spy)
    return seen


@pytest.fixture
def forbid_orm(core, monkeypatch):
    """Call it once the test has arranged its rows: from then on, opening an ORM session fails the
    test (the hot path reads and writes with plain SQL only)."""

    def refuse():
        raise AssertionError("the verifier opened an ORM session")

    def forbid() -> None:
        monkeypatch.setattr(core.db, "read", refuse)
        monkeypatch.setattr(core.db, "write", refuse)

    return forbid


# --- dispatch ---------------------------------------------------------------------------------------


def test_the_format_is_told_by_shape_before_anything_is_read(core, alice):
    issued = access_token(core, alice)
    assert verifier.format_of(issued.value) == "access"
    assert verifier.format_of(login(core, alice).value) == "session"
    assert verifier.format_of("a.b.c") == "jwt"
    assert verifier.format_of("garbage") is None
    assert verifier.format_of(None) is None
    assert verifier.format_of("x." * 3000) is None  # too long to be one of our JWTs


def test_every_format_has_exactly_one_reader_written_out():
    assert set(verifier.READERS) == {"access", "refresh", "session", "jwt"}
    assert not hasattr(tokens, "EXTRA_RESOLVERS")  # no registry that an import fills


def test_a_format_the_scheme_does_not_take_is_refused_without_a_read(core, alice, monkeypatch):
    issued = login(core, alice)
    monkeypatch.setattr(core.db.fast, "credential", lambda _public_id: pytest.fail("read"))
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, ACCESS)
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, "not.a.jwt", ACCESS)


# --- access tokens (`tsa_`) ------------------------------------------------------------------------


def test_a_valid_access_token_is_its_owner(core, alice, hash_comparisons, forbid_orm):
    issued = access_token(core, alice)
    forbid_orm()
    principal = verifier.authenticate(core, issued.value, ACCESS)
    assert (principal.user_id, principal.username, principal.kind) == (alice.id, "alice", "access")
    assert principal.public_id == issued.credential.public_id
    assert hash_comparisons == [issued.credential.secret_hash]


def test_an_expired_access_token_is_refused(core, alice, clock):
    issued = access_token(core, alice, lifespan=timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, ACCESS)


def test_a_revoked_access_token_is_refused_at_once(core, alice):
    issued = access_token(core, alice)
    verifier.authenticate(core, issued.value, ACCESS)
    revoke(core, issued)
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, ACCESS)


def test_a_tampered_access_token_is_refused_by_the_constant_time_comparison(core, alice, hash_comparisons):
    issued = access_token(core, alice)
    forged = same_public_id_other_secret(issued.value)
    assert crypto.parse(forged) is not None  # well-formed: only the hash comparison can refuse it
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, forged, ACCESS)
    assert hash_comparisons == [issued.credential.secret_hash]
    with pytest.raises(TokenInvalid):  # a typo breaks the checksum: refused before any comparison
        verifier.authenticate(core, issued.value[:-1] + ("x" if issued.value[-1] != "x" else "y"), ACCESS)
    assert len(hash_comparisons) == 1


def test_an_access_token_of_a_disabled_user_is_refused(core, alice):
    issued = access_token(core, alice)
    users.update_user(core, alice.id, disabled=True)
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, ACCESS)


def test_use_is_recorded_at_most_once_a_minute(core, alice, clock):
    issued = access_token(core, alice)
    verifier.authenticate(core, issued.value, ACCESS)
    first = core.db.fast.credential(issued.credential.public_id).last_used_at
    clock.advance(timedelta(seconds=30))
    verifier.authenticate(core, issued.value, ACCESS)
    assert core.db.fast.credential(issued.credential.public_id).last_used_at == first
    clock.advance(timedelta(seconds=31))
    verifier.authenticate(core, issued.value, ACCESS)
    assert core.db.fast.credential(issued.credential.public_id).last_used_at == clock.now()


# --- login sessions (`tss_`) ------------------------------------------------------------------------


def test_a_valid_session_is_its_user_and_each_use_pushes_the_idle_expiry(core, alice, clock, forbid_orm):
    issued = login(core, alice, idle_minutes=10)
    forbid_orm()
    clock.advance(timedelta(minutes=8))
    principal = verifier.authenticate(core, issued.value, SESSION)
    assert (principal.user_id, principal.kind) == (alice.id, "session")
    clock.advance(timedelta(minutes=8))  # 16 minutes after login, 8 after the last use
    assert verifier.authenticate(core, issued.value, SESSION).user_id == alice.id
    row = core.db.fast.credential(issued.credential.public_id)
    assert row.expires_at == clock.now() + timedelta(minutes=10)


def test_an_idle_session_expires(core, alice, clock):
    issued = login(core, alice, idle_minutes=10)
    clock.advance(timedelta(minutes=10))
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, SESSION)


def test_a_session_that_was_logged_out_is_refused(core, alice):
    issued = login(core, alice)
    sessions.end(core, verifier.authenticate(core, issued.value, SESSION))
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, SESSION)


def test_a_tampered_session_is_refused_by_the_constant_time_comparison(core, alice, hash_comparisons):
    issued = login(core, alice)
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, same_public_id_other_secret(issued.value), SESSION)
    assert hash_comparisons == [issued.credential.secret_hash]


# --- JWTs --------------------------------------------------------------------------------------------


def claims_of(value: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(value.split(".")[1] + "=="))


def test_a_valid_tenant_jwt_is_its_tenant(core, hash_comparisons, forbid_orm):
    issued = tenant_token(core)
    forbid_orm()
    principal = verifier.authenticate(core, issued.value, EVERYTHING)
    assert (principal.kind, principal.role, principal.user_id) == ("tenant", "tenant", None)
    assert principal.tenant_id == issued.credential.tenant_id
    assert hash_comparisons == [issued.credential.secret_hash]


def test_a_jwt_is_checked_against_the_accepted_formats_only(core):
    issued = tenant_token(core)
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, Accepted(jwts=(OPERATOR_JWT,)))
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, ACCESS)


def test_a_revoked_jwt_is_refused_at_once(core):
    issued = tenant_token(core)
    revoke(core, issued)
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, EVERYTHING)


def test_an_expired_jwt_is_refused_by_its_row(core, make_user, clock):
    fmt = JwtFormat(**{**OPERATOR_JWT.__dict__, "lifespan_setting": ".authentication.throttle.window"})
    make_user("root", role="superadmin")
    issued = tenants.superadmin_login(core, "root", PASSWORD, None, fmt)
    clock.advance(timedelta(minutes=15))
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, Accepted(jwts=(fmt,)))


def test_a_jwt_whose_owner_lost_the_role_reaches_nothing(core, make_user):
    root = make_user("root", role="superadmin")
    issued = tenants.superadmin_login(core, "root", PASSWORD, None, OPERATOR_JWT)
    assert verifier.authenticate(core, issued.value, EVERYTHING).role == "superadmin"
    users.update_user(core, root.id, role="user")
    with pytest.raises(Forbidden):
        verifier.authenticate(core, issued.value, EVERYTHING)


def test_a_jwt_of_a_disabled_tenant_is_refused(core):
    issued = tenant_token(core)
    with core.db.write() as session:
        session.get(Tenant, issued.credential.tenant_id).disabled = True
    with pytest.raises(TokenInvalid):
        verifier.authenticate(core, issued.value, EVERYTHING)


def test_tampered_jwts_are_refused(core, hash_comparisons):
    issued = tenant_token(core)
    claims = claims_of(issued.value)
    key = jwt_tokens.signing_key(core.key, "tenant")
    forged = [
        jwt_tokens.encode(key, {**claims, "s": "B" * 50}),  # signed by us, wrong secret claim
        jwt_tokens.encode(key, {**claims, "org": "someone-else"}),  # names another tenant
        jwt.encode(claims, key, algorithm="HS256"),  # another algorithm
        jwt.encode(claims, key, algorithm="HS512", headers={"kid": "k"}),  # a foreign header
        jwt.encode(claims, None, algorithm="none"),  # unsigned
        jwt_tokens.encode(b"k" * 64, claims),  # another key
        issued.value[:-2] + ("AA" if issued.value[-2:] != "AA" else "BB"),  # a broken signature
    ]
    for value in forged:
        with pytest.raises(TokenInvalid):
            verifier.authenticate(core, value, EVERYTHING)
    # Only the first two carry our signature; the first fails the constant-time comparison, the
    # second the owner check after it.
    assert hash_comparisons == [issued.credential.secret_hash] * 2


# --- identify: which of our rows is this? -------------------------------------------------------------


def test_identify_finds_the_row_of_any_genuine_token_whatever_its_state(core, alice):
    access, session, tenant = access_token(core, alice), login(core, alice), tenant_token(core)
    revoke(core, access)
    for issued in (access, session, tenant):
        assert verifier.identify(core, issued.value).id == issued.credential.id
        with core.db.read() as orm_session:
            assert verifier.identify(core, issued.value, orm_session).id == issued.credential.id
    claims = claims_of(tenant.value)
    assert verifier.identify(core, same_public_id_other_secret(access.value)) is None
    assert verifier.identify(core, jwt_tokens.encode(b"k" * 64, claims)) is None
    assert verifier.identify(core, "garbage") is None


def test_refusals_are_counted_by_kind_and_malformed_values_as_unknown(core, alice):
    issued = access_token(core, alice)
    before = stats.validations()
    for value in (same_public_id_other_secret(issued.value), "tsa_" + "x" * 50, "garbage"):
        with pytest.raises(TokenInvalid):
            verifier.authenticate(core, value, ACCESS)
    verifier.authenticate(core, issued.value, ACCESS)
    after = stats.validations()

    def grew(key: tuple[str, str]) -> int:
        return after.get(key, 0) - before.get(key, 0)

    assert (grew(("access", "invalid")), grew(("unknown", "invalid")), grew(("access", "valid"))) == (1, 2, 1)
