"""The token inventory for operators and owners: list, look up, revoke (cascading), introspect, and the
leaked-token report. What a caller sees and may revoke is `policy.credentials_condition`'s answer, in
every query here: a look-up by id hides exactly what a listing leaves out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session, aliased

from tokensmith import audit, paging, policy, tenants, throttle, tokens, usernames, verifier
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import InvalidValue, NotFound
from tokensmith.models import Credential, Tenant, User
from tokensmith.text import storable
from tokensmith.webhooks import events

LEAK_REPORTS_PER_WINDOW = 10
LEAK_REPORT_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class CredentialView:
    """A credential with the names an inventory shows beside it (never its secret)."""

    credential: Credential
    owner: str | None
    tenant: str | None
    parent: str | None

    def status(self, now: datetime) -> str:
        return tokens.status_of(self.credential, now)


@dataclass(frozen=True)
class CredentialFilter:
    owner: str | None = None
    tenant: str | None = None
    kind: str | None = None
    dialect: str | None = None
    status: str | None = None
    name: str | None = None
    family: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    used_after: datetime | None = None
    used_before: datetime | None = None


_Parent = aliased(Credential)


def _base_query() -> Select:
    return (
        select(Credential, User.username, Tenant.external_id, _Parent.public_id)
        .outerjoin(User, User.id == Credential.user_id)
        .outerjoin(Tenant, Tenant.id == Credential.tenant_id)
        .outerjoin(_Parent, _Parent.id == Credential.parent_id)
    )


def _visible(query: Select, viewer: Principal) -> Select:
    """Owner isolation: the one rule every inventory query goes through."""
    return query.where(policy.credentials_condition(viewer))


def _status_condition(status: str, now: datetime) -> Any:
    live = Credential.revoked_at.is_(None)
    if status == tokens.REVOKED:
        return Credential.revoked_at.is_not(None)
    if status == tokens.EXPIRED:
        return live & Credential.expires_at.is_not(None) & (Credential.expires_at <= now)
    return live & (Credential.expires_at.is_(None) | (Credential.expires_at > now))


def _filtered(query: Select, flt: CredentialFilter, now: datetime) -> Select:
    if flt.owner:
        if flt.owner.isascii() and flt.owner.isdigit():
            owner = User.id == int(flt.owner) if int(flt.owner) <= paging.MAX_ID else false()
        else:
            owner = User.username_key == usernames.key(flt.owner)
        query = query.where(owner)
    conditions = [
        (flt.tenant, lambda v: Tenant.external_id == v),
        (flt.kind, lambda v: Credential.kind == v),
        (flt.dialect, lambda v: Credential.dialect == v),
        (flt.status, lambda v: _status_condition(v, now)),
        (flt.name, lambda v: Credential.name == v),
        (flt.family, lambda v: Credential.family == v),
        (flt.created_after, lambda v: Credential.created_at >= v),
        (flt.created_before, lambda v: Credential.created_at < v),
        (flt.used_after, lambda v: Credential.last_used_at >= v),
        (flt.used_before, lambda v: Credential.last_used_at < v),
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition(value))
    return query


def list_credentials(
    core: Core, viewer: Principal, flt: CredentialFilter, limit: int, cursor: str | None
) -> paging.Page[CredentialView]:
    below = paging.decode(cursor)
    if not all(storable(v) for v in (flt.owner, flt.tenant, flt.name, flt.family)):
        return paging.Page(items=[], next_cursor=None)
    query = _filtered(_visible(_base_query(), viewer), flt, core.clock.now())
    if below is not None:
        query = query.where(Credential.id < below)
    with core.db.read() as session:
        rows = session.execute(query.order_by(Credential.id.desc()).limit(limit + 1)).all()
    views = [CredentialView(*row) for row in rows]
    return paging.page(views, limit, lambda view: view.credential.id)


def get_credential(core: Core, viewer: Principal, public_id: str) -> CredentialView:
    if not storable(public_id):
        raise NotFound("No such credential.")
    with core.db.read() as session:
        row = session.execute(
            _visible(_base_query(), viewer).where(Credential.public_id == public_id)
        ).first()
    if row is None:
        raise NotFound("No such credential.")
    return CredentialView(*row)


def revoke_credential(core: Core, viewer: Principal, public_id: str) -> int:
    if not storable(public_id):
        raise NotFound("No such credential.")
    now = core.clock.now()
    with core.db.write() as session:
        target = session.scalar(
            select(Credential).where(Credential.public_id == public_id, policy.credentials_condition(viewer))
        )
        if target is None:
            raise NotFound("No such credential.")
        count = tokens.revoke_cascading(session, now, "revoked by request", Credential.id == target.id)
        audit.record(
            session, now, "credential.revoke", actor=policy.actor_of(viewer), target=public_id, count=count
        )
        return count


def revoke_family(core: Core, viewer: Principal, family: str) -> int:
    if not storable(family):
        raise NotFound("No such family.")
    now = core.clock.now()
    with core.db.write() as session:
        members = select(Credential.id).where(Credential.family == family)
        hidden = members.where(~policy.credentials_condition(viewer))
        if session.scalar(members.limit(1)) is None or session.scalar(hidden.limit(1)) is not None:
            raise NotFound("No such family.")
        count = tokens.revoke_cascading(session, now, "family revoked", Credential.family == family)
        audit.record(
            session,
            now,
            "family.revoke",
            actor=policy.actor_of(viewer),
            target=f"family:{family}",
            count=count,
        )
        return count


def revoke_owner(core: Core, viewer: Principal, user_id: int) -> int:
    now = core.clock.now()
    with core.db.write() as session:
        owner = session.get(User, user_id)
        if owner is None or not policy.administers(viewer, owner):
            raise NotFound("No such user.")
        count = tokens.revoke_cascading(session, now, "owner's tokens revoked", Credential.user_id == user_id)
        audit.record(
            session,
            now,
            "user.revoke_credentials",
            actor=policy.actor_of(viewer),
            target=f"user:{user_id}",
            count=count,
        )
        return count


def revoke_tenant(core: Core, viewer: Principal, tenant_external_id: str) -> int:
    policy.require_tenant_administration(viewer)
    now = core.clock.now()
    tenant_external_id = tenants.parse_external_id(tenant_external_id)
    with core.db.write() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.external_id == tenant_external_id))
        if tenant is None:
            raise NotFound("No such tenant.")
        count = tokens.revoke_cascading(
            session, now, "tenant's tokens revoked", tenants.credentials_of(tenant)
        )
        audit.record(
            session,
            now,
            "tenant.revoke_credentials",
            actor=policy.actor_of(viewer),
            target=f"tenant:{tenant_external_id}",
            count=count,
        )
        return count


def _resolve_visible(session: Session, core: Core, viewer: Principal, value: str) -> Credential | None:
    credential = verifier.identify(core, value, session)
    if credential is None:
        return None
    owner = session.get(User, credential.user_id) if credential.user_id is not None else None
    return credential if policy.sees_credential(viewer, credential, owner) else None


def introspect(core: Core, viewer: Principal, value: str) -> CredentialView | None:
    """The token's facts if it is active and the caller may see it; None otherwise (RFC 7662 says no more)."""
    with core.db.read() as session:
        credential = _resolve_visible(session, core, viewer, value)
        if credential is None or tokens.status_of(credential, core.clock.now()) != tokens.ACTIVE:
            return None
        owner = session.get(User, credential.user_id) if credential.user_id else None
        if owner is not None and owner.disabled:
            return None
        tenant = session.get(Tenant, credential.tenant_id) if credential.tenant_id else None
        return CredentialView(
            credential, owner.username if owner else None, tenant.external_id if tenant else None, None
        )


