"""Who may see and administer which accounts.

Everybody sees themselves. An admin administers the users of their own tenant (or, without a tenant, the
users without one); a superadmin administers everybody. The same rule decides whose tokens an admin may
list, edit and delete, so the user directory never shows an account whose tokens the caller could not
manage, and the reverse.
"""

from __future__ import annotations

from sqlalchemy import select

from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import Forbidden, NotFound
from tokensmith.models import User


def administers(actor: Principal, user: User) -> bool:
    """True when `actor` may act on `user`'s behalf as an administrator (or is that user)."""
    if actor.user_id is not None and actor.user_id == user.id:
        return True
    if actor.role == "superadmin":
        return True
    return actor.role == "admin" and actor.tenant_id == user.tenant_id


def visible_users(core: Core, actor: Principal) -> list[User]:
    if actor.user_id is None:
        raise Forbidden("Only a user can look up accounts.")
    with core.db.read() as session:
        query = select(User).order_by(User.id)
        if actor.role == "admin":
            query = query.where(
                User.tenant_id == actor.tenant_id if actor.tenant_id is not None else User.tenant_id.is_(None)
            )
        elif actor.role != "superadmin":
            query = query.where(User.id == actor.user_id)
        return list(session.scalars(query))


def visible_user(core: Core, actor: Principal, user_id: int) -> User:
    """One account: NotFound when it does not exist, Forbidden when it is not the caller's to see."""
    if actor.user_id is None:
        raise Forbidden("Only a user can look up accounts.")
    with core.db.read() as session:
        user = session.get(User, user_id)
    if user is None:
        if actor.is_admin:
            raise NotFound("No user with this id.")
        raise Forbidden("You may only look up your own account.")
    if not administers(actor, user):
        raise Forbidden("You may only look up your own account.")
    return user
