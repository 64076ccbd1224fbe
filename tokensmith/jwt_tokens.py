"""HS512 JWTs that are also credential rows: readable by clients, yet revocable at once.

A bare JWT cannot be revoked, so every JWT tokensmith issues carries a `jti` naming one credential row
and a random secret claim (50 base62 characters, ~297 bits) of which only the keyed hash is stored in
that row. A presented JWT is accepted only when all of these hold:

1. its header is exactly what we issue: `alg` HS512 and at most `typ: JWT` beside it; `none`, any other
   algorithm, any `kid` (we never issue one, so every `kid` is foreign), `jku`, `crit`… are refused;
2. the HS512 signature verifies under a key derived from the server key with HMAC-SHA512, one per
   credential kind (a token of one kind cannot even be verified as another);
3. its row exists, is of the expected kind, is neither revoked nor expired by the core's clock, its
   owner is enabled and named by the token, and the secret claim's keyed hash matches (constant time).

Revoking or regenerating therefore kills a token on the next request, on every worker and instance:
there is no cache, only the row. Expiry is the row's; an `exp` claim only mirrors it for clients.

This module knows the format (header, signature, claims); `tokensmith.verifier` reads the row and
decides. The claim names belong to the dialect that presents the token; it describes them in a
`JwtFormat`.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import jwt
from sqlalchemy.orm import Session

from tokensmith import audit, crypto, runtime
from tokensmith.core import Core
from tokensmith.errors import TokenInvalid
from tokensmith.models import Credential
from tokensmith.tokens import Issued, new_family

ALGORITHM = "HS512"
SECRET_LENGTH = 50
PUBLIC_PREFIX = "tsj_"  # public ids of JWT-backed rows: the prefix plus the token's `jti`
MAX_TOKEN_LENGTH = 4096  # ours are ~400 characters; anything far longer is refused unread
ALLOWED_HEADER = frozenset({"alg", "typ"})
OWNER_KINDS = ("tenant", "user")

_jwt = jwt.PyJWT(
    options={
        # Time is the core clock's business (tests move it); the row decides expiry and revocation.
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_iss": False,
        "verify_aud": False,
        "verify_sub": False,
        "verify_jti": False,
    }
)


@dataclass(frozen=True)
class JwtFormat:
    """How one kind of JWT looks on the wire: a dialect's fact, handed to the core.

    `owner` says whom the token belongs to (`tenant` or `user`) and `owner_claim` which claim names
    them (the tenant's external id, or the username). `lifespan_setting` names a runtime setting in
    minutes; without one the token has no `exp` and lives until revoked or regenerated. `owner_role`:
    the role a user owner must still hold when the token is presented (an account that has since lost
    it reaches nothing).
    """

    kind: str
    dialect: str
    owner: str
    owner_claim: str
    secret_claim: str
    issuer_setting: str
    lifespan_setting: str | None = None
    owner_role: str | None = None

    def __post_init__(self) -> None:
        if self.owner not in OWNER_KINDS:
            raise ValueError(f"owner must be one of {OWNER_KINDS}")


@lru_cache(maxsize=64)
def signing_key(server_key: bytes, kind: str) -> bytes:
    """64 bytes for HS512, derived per credential kind so the server key itself never signs anything."""
    return hmac.new(server_key, f"tokensmith jwt signing key/{kind}".encode(), hashlib.sha512).digest()


def public_id(jti: str) -> str:
    """The public id of the row a JWT names by its `jti`."""
    return PUBLIC_PREFIX + jti


def has_shape(value: Any) -> bool:
    """Could this be one of our JWTs (three dot-separated parts, not absurdly long)? Decided unread."""
    return isinstance(value, str) and len(value) <= MAX_TOKEN_LENGTH and value.count(".") == 2


def unverified_jti(value: str) -> str | None:
    """The `jti` a token claims, before anything about it is trusted: only to find the row whose kind
    says which key must have signed it (`verified_claims` then checks that it did)."""
    try:
        jti = _jwt.decode_complete(value, options={"verify_signature": False})["payload"].get("jti")
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
        return None
    return jti if isinstance(jti, str) else None


def encode(key: bytes, claims: dict[str, Any]) -> str:
    """Header `{"alg":"HS512"}` exactly (no `typ`), claims in the order given."""
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": None})


def verified_claims(key: bytes, value: Any) -> dict[str, Any]:
    """The claims of a JWT with exactly our header and a valid HS512 signature, or TokenInvalid."""
    if not has_shape(value):
        raise TokenInvalid()
    try:
        decoded = _jwt.decode_complete(value, key, algorithms=[ALGORITHM])
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenInvalid() from exc
    header = decoded["header"]
    if (
        header.get("alg") != ALGORITHM
        or not ALLOWED_HEADER.issuperset(header)
        or header.get("typ", "JWT") != "JWT"
    ):
        raise TokenInvalid()
    return decoded["payload"]


def secret_of(claims: dict[str, Any], secret_claim: Any) -> str:
    """The secret claim of verified claims, if it is one we could have issued, or TokenInvalid."""
    secret = claims.get(secret_claim)
    if (
        not isinstance(secret, str)
        or len(secret) != SECRET_LENGTH
        or not secret.isascii()
        or not secret.isalnum()
        or not isinstance(claims.get("jti"), str)
        or type(claims.get("iat")) is not int
    ):
        raise TokenInvalid()
    return secret


def decode(key: bytes, value: Any, fmt: JwtFormat) -> dict[str, Any]:
    """The verified claims of a token of this format, or TokenInvalid. The row is checked later."""
    claims = verified_claims(key, value)
    secret_of(claims, fmt.secret_claim)
    if not isinstance(claims.get(fmt.owner_claim), str):
        raise TokenInvalid()
    return claims


def issue(
    session: Session,
    core: Core,
    fmt: JwtFormat,
    *,
    now: datetime,
    owner: str,
    user_id: int | None = None,
    tenant_id: int | None = None,
    family: str | None = None,
    name: str | None = None,
    actor: str | None = None,
) -> Issued:
    """Insert the row and return the signed token, shown to the client this once."""
    secret = crypto.random_base62(SECRET_LENGTH)
    jti = str(uuid.uuid4())
    claims: dict[str, Any] = {
        fmt.owner_claim: owner,
        fmt.secret_claim: secret,
        "iss": runtime.get_value(session, fmt.issuer_setting),
        "jti": jti,
        "iat": int(now.timestamp()),
    }
    expires_at = None
    if fmt.lifespan_setting is not None:
        expires_at = now + runtime.get_span(session, fmt.lifespan_setting)
        claims["exp"] = int(expires_at.timestamp())
    credential = Credential(
        public_id=public_id(jti),
        kind=fmt.kind,
        dialect=fmt.dialect,
        user_id=user_id,
        tenant_id=tenant_id,
        name=name,
        family=family or new_family(),
        scopes=[],
        # Claim names, so a holder of only the token (introspection, revocation) can verify it:
        # see `verifier.identify`.
        attributes={"secret_claim": fmt.secret_claim, "owner_claim": fmt.owner_claim},
        secret_hash=crypto.keyed_hash(core.key, secret),
        created_at=now,
        expires_at=expires_at,
        renewable_until=None,
    )
    session.add(credential)
    session.flush()
    audit.record(
        session,
        now,
        f"{fmt.kind}.issue",
        actor=actor or audit.user_actor(user_id),
        target=credential.public_id,
        dialect=fmt.dialect,
        name=name,
    )
    return Issued(credential=credential, value=encode(signing_key(core.key, fmt.kind), claims))
