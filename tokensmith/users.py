"""Accounts: creation, passwords, and the one password check every dialect's login goes through."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tokensmith import audit, throttle, tokens, usernames
from tokensmith.core import Core
from tokensmith.errors import Conflict, InvalidValue, LoginFailed, NotFound
from tokensmith.models import Credential, User
from tokensmith.passwords import MIN_LENGTH, check_new
from tokensmith.text import require_storable

ROLES = ("user", "admin", "superadmin")
AUTH_SOURCES = ("local", "sso")
MIN_PASSWORD_LENGTH = MIN_LENGTH


def find_by_name(session: Session, username: object) -> User | None:
    """The account a submitted name names (by its normalised key, `usernames.key`), if any."""
    key = usernames.lookup_key(username)
    return None if key is None else session.scalar(select(User).where(User.username_key == key))


def create_user(
    core: Core,
    username: str,
    password: str | None,
    *,
    role: str = "user",
    auth_source: str = "local",
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    tenant_id: int | None = None,
    actor: str | None = None,
) -> User:
    username, username_key = usernames.checked(username)
    for field, value in (
        ("email", email),
        ("first_name", first_name),
        ("last_name", last_name),
    ):
        require_storable(field, value)
    if role not in ROLES:
        raise InvalidValue("role", f"Role must be one of {', '.join(ROLES)}.")
    if auth_source not in AUTH_SOURCES:
        raise InvalidValue("auth_source", f"Auth source must be one of {', '.join(AUTH_SOURCES)}.")
    if auth_source == "local":
        if password is None:
            raise InvalidValue("password", "A local user needs a password.")
        check_new(password, username=username)
    now = core.clock.now()
    user = User(
        username=username,
        username_key=username_key,
        password_hash=core.passwords.hash(password) if auth_source == "local" and password else None,
        role=role,
        auth_source=auth_source,
        disabled=False,
        email=email,
        first_name=first_name,
        last_name=last_name,
        tenant_id=tenant_id,
        created_at=now,
    )
    try:
        with core.db.write() as session:
            if session.scalar(select(User.id).where(User.username_key == username_key)):
                raise Conflict(f"A user named {username!r} already exists.")
            session.add(user)
            session.flush()
            audit.record(
                session,
                now,
                "user.create",
                actor=actor,
                target=f"user:{user.id}",
                role=role,
                auth_source=auth_source,
            )
    except IntegrityError as exc:
        raise Conflict(f"A user named {username!r} already exists.") from exc
    return user


def list_users(core: Core) -> list[User]:
    with core.db.read() as session:
        return list(session.scalars(select(User).order_by(User.id)))


def get_user(core: Core, user_id: int) -> User | None:
    with core.db.read() as session:
        return session.get(User, user_id)


def set_password(core: Core, username: str, password: str, actor: str | None = None) -> User:
    with core.db.read() as session:
        user = find_by_name(session, username)
    if user is None:
        raise InvalidValue("username", f"No user named {username!r}.")
    return _store_password(core, user, password, actor)


def _store_password(core: Core, user: User, password: str, actor: str | None) -> User:
    check_new(password, username=user.username)
    new_hash = core.passwords.hash(password)
    with core.db.write() as session:
        stored = session.get(User, user.id)
        if stored is None:
            raise NotFound("No such user.")
        stored.password_hash = new_hash
        audit.record(session, core.clock.now(), "user.set_password", actor=actor, target=f"user:{stored.id}")
    return stored


def ensure_admin(core: Core, password: str | None = None) -> str | None:
    """On an empty database, create `admin`; return the generated password (to print once), if any."""
    with core.db.read() as session:
        if session.scalar(select(func.count(User.id))):
            return None
    generated = None if password else secrets.token_urlsafe(18)
    try:
        create_user(core, "admin", password or generated, role="admin", actor="system")
    except Conflict:  # another worker won the race
        return None
    return generated


def authenticate(core: Core, username: str, password: str, client: str | None) -> User:
    """Check a password. Throttled per account and address; unknown, disabled and wrong look the same.

    A slot on both throttle counters is reserved (atomically, committed) before Argon2id runs, so racing
    attempts cannot run more password checks than the limit allows (see throttle.py).
    Runs Argon2id (tens of milliseconds): call it from a worker thread, not the event loop.
    """
    now = core.clock.now()
    with core.db.write() as session:  # committed before the check: the reservation is what bounds it
        reservation = throttle.reserve(session, core.key, username, client, now)
    with core.db.read() as session:
        user = find_by_name(session, username)
    ok = core.passwords.verify(user.password_hash if user else None, password)
    if ok and user is not None and not user.disabled:
        upgraded = core.passwords.rehash(user.password_hash, password) if user.password_hash else None
        with core.db.write() as session:
            throttle.record_success(session, reservation)
            if upgraded is not None:  # unless the password changed meanwhile: that hash is newer
                session.execute(
                    update(User)
                    .where(User.id == user.id, User.password_hash == user.password_hash)
                    .values(password_hash=upgraded)
                )
        return user
    with core.db.write() as session:
        throttle.record_failure(session, reservation)
        # The submitted name only when it names an account: otherwise it may be a mistyped password.
        named = {"username": user.username} if user is not None else {}
        audit.record(
            session,
            now,
            "login.failed",
            actor=None,
            target=f"user:{user.id}" if user else None,
            client=client,
            **named,
        )
    raise LoginFailed("Invalid username or password.")


def update_user(
    core: Core,
    user_id: int,
    *,
    disabled: bool | None = None,
    role: str | None = None,
    actor: str | None = None,
) -> User:
    """Disabling revokes every live token the user owns, at once; enabling does not bring them back."""
    if role is not None and role not in ROLES:
        raise InvalidValue("role", f"Role must be one of {', '.join(ROLES)}.")
    now = core.clock.now()
    with core.db.write() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        if role is not None and role != user.role:
            audit.record(
                session, now, "user.set_role", actor=actor, target=f"user:{user.id}", old=user.role, new=role
            )
            user.role = role
        if disabled is not None and disabled != user.disabled:
            user.disabled = disabled
            count = 0
            if disabled:
                count = tokens.revoke_cascading(session, now, "owner disabled", Credential.user_id == user.id)
            audit.record(
                session,
                now,
                "user.disable" if disabled else "user.enable",
                actor=actor,
                target=f"user:{user.id}",
                revoked=count,
            )
    return user


def reset_password(core: Core, user_id: int, password: str, actor: str | None = None) -> User:
    with core.db.read() as session:
        user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return _store_password(core, user, password, actor)