def revoke_presented(core: Core, viewer: Principal, value: str) -> None:
    """RFC 7009: revoke if the caller may; say nothing either way."""
    now = core.clock.now()
    with core.db.write() as session:
        credential = _resolve_visible(session, core, viewer, value)
        if credential is None:
            return
        count = tokens.revoke_cascading(session, now, "revoked by request", Credential.id == credential.id)
        audit.record(
            session,
            now,
            "credential.revoke",
            actor=policy.actor_of(viewer),
            target=credential.public_id,
            count=count,
            via="oauth2",
        )


def report_leaked(core: Core, values: list[str], client: str | None) -> int:
    """Anyone may report leaked tokens; live ones are revoked, one audit event each; rate limited."""
    if len(values) > 1000:
        raise InvalidValue("credentials", "At most 1000 tokens per report.")
    now = core.clock.now()
    with core.db.write() as session:
        throttle.consume(
            session, f"leak:{client or 'unknown'}", LEAK_REPORTS_PER_WINDOW, LEAK_REPORT_WINDOW, now
        )
    revoked = 0
    with core.db.write() as session:
        for value in dict.fromkeys(values):
            credential = verifier.identify(core, value, session)
            if credential is None or tokens.status_of(credential, now) == tokens.REVOKED:
                continue
            count = tokens.revoke_cascading(session, now, "reported leaked", Credential.id == credential.id)
            revoked += count
            events.announce_leaked(session, now, credential.id, count)
            audit.record(
                session,
                now,
                "credential.leak_reported",
                actor="anonymous",
                target=credential.public_id,
                client=client,
                count=count,
            )
    return revoked


def tenant_external_id(core: Core, tenant_id: int | None) -> str | None:
    if tenant_id is None:
        return None
    with core.db.read() as session:
        return session.scalar(select(Tenant.external_id).where(Tenant.id == tenant_id))
