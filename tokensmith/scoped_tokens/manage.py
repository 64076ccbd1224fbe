"""What an owner does with their tokens from a login session: create, list, edit and delete entries.

A room of its own because these four operations share one shape (check the caller, apply the rules to
the request, change the chain's rows, audit) and none of renewal's concerns: they are called by a person
holding a session, never with the token they act on.
"""

from __future__ import annotations

from sqlalchemy import select

from tokensmith import audit, networks, policy
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import Forbidden, InvalidValue, NotFound
from tokensmith.models import Credential, User
from tokensmith.scoped_tokens.chains import entries, issue, locate
from tokensmith.scoped_tokens.model import ALL, Changes, Entry, IssuedPair
from tokensmith.scoped_tokens.rules import (
    DEFAULT_RENEWABLE_FOR,
    checked_endpoints,
    checked_fixed_expiry,
    checked_name,
    checked_renewable_until,
    refresh_expiry,
    refuse_fixed_expiry,
    refuse_renewable_until,
    require_session,
    require_user,
    type_named,
)
from tokensmith.tokens import revoke_where

DELETED = "deleted"


def create(
    core: Core,
    actor: Principal,
    changes: Changes,
    *,
    dialect: str,
    access_lifespan_setting: str,
    owner_id: int | None = None,
) -> IssuedPair:
    """A new entry for the caller. Only from a login session, and never for another user."""
    require_session(actor)
    if owner_id is not None and owner_id != actor.user_id:
        raise Forbidden("You cannot create an access token for another user.")
    now = core.clock.now()
    token_type = type_named(changes.type or ALL.name)
    name = checked_name(changes.name)
    endpoints = checked_endpoints(changes.endpoints, token_type, required=True)
    allowed_ips = networks.normalise(changes.allowed_ips or ())
    renewable_until = expires_at = None
    if token_type.renewable:
        refuse_fixed_expiry(changes)
        renewable_until = checked_renewable_until(
            changes.renewable_until or now + DEFAULT_RENEWABLE_FOR, now, now
        )
    else:
        refuse_renewable_until(changes)
        expires_at = checked_fixed_expiry(
            changes.expires_at or now + token_type.default_lifetime, token_type, now, now
        )
    attributes = {"type": token_type.name, "allowed_ips": allowed_ips}
    with core.db.write() as session:
        pair = issue(
            session,
            core,
            now,
            dialect=dialect,
            access_lifespan_setting=access_lifespan_setting,
            user_id=actor.user_id,
            name=name,
            family=None,
            entry_id=None,
            token_type=token_type,
            renewable_until=renewable_until,
            fixed_expiry=expires_at,
            endpoints=endpoints,
            attributes=attributes,
            created_at=now,
        )
        audit.record(
            session,
            now,
            "scoped_token.create",
            actor=audit.user_actor(actor.user_id),
            target=f"entry:{pair.entry.id}",
            type=token_type.name,
            name=name,
        )
        return pair


def list_for(core: Core, actor: Principal, user_id: int, *, dialect: str) -> list[Entry]:
    """The live entries of `user_id` (expired ones included until deleted). Others' only for admins."""
    require_user(actor)
    with core.db.read() as session:
        owner = session.get(User, user_id)
        if user_id != actor.user_id and policy.caller_kind(actor) == policy.USER:
            raise Forbidden("You may only list your own access tokens.")
        if owner is None:
            return []
        if not policy.administers(actor, owner):
            raise Forbidden("You may only list the access tokens of users you administer.")
        current = list(
            session.scalars(
                select(Credential)
                .where(
                    Credential.user_id == user_id,
                    Credential.kind == "access",
                    Credential.dialect == dialect,
                    Credential.revoked_at.is_(None),
                )
                .order_by(Credential.id)
            )
        )
        return entries(session, current)


def update(
    core: Core,
    actor: Principal,
    entry_id: int,
    changes: Changes,
    *,
    dialect: str,
) -> Entry:
    """Edit name, type, renewable-until, fixed expiry, endpoints or allowed addresses of an entry.

    A renewable type cannot become a fixed one or the reverse (create a new token instead). Bounds are
    measured from the entry's creation, so editing never stretches a token past its type's maximum.
    """
    require_session(actor)
    now = core.clock.now()
    with core.db.write() as session:
        first, current = locate(session, actor, entry_id, dialect)
        refresh = session.get(Credential, current.parent_id) if current.parent_id is not None else None
        old_type = type_named((current.attributes or {}).get("type", ALL.name))
        new_type = type_named(changes.type) if changes.type is not None else old_type
        if new_type.renewable != old_type.renewable:
            raise InvalidValue(
                "type",
                "A token that can be renewed cannot become one that cannot, or the other way round. "
                "Create a new token instead.",
            )
        attributes = dict(current.attributes or {})
        attributes["type"] = new_type.name
        if changes.allowed_ips is not None:
            attributes["allowed_ips"] = networks.normalise(changes.allowed_ips)
        if changes.name is not None:
            current.name = checked_name(changes.name)
        if new_type.scoped:
            if changes.endpoints is not None or not old_type.scoped:
                current.scopes = checked_endpoints(changes.endpoints, new_type, required=True)
        else:
            checked_endpoints(changes.endpoints, new_type, required=False)
            current.scopes = []
        if new_type.renewable:
            refuse_fixed_expiry(changes)
            if changes.renewable_until is not None and refresh is not None:
                until = checked_renewable_until(changes.renewable_until, now, first.created_at)
                current.renewable_until = refresh.renewable_until = until
                current.expires_at = min(current.expires_at, until)
                refresh.expires_at = refresh_expiry(current.expires_at, until)
        else:
            refuse_renewable_until(changes)
            if changes.expires_at is not None:
                current.expires_at = checked_fixed_expiry(changes.expires_at, new_type, now, first.created_at)
            elif new_type is not old_type:
                checked_fixed_expiry(
                    current.expires_at, new_type, now, first.created_at, moment_checked=False
                )
        current.attributes = attributes
        if refresh is not None:
            refresh.name = current.name
            refresh.scopes = list(current.scopes or [])
            refresh.attributes = dict(attributes)
        session.flush()
        audit.record(
            session,
            now,
            "scoped_token.update",
            actor=audit.user_actor(actor.user_id),
            target=f"entry:{entry_id}",
            owner=current.user_id,
            fields=sorted(k for k, v in vars(changes).items() if v is not None),
        )
        return entries(session, [current])[0]


def delete(core: Core, actor: Principal, entry_id: int, *, dialect: str) -> None:
    """Revoke every credential of the entry: it stops working on the very next request, everywhere."""
    require_session(actor)
    now = core.clock.now()
    with core.db.write() as session:
        first, current = locate(session, actor, entry_id, dialect)
        count = revoke_where(session, now, DELETED, Credential.family == first.family)
        if count == 0:  # a concurrent delete got there first
            raise NotFound("No access token with this id.")
        audit.record(
            session,
            now,
            "scoped_token.delete",
            actor=audit.user_actor(actor.user_id),
            target=f"entry:{entry_id}",
            owner=current.user_id,
            revoked=count,
        )
