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

The claim names belong to the dialect that presents the token; it describes them in a `JwtFormat`.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from tokensmith import audit, crypto, runtime, tokens
from tokensmith.auth import Principal, principal_of
from tokensmith.core import Core
from tokensmith.errors import TokenInvalid
from tokensmith.models import Credential, Tenant, User
from tokensmith.tokens import ACTIVE, LAST_USED_RESOLUTION, Issued, new_family, status_of, touch

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
    minutes; without one the token has no `exp` and lives until revoked or regenerated.
    """

    kind: str
    dialect: str
    owner: str
    owner_claim: str
    secret_claim: str
    issuer_setting: str
    lifespan_setting: str | None = None

    def __post_init__(self) -> None:
        if self.owner not in OWNER_KINDS:
            raise ValueError(f"owner must be one of {OWNER_KINDS}")


def signing_key(server_key: bytes, kind: str) -> bytes:
    """64 bytes for HS512, derived per credential kind so the server key itself never signs anything."""
    return hmac.new(server_key, f"tokensmith jwt signing key/{kind}".encode(), hashlib.sha512).digest()


def encode(key: bytes, claims: dict[str, Any]) -> str:
    """Header `{"alg":"HS512"}` exactly (no `typ`), claims in the order given."""
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": None})


def _verified(key: bytes, value: Any) -> dict[str, Any]:
    """The claims of a JWT with exactly our header and a valid HS512 signature, or TokenInvalid."""
    if not isinstance(value, str) or len(value) > MAX_TOKEN_LENGTH or value.count(".") != 2:
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


def _secret(claims: dict[str, Any], secret_claim: str) -> str:
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
    claims = _verified(key, value)
    _secret(claims, fmt.secret_claim)
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
        expires_at = now + timedelta(minutes=runtime.get_value(session, fmt.lifespan_setting))
        claims["exp"] = int(expires_at.timestamp())
    credential = Credential(
        public_id=PUBLIC_PREFIX + jti,
        kind=fmt.kind,
        dialect=fmt.dialect,
        user_id=user_id,
        tenant_id=tenant_id,
        name=name,
        family=family or new_family(),
        scopes=[],
        # Claim names, so a holder of only the token (introspection, revocation) can verify it: see `find`.
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


def authenticate(core: Core, value: Any, fmt: JwtFormat) -> Principal:
    """The hot path of every JWT-protected call: a signature check, one indexed read, one comparison."""
    claims = decode(signing_key(core.key, fmt.kind), value, fmt)
    now = core.clock.now()
    with core.db.read() as session:
        row = session.execute(
            select(Credential, User, Tenant)
            .outerjoin(User, User.id == Credential.user_id)
            .outerjoin(Tenant, Tenant.id == Credential.tenant_id)
            .where(Credential.public_id == PUBLIC_PREFIX + claims["jti"])
        ).first()
    if row is None:
        raise TokenInvalid()
    credential, user, tenant = row
    if credential.kind != fmt.kind or not crypto.hash_matches(
        core.key, claims[fmt.secret_claim], credential.secret_hash
    ):
        raise TokenInvalid()
    if status_of(credential, now) != ACTIVE:
        raise TokenInvalid()
    if fmt.owner == "tenant":
        if tenant is None or tenant.disabled or claims[fmt.owner_claim] != tenant.external_id:
            raise TokenInvalid()
    elif user is None or user.disabled or claims[fmt.owner_claim] != user.username:
        raise TokenInvalid()
    if credential.last_used_at is None or credential.last_used_at <= now - LAST_USED_RESOLUTION:
        with core.db.write() as session:
            touch(session, credential.id, now)
    return principal_of(credential, user)


def find(session: Session, core: Core, value: Any) -> Credential | None:
    """The row behind one of our JWTs of any kind, fully verified, or None: `tokens.find_any` asks
    this for tokens that are not tokensmith's prefixed secrets (introspection, revocation)."""
    if not isinstance(value, str) or len(value) > MAX_TOKEN_LENGTH or value.count(".") != 2:
        return None
    try:
        unverified = _jwt.decode_complete(value, options={"verify_signature": False})["payload"]
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    jti = unverified.get("jti")
    if not isinstance(jti, str):
        return None
    credential = session.scalar(select(Credential).where(Credential.public_id == PUBLIC_PREFIX + jti))
    if credential is None:
        return None
    secret_claim = (credential.attributes or {}).get("secret_claim")
    try:
        secret = _secret(_verified(signing_key(core.key, credential.kind), value), secret_claim)
    except TokenInvalid:
        return None
    return credential if crypto.hash_matches(core.key, secret, credential.secret_hash) else None


tokens.EXTRA_RESOLVERS.append(find)
