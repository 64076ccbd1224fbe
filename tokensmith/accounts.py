"""Account administration on someone's behalf: the native API's user operations.

Every function takes the acting `Principal` and asks `policy` before it touches an account: an account
the actor does not administer is as unknown as one that does not exist (NotFound), and no role above
the actor's own can be granted. The account mechanics themselves (hashing, throttling, revoking a
disabled user's tokens) stay in `users`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tokensmith import paging, policy, users
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import NotFound
from tokensmith.models import User


def list_page(core: Core, actor: Principal, limit: int, cursor: str | None) -> paging.Page[User]:
    """The accounts the actor administers (themselves included), newest first."""
    below = paging.decode(cursor)
    query = select(User).where(policy.users_condition(actor)).order_by(User.id.desc()).limit(limit + 1)
    if below is not None:
        query = query.where(User.id < below)
    with core.db.read() as session:
        rows = list(session.scalars(query))
    return paging.page(rows, limit, lambda user: user.id)


def get(core: Core, actor: Principal, user_id: int) -> User:
    with core.db.read() as session:
        user = session.get(User, user_id)
    if user is None or not policy.administers(actor, user):
        raise NotFound("No such user.")
    return user


def create(core: Core, actor: Principal, username: str, password: str | None, **fields: Any) -> User:
    """A new account, inside the actor's tenant if the actor administers one."""
    role = fields.pop("role", policy.USER)
    policy.require_may_grant(actor, role)
    return users.create_user(
        core,
        username,
        password,
        role=role,
        tenant_id=policy.tenant_for_new_user(actor),
        actor=policy.actor_of(actor),
        **fields,
    )


def update(
    core: Core, actor: Principal, user_id: int, *, disabled: bool | None = None, role: str | None = None
) -> User:
    get(core, actor, user_id)
    if role is not None:
        policy.require_may_grant(actor, role)
    return users.update_user(core, user_id, disabled=disabled, role=role, actor=policy.actor_of(actor))


def reset_password(core: Core, actor: Principal, user_id: int, password: str) -> User:
    """Runs Argon2id: call it off the event loop."""
    get(core, actor, user_id)
    return users.reset_password(core, user_id, password, actor=policy.actor_of(actor))
