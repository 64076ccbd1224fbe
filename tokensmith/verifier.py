"""The one verifier: every presented credential, whatever its format, is checked here and nowhere else.

A credential's shape names its format before anything is read: a tokensmith secret by its prefix
(`tsa_` access, `tsr_` refresh, `tss_` login session; `crypto.parse` then checks its checksum), anything
with two dots as a JWT. `READERS` maps each format to its reader, written out below; nothing is added
to it at run time. A caller (a security scheme of some dialect) says which formats it takes as an
`Accepted` value, so a format it does not take is refused before any database read.

Every reader makes one indexed plain-SQL read (`db.fast`, never the ORM: this is the hot path of every
protected call), compares the keyed hash in constant time, checks that the row is live and its owner
may act, and writes only when the last-used time is more than a minute stale. No cache: a revoke is
seen by the very next request on every worker and instance.

`identify` answers the other question asked of a presented token, "which of our rows is this?"
(introspection, revocation, leak reports): the same readers' genuineness checks, without the liveness
and ownership rules that only authentication applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tokensmith import crypto, jwt_tokens, sessions, stats, tokens
from tokensmith.auth import Principal, principal_of
from tokensmith.core import Core
from tokensmith.db import CredentialRow, Transaction
from tokensmith.errors import Forbidden, TokenInvalid
from tokensmith.jwt_tokens import JwtFormat

ACCESS, REFRESH, SESSION, JWT = "access", "refresh", "session", "jwt"
SECRET_FORMATS = (ACCESS, REFRESH, SESSION)
_BY_PREFIX = {f"{crypto.PREFIXES[kind]}_": kind for kind in SECRET_FORMATS}
_PREFIX_LENGTH = 4


@dataclass(frozen=True, slots=True)
class Accepted:
    """What one security scheme takes: which kinds of tokensmith secret (`access`, `session`,
    `refresh`), and which JWT formats (a dialect's `JwtFormat`s: only their signing keys are tried)."""

    kinds: frozenset[str] = frozenset()
    jwts: tuple[JwtFormat, ...] = ()

    def takes(self, fmt: str) -> bool:
        return bool(self.jwts) if fmt == JWT else fmt in self.kinds

    def without(self, kind: str) -> Accepted:
        return Accepted(self.kinds - {kind}, self.jwts)


def format_of(value: Any) -> str | None:
    """The format a presented value has the shape of, decided without reading anything: a secret's
    kind by its prefix, `jwt` for three dot-separated parts, None for anything else."""
    if not isinstance(value, str):
        return None
    kind = _BY_PREFIX.get(value[:_PREFIX_LENGTH])
    if kind is not None:
        return kind
    return JWT if jwt_tokens.has_shape(value) else None


def authenticate(core: Core, value: Any, accepted: Accepted) -> Principal:
    """The Principal behind a presented credential of a format `accepted` takes, or TokenInvalid
    (Forbidden for a JWT whose owner lost the role its format requires)."""
    fmt = format_of(value)
    try:
        if fmt is None or not accepted.takes(fmt):
            raise TokenInvalid()
        principal = READERS[fmt](core, value, accepted)
    except TokenInvalid:
        stats.count_validation(_counted_as(value, fmt), "invalid")
        raise
    stats.count_validation(principal.kind, "valid")
    return principal


def _counted_as(value: Any, fmt: str | None) -> str:
    """The kind a refused value is counted under: its format, or `unknown` when it is not even a
    well-formed token of it (a right prefix before the wrong characters or checksum)."""
    if fmt is None or (fmt in SECRET_FORMATS and crypto.parse(value) is None):
        return "unknown"
    return fmt


def identify(core: Core, value: Any, session: Transaction | None = None) -> CredentialRow | None:
    """The row behind any genuine token of ours, whatever its kind, status or owner, or None. Read in
    `session`'s transaction when one is given (a revocation decides on what it reads)."""
    fmt = format_of(value)
    if fmt is None:
        return None
    if session is None:
        read: Callable[[str], CredentialRow | None] = core.db.fast.credential
    else:
        read = lambda public_id: core.db.fast.credential_in(session, public_id)  # noqa: E731
    if fmt == JWT:
        found = _jwt_row(core, value, (), read)
        return found[0] if found else None
    return tokens.verified(core, value, fmt, read)


# --- the readers, one per format -------------------------------------------------------------------


def _read_secret(core: Core, value: str, accepted: Accepted) -> Principal:
    """`tsa_` / `tsr_`: a prefixed secret whose row is live and whose owner (if a user) is enabled."""
    credential = _secret_row(core, value)
    now = core.clock.now()
    _require_live(credential, now)
    _note_use(core, credential, now, tokens.touch_read)
    return principal_of(credential, credential.owner)


def _read_session(core: Core, value: str, accepted: Accepted) -> Principal:
    """`tss_`: a login session; always a person's, and each use pushes its idle expiry on."""
    credential = _secret_row(core, value)
    now = core.clock.now()
    if credential.owner is None:
        raise TokenInvalid()
    _require_live(credential, now)
    _note_use(core, credential, now, sessions.record_use)
    return principal_of(credential, credential.owner)


def _read_jwt(core: Core, value: str, accepted: Accepted) -> Principal:
    """A JWT of one of the accepted formats: signature (algorithm pinned, exact header) before any
    read, then its row, the secret claim in constant time, and the owner the token names."""
    found = _jwt_row(core, value, accepted.jwts, core.db.fast.credential_and_tenant)
    if found is None:
        raise TokenInvalid()
    (credential, tenant), claims, fmt = found
    now = core.clock.now()
    if tokens.status_of(credential, now) != tokens.ACTIVE:
        raise TokenInvalid()
    owner = credential.owner
    if fmt.owner == "tenant":
        if tenant is None or tenant.disabled or claims[fmt.owner_claim] != tenant.external_id:
            raise TokenInvalid()
    elif owner is None or owner.disabled or claims[fmt.owner_claim] != owner.username:
        raise TokenInvalid()
    if fmt.owner_role is not None and (owner is None or owner.role != fmt.owner_role):
        raise Forbidden(f"Only a {fmt.owner_role} may use this token.")
    _note_use(core, credential, now, tokens.touch_read)
    return principal_of(credential, owner)


READERS: dict[str, Callable[[Core, str, Accepted], Principal]] = {
    ACCESS: _read_secret,
    REFRESH: _read_secret,
    SESSION: _read_session,
    JWT: _read_jwt,
}


# --- shared checks ---------------------------------------------------------------------------------


def _secret_row(core: Core, value: str) -> CredentialRow:
    credential = tokens.verified(core, value, _BY_PREFIX[value[:_PREFIX_LENGTH]], core.db.fast.credential)
    if credential is None:
        raise TokenInvalid()
    return credential


def _note_use(
    core: Core,
    credential: CredentialRow,
    now: datetime,
    record: Callable[[Transaction, CredentialRow, datetime], None],
) -> None:
    """Write the use (`record`) only when the recorded one is stale: the hot path opens no write
    transaction for a token used within the last minute."""
    if tokens.use_is_stale(credential, now):
        with core.db.write_plain() as session:
            record(session, credential, now)


def _require_live(credential: CredentialRow, now: datetime) -> None:
    if tokens.status_of(credential, now) != tokens.ACTIVE or (
        credential.owner is not None and credential.owner.disabled
    ):
        raise TokenInvalid()


def _jwt_row(
    core: Core, value: str, formats: tuple[JwtFormat, ...], read: Callable[[str], Any]
) -> tuple[Any, dict[str, Any], Any] | None:
    """(what `read` returned, verified claims, the format or None) for a genuine JWT, else None.

    With `formats` (authentication), the signature is checked under each format's key before the row
    is read, and the row must be of that format's kind. Without (identification), the row the token
    names says which key must have signed it and which claim holds its secret."""
    fmt: JwtFormat | None = None
    claims: dict[str, Any] | None = None
    if formats:
        for candidate in formats:
            try:
                claims = jwt_tokens.verified_claims(jwt_tokens.signing_key(core.key, candidate.kind), value)
            except TokenInvalid:
                continue
            fmt = candidate
            break
        if fmt is None or claims is None or not isinstance(claims.get("jti"), str):
            return None
        found = read(jwt_tokens.public_id(claims["jti"]))
    else:
        jti = jwt_tokens.unverified_jti(value)
        found = read(jwt_tokens.public_id(jti)) if jti is not None else None
    if found is None:
        return None
    credential: CredentialRow = found[0] if isinstance(found, tuple) else found
    try:
        if fmt is None:
            claims = jwt_tokens.verified_claims(jwt_tokens.signing_key(core.key, credential.kind), value)
            secret_claim = (credential.attributes or {}).get("secret_claim")
        else:
            if credential.kind != fmt.kind or not isinstance(claims.get(fmt.owner_claim), str):
                return None
            secret_claim = fmt.secret_claim
        secret = jwt_tokens.secret_of(claims, secret_claim)
    except TokenInvalid:
        return None
    if not crypto.hash_matches(core.key, secret, credential.secret_hash):
        return None
    return found, claims, fmt
