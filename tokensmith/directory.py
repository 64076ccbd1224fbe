"""The user directory: the accounts a caller may see, which are exactly those `policy.administers`
says they may act on (themselves included), so the directory never shows an account whose tokens the
caller could not manage, and the reverse."""

from __future__ import annotations

from sqlalchemy import select

from tokensmith import policy
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import Forbidden, NotFound
from tokensmith.models import User


def _require_user(actor: Principal) -> None:
    if policy.caller_kind(actor) == policy.TENANT:
        raise Forbidden("Only a user can look up accounts.")


def visible_users(core: Core, actor: Principal) -> list[User]:
    _require_user(actor)
    with core.db.read() as session:
        query = select(User).where(policy.users_condition(actor)).order_by(User.id)
        return list(session.scalars(query))


def visible_user(core: Core, actor: Principal, user_id: int) -> User:
    """One account: NotFound when it does not exist, Forbidden when it is not the caller's to see."""
    _require_user(actor)
    with core.db.read() as session:
        user = session.get(User, user_id)
    if user is None:
        if policy.caller_kind(actor) != policy.USER:
            raise NotFound("No user with this id.")
        raise Forbidden("You may only look up your own account.")
    if not policy.administers(actor, user):
        raise Forbidden("You may only look up your own account.")
    return user
