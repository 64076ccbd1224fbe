"""The platform: superadmins, the tenants they create, and each tenant's one access token.

A tenant is created together with its admin user and its first tenant access token, in one
transaction, so a failure leaves nothing half made. A tenant has exactly one live access token: a JWT
backed by a credential row (see `jwt_tokens`). Regenerating revokes every live one and issues the next
under a lock on the tenant's row, so two concurrent regenerations queue and exactly one token
survives; the revoked one is refused by the very next request on every worker and instance.

Superadmins are users with the `superadmin` role; they log in with a password (Argon2id, throttled,
audited through `users.authenticate`) and get a short-lived JWT.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tokensmith import audit, jwt_tokens, listing, paging, passwords, policy, tokens, usernames, users
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import Conflict, InvalidValue, LoginFailed, NotFound
from tokensmith.models import Credential, Tenant, User
from tokensmith.webhooks import events

SUPERADMIN = "superadmin"
TENANT_ADMIN_ROLE = "user"  # a tenant's admin administers the tenant, not tokensmith
SUB_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
TOKEN_NAME = "tenant access token"
# Only ASCII whitespace is trimmed: what counts as "blank" must not depend on a Unicode table that a
# client's validator (ECMA regex `\s`) and Python's `str.strip` disagree about.
ASCII_SPACE = " \t\n\r\f\v"

# Core fields of a tenant a listing may filter and order on, with their columns.
COLUMNS = {
    "name": Tenant.name,
    "sub_domain": Tenant.sub_domain,
    "description": Tenant.description,
    "external_id": Tenant.external_id,
    "created_at": Tenant.created_at,
}


@dataclass(frozen=True)
class NewTenant:
    name: str
    description: str | None
    sub_domain: str
    admin_username: str
    admin_password: str
    admin_email: str | None = None
    admin_first_name: str | None = None
    admin_last_name: str | None = None
    # Chosen by a seed document (tests and the demo name a tenant by it); otherwise a new UUID.
    external_id: str | None = None


def parse_external_id(text: str) -> str:
    """A tenant's external id is a UUID; anything else is refused before any database read."""
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError, TypeError) as exc:
        raise InvalidValue("tenant_external_id", "The tenant external id must be a UUID.") from exc


def _checked(new: NewTenant) -> NewTenant:
    for field, value in vars(new).items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidValue(field, "Text may not contain NUL characters.")
    name = new.name.strip(ASCII_SPACE)
    sub_domain = new.sub_domain.strip(ASCII_SPACE).lower()
    if not isinstance(new.admin_username, str) or not new.admin_username.strip(ASCII_SPACE):
        raise InvalidValue("admin_username", "The tenant admin needs a username.")
    username, _ = usernames.checked(new.admin_username, field="admin_username")
    if not name:
        raise InvalidValue("name", "A tenant needs a name.")
    if not SUB_DOMAIN.fullmatch(sub_domain):
        raise InvalidValue(
            "sub_domain", "The sub-domain must be 1-63 letters, digits or inner hyphens (a DNS label)."
        )
    passwords.check_new(new.admin_password, field="admin_password", username=username)
    return NewTenant(
        name=name,
        description=new.description,
        sub_domain=sub_domain,
        admin_username=username,
        admin_password=new.admin_password,
        admin_email=new.admin_email,
        admin_first_name=new.admin_first_name,
        admin_last_name=new.admin_last_name,
        external_id=new.external_id,
    )


def create_tenant(
    core: Core, new: NewTenant, fmt: jwt_tokens.JwtFormat, actor: str | None
) -> tuple[Tenant, tokens.Issued]:
    """Tenant, admin user and first access token, all or nothing. Hashes a password: call off the loop."""
    new = _checked(new)
    password_hash = core.passwords.hash(new.admin_password)  # before the transaction: Argon2id is slow
    now = core.clock.now()
    try:
        with core.db.write() as session:
            if session.scalar(select(Tenant.id).where(func.lower(Tenant.sub_domain) == new.sub_domain)):
                raise Conflict(f"A tenant with the sub-domain {new.sub_domain!r} already exists.")
            if session.scalar(select(User.id).where(User.username_key == usernames.key(new.admin_username))):
                raise Conflict(f"A user named {new.admin_username!r} already exists.")
            tenant = Tenant(
                external_id=new.external_id or str(uuid.uuid4()),
                name=new.name,
                description=new.description,
                sub_domain=new.sub_domain,
                disabled=False,
                created_at=now,
            )
            session.add(tenant)
            session.flush()
            admin = User(
                username=new.admin_username,
                username_key=usernames.key(new.admin_username),
                password_hash=password_hash,
                role=TENANT_ADMIN_ROLE,
                auth_source="local",
                disabled=False,
                email=new.admin_email,
                first_name=new.admin_first_name,
                last_name=new.admin_last_name,
                tenant_id=tenant.id,
                created_at=now,
            )
            session.add(admin)
            session.flush()
            audit.record(
                session,
                now,
                "tenant.create",
                actor=actor,
                target=f"tenant:{tenant.id}",
                external_id=tenant.external_id,
                sub_domain=tenant.sub_domain,
                admin=f"user:{admin.id}",
            )
            audit.record(session, now, "user.create", actor=actor, target=f"user:{admin.id}", role=admin.role)
            issued = _issue_token(session, core, fmt, tenant, now, actor)
    except IntegrityError as exc:  # a concurrent create took the sub-domain or username first
        raise Conflict(
            "A tenant with this sub-domain, or a user with this username, already exists."
        ) from exc
    return tenant, issued


