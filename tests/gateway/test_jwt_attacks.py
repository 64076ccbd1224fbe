"""The tenant access token is decoded with HS512 pinned: `none`, other algorithms, a `kid`, unexpected
header fields and any tampering are refused, as is a token the row no longer vouches for."""

import base64
import json

import jwt
import pytest

from tests.conftest import SECRET
from tests.gateway.conftest import BASE, bearer, key
from tests.gateway.test_superadmin import claims_of
from tokensmith import tokens, verifier
from tokensmith.jwt_tokens import signing_key
from tokensmith.models import Credential

TENANT_KEY = signing_key(SECRET, "tenant")
# Some attacks sign with the (short) raw server key on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def signed(claims: dict, *, key_bytes: bytes = TENANT_KEY, algorithm: str = "HS512", **header) -> str:
    return jwt.encode(claims, key_bytes, algorithm=algorithm, headers={"typ": None, **header})


def refused(client, token: str, header: str = "itas-api-access-key") -> bool:
    value = token if header == "itas-api-access-key" else f"Bearer {token}"
    response = client.get(f"{BASE}/workflowdefinition", headers={header: value})
    assert response.json()["status"] == ("Failure" if response.status_code != 200 else "Success")
    return response.status_code == 401


def test_the_genuine_token_is_accepted_both_ways(client, tenant):
    assert not refused(client, tenant["tenantAccessToken"])
    assert not refused(client, tenant["tenantAccessToken"], "Authorization")


def test_alg_none_is_refused(client, tenant):
    _, claims = claims_of(tenant["tenantAccessToken"])
    assert refused(client, f"{b64({'alg': 'none'})}.{b64(claims)}.")
    assert refused(client, f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.", "Authorization")


def test_a_token_re_signed_with_another_hmac_algorithm_is_refused_even_with_the_right_key(client, tenant):
    _, claims = claims_of(tenant["tenantAccessToken"])
    for algorithm in ("HS256", "HS384"):
        assert refused(client, signed(claims, algorithm=algorithm)), algorithm
        assert refused(client, signed(claims, key_bytes=SECRET, algorithm=algorithm)), algorithm


def test_a_token_signed_with_the_raw_server_key_is_refused(client, tenant):
    _, claims = claims_of(tenant["tenantAccessToken"])
    assert refused(client, signed(claims, key_bytes=SECRET))


TAMPERINGS = [
    {"tenantExternalId": "00000000-0000-4000-8000-000000000000"},
    {"authToken": "A" * 50},
    {"iss": "http://evil.example"},
    {"iat": 1},
    {"exp": 4102444800},
]


def test_a_tampered_payload_is_refused(client, tenant):
    header, _payload, signature = tenant["tenantAccessToken"].split(".")
    _, claims = claims_of(tenant["tenantAccessToken"])
    for change in TAMPERINGS:
        assert refused(client, f"{header}.{b64({**claims, **change})}.{signature}"), change


def test_a_flipped_signature_bit_is_refused(client, tenant):
    token = tenant["tenantAccessToken"]
    last = "A" if token[-2] != "A" else "B"
    assert refused(client, token[:-2] + last + token[-1])


HEADER_EXTRAS = [
    {"kid": "foreign"},
    {"kid": ""},
    {"jku": "https://evil.example/keys"},
    {"crit": ["exp"]},
    {"typ": "at+jwt"},
]


def test_a_correctly_signed_token_with_a_kid_or_other_header_fields_is_refused(client, tenant):
    _, claims = claims_of(tenant["tenantAccessToken"])
    assert not refused(client, signed(claims))  # the same claims, correctly signed, are fine
    for extra in HEADER_EXTRAS:
        assert refused(client, signed(claims, **extra)), extra


def test_a_correctly_signed_token_the_row_does_not_vouch_for_is_refused(client, tenant):
    _, claims = claims_of(tenant["tenantAccessToken"])
    assert refused(client, signed({**claims, "authToken": "B" * 50}))  # wrong secret for the row
    assert refused(client, signed({**claims, "jti": "00000000-0000-4000-8000-000000000000"}))  # no row


def test_another_tenants_token_with_this_tenants_id_swapped_in_is_refused(client, tenant, make_tenant):
    other = make_tenant("tenant2")
    _, claims = claims_of(other["tenantAccessToken"])
    assert refused(client, signed({**claims, "tenantExternalId": tenant["tenantExternalId"]}))


def test_the_old_token_after_regenerate_is_refused(client, tenant, superadmin_token):
    client.get(
        f"{BASE}/platform/apiaccesskeys/generate",
        params={"tenantExternalId": tenant["tenantExternalId"]},
        headers=bearer(superadmin_token),
    )
    assert refused(client, tenant["tenantAccessToken"])
    assert refused(client, tenant["tenantAccessToken"], "Authorization")


def test_a_superadmin_token_is_not_a_tenant_token(client, superadmin_token):
    assert refused(client, superadmin_token)
    assert refused(client, superadmin_token, "Authorization")


def test_a_tenant_token_is_not_a_superadmin_token(client, tenant):
    response = client.get(f"{BASE}/platform/tenants", headers=bearer(tenant["tenantAccessToken"]))
    assert response.status_code == 401


def test_a_tenant_token_re_signed_with_the_superadmin_key_is_refused(client, tenant):
    _, claims = claims_of(tenant["tenantAccessToken"])
    assert refused(client, signed(claims, key_bytes=signing_key(SECRET, "superadmin")))


GARBAGE = [
    "x",
    "a.b.c",
    "..",
    "Bearer",
    "e30.e30.e30",
    "x" * 5000,
    "eyJhbGciOiJIUzUxMiJ9.bm90IGpzb24.c2ln",
    "\u00e9.\u00e9.\u00e9",
]


def test_garbage_is_a_401_envelope_never_a_500(client, tenant):
    for garbage in GARBAGE:
        response = client.get(f"{BASE}/workflowdefinition", headers={"itas-api-access-key": garbage.encode()})
        assert response.status_code == 401 and response.json()["statusCode"] == 401, garbage[:20]


def test_a_bearer_prefix_in_the_access_key_header_is_forgiven(client, tenant):
    response = client.get(f"{BASE}/workflowdefinition", headers=key(f"Bearer {tenant['tenantAccessToken']}"))
    assert response.status_code == 200


def test_the_native_apis_resolver_finds_gateway_jwts_only_when_genuine(
    client, core, tenant, superadmin_token
):
    _, claims = claims_of(tenant["tenantAccessToken"])
    with core.db.read() as session:
        found = verifier.identify(core, session=session, value=tenant["tenantAccessToken"])
        assert found is not None and found.kind == "tenant" and found.public_id == "tsj_" + claims["jti"]
        assert verifier.identify(core, session=session, value=superadmin_token).kind == "superadmin"
        assert verifier.identify(core, signed({**claims, "authToken": "B" * 50}), session) is None
        assert verifier.identify(core, session=session, value=signed(claims, kid="foreign")) is None
    with core.db.write() as session:  # revoking the row it found kills the token at once
        tokens.revoke_where(session, core.clock.now(), "leaked", Credential.id == found.id)
    assert refused(client, tenant["tenantAccessToken"])
