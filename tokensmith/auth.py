"""Who is calling: turn a presented token into a Principal. This is the hot path of every protected call.

One indexed read (credential joined with its owner), a constant-time hash comparison, and a write only
when last-used time is more than a minute stale. No cache: a revoke is seen by the very next request on
every worker and instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokensmith import crypto, stats
from tokensmith.core import Core
from tokensmith.errors import TokenInvalid
from tokensmith.models import Credential, User
from tokensmith.tokens import ACTIVE, LAST_USED_RESOLUTION, status_of, touch


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request speaks for. What it may do is `tokensmith.policy`'s to decide, from `role`
    (a user's role, or `tenant`), `user_id` / `tenant_id`, `kind` (the credential's: a `session` is a
    login) and the restrictions the credential carries (`endpoints`, `attributes["allowed_ips"]`)."""

    credential_id: int
    public_id: str
    kind: str
    dialect: str
    user_id: int | None
    username: str | None
    role: str
    tenant_id: int | None
    endpoints: tuple[str, ...] = field(default=())
    attributes: dict = field(default_factory=dict)


def authenticate_token(core: Core, value: str, kinds: tuple[str, ...] = ("access",)) -> Principal:
    parsed = crypto.parse(value) if isinstance(value, str) else None
    kind = parsed.kind if parsed else "unknown"
    try:
        principal = _authenticate(core, value, parsed, kinds)
    except TokenInvalid:
        stats.count_validation(kind, "invalid")
        raise
    stats.count_validation(kind, "valid")
    return principal


def _authenticate(
    core: Core, value: str, parsed: crypto.ParsedToken | None, kinds: tuple[str, ...]
) -> Principal:
    if parsed is None or parsed.kind not in kinds:
        raise TokenInvalid()
    now = core.clock.now()
    credential = core.db.fast.credential(parsed.public_id)
    if credential is None:
        raise TokenInvalid()
    user = credential.owner
    if not crypto.hash_matches(core.key, value, credential.secret_hash):
        raise TokenInvalid()
    if status_of(credential, now) != ACTIVE or (user is not None and user.disabled):
        raise TokenInvalid()
    if credential.last_used_at is None or credential.last_used_at <= now - LAST_USED_RESOLUTION:
        with core.db.write() as session:
            touch(session, credential.id, now)
    return principal_of(credential, user)


def principal_of(credential: Credential, user: User | None) -> Principal:
    """Who a credential speaks for: its owner (if a user owns it), their role and tenant, its scopes."""
    return Principal(
        credential_id=credential.id,
        public_id=credential.public_id,
        kind=credential.kind,
        dialect=credential.dialect,
        user_id=credential.user_id,
        username=user.username if user else None,
        role=user.role if user else "tenant",
        tenant_id=credential.tenant_id
        if credential.tenant_id is not None
        else (user.tenant_id if user else None),
        endpoints=tuple(credential.scopes or ()),
        attributes=dict(credential.attributes or {}),
    )