def _issue_token(
    session: Any, core: Core, fmt: jwt_tokens.JwtFormat, tenant: Tenant, now: Any, actor: str | None
) -> tokens.Issued:
    """The tenant's next access token; every token of one tenant shares one rotation family."""
    return jwt_tokens.issue(
        session,
        core,
        fmt,
        now=now,
        owner=tenant.external_id,
        tenant_id=tenant.id,
        family=uuid.UUID(tenant.external_id).hex,
        name=TOKEN_NAME,
        actor=actor,
    )


def credentials_of(tenant: Tenant) -> Any:
    """The condition for every credential of a tenant: its own tokens and its users' tokens."""
    members = select(User.id).where(User.tenant_id == tenant.id)
    return (Credential.tenant_id == tenant.id) | Credential.user_id.in_(members)


def regenerate_token(
    core: Core, external_id: str, fmt: jwt_tokens.JwtFormat, actor: str | None
) -> tuple[Tenant, tokens.Issued]:
    """Revoke the tenant's live access token(s) and issue the next one.

    The tenant's row is locked first (FOR UPDATE on PostgreSQL; SQLite's writers queue anyway), so a
    concurrent regeneration waits, then revokes the token this one issued: exactly one survives.
    """
    key = parse_external_id(external_id)
    now = core.clock.now()
    with core.db.write() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.external_id == key).with_for_update())
        if tenant is None:
            raise NotFound("No tenant has this external id.")
        current = (Credential.tenant_id == tenant.id, Credential.kind == fmt.kind)
        replaced = list(
            session.scalars(select(Credential.public_id).where(*current, Credential.revoked_at.is_(None)))
        )
        # Replaced, not lost: announced as `tenant.token.regenerated`, not as a revocation.
        revoked = tokens.revoke_where(session, now, "regenerated", *current, announce=False)
        issued = _issue_token(session, core, fmt, tenant, now, actor)
        events.announce_tenant_token_regenerated(session, now, issued.credential.id, sorted(replaced))
        audit.record(
            session,
            now,
            f"{fmt.kind}.regenerate",
            actor=actor,
            target=f"tenant:{tenant.id}",
            revoked=revoked,
            replaced_by=issued.credential.public_id,
        )
    return tenant, issued


def list_tenants(core: Core, query: listing.Listing) -> list[Tenant]:
    """Tenants only: never a token, not even a hash."""
    with core.db.read() as session:
        statement = listing.apply(select(Tenant), query, COLUMNS, Tenant.id)
        return list(session.scalars(statement))


def find_tenant(core: Core, viewer: Principal, external_id: str) -> Tenant:
    key = parse_external_id(external_id)
    with core.db.read() as session:
        tenant = session.scalar(
            select(Tenant).where(Tenant.external_id == key, policy.tenants_condition(viewer))
        )
    if tenant is None:
        raise NotFound("No tenant has this external id.")
    return tenant


# --- superadmins -----------------------------------------------------------------------------------


def superadmin_login(
    core: Core, username: str, password: str, client: str | None, fmt: jwt_tokens.JwtFormat
) -> tokens.Issued:
    """Password → short-lived superadmin token. Runs Argon2id: call it off the event loop.

    Anyone but a superadmin is refused exactly like a wrong password, so the reply tells nothing about
    which accounts exist or what role they have.
    """
    user = users.authenticate(core, username, password, client)
    now = core.clock.now()
    if user.role != SUPERADMIN:
        with core.db.write() as session:
            audit.record(
                session,
                now,
                "login.refused",
                actor=None,
                target=f"user:{user.id}",
                client=client,
                reason="role",
            )
        raise LoginFailed("Invalid username or password.")
    with core.db.write() as session:
        return jwt_tokens.issue(
            session, core, fmt, now=now, owner=user.username, user_id=user.id, actor=audit.user_actor(user.id)
        )


def tenant_page(core: Core, viewer: Principal, limit: int, cursor: str | None) -> paging.Page[Tenant]:
    """Operators' listing of the tenants `viewer` may see, newest first (never a token)."""
    below = paging.decode(cursor)
    statement = (
        select(Tenant).where(policy.tenants_condition(viewer)).order_by(Tenant.id.desc()).limit(limit + 1)
    )
    if below is not None:
        statement = statement.where(Tenant.id < below)
    with core.db.read() as session:
        rows = list(session.scalars(statement))
    return paging.page(rows, limit, lambda tenant: tenant.id)


def set_disabled(core: Core, viewer: Principal, external_id: str, disabled: bool) -> Tenant:
    """Disabling a tenant revokes its access token and every token of its users, at once; enabling it
    again brings none of them back (regenerate the tenant token)."""
    policy.require_tenant_administration(viewer)
    actor = policy.actor_of(viewer)
    key = parse_external_id(external_id)
    now = core.clock.now()
    with core.db.write() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.external_id == key))
        if tenant is None:
            raise NotFound("No tenant has this external id.")
        if tenant.disabled != disabled:
            tenant.disabled = disabled
            revoked = 0
            if disabled:
                revoked = tokens.revoke_cascading(session, now, "tenant disabled", credentials_of(tenant))
            audit.record(
                session,
                now,
                "tenant.disable" if disabled else "tenant.enable",
                actor=actor,
                target=f"tenant:{tenant.external_id}",
                revoked=revoked,
            )
    return tenant
