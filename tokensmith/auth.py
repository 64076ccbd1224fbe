"""Who is calling: the Principal a verified credential speaks for (`tokensmith.verifier` makes it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


def principal_of(credential: Any, user: Any) -> Principal:
    """Who a credential speaks for: its owner (if a user owns it), their role and tenant, its scopes.
    `credential` and `user` are rows as the hot path reads them (`db.CredentialRow`, `db.OwnerRow`)
    or the ORM's objects: the attribute names are the same."""
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
