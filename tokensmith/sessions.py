"""Interactive login sessions: a password login yields a session token for a person at a device.

A session expires after a period of *inactivity* (each use pushes its expiry forward), is bound to the
device it was opened from, and can be renewed from that device after it expired, within a grace period,
without the password; renewal rotates the token (the old one stops working). Sessions are what
interactive clients hold; long-lived machine credentials are scoped tokens (`scoped_tokens.py`), and
managing those is allowed from a session only.

The sliding expiry costs no extra write: the one conditional UPDATE that records use (at most once per
`tokens.LAST_USED_RESOLUTION` per session, `record_use`, run by `tokensmith.verifier`) also moves the
expiry, so the idle timeout is honoured to within that resolution (a session may end up to one minute
early, never late).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update

from tokensmith import audit, users
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.db import Transaction
from tokensmith.errors import Forbidden, InvalidValue, TokensmithError
from tokensmith.models import Credential, User
from tokensmith.tokens import Issued, claim_for_rotation, find_row, mint, use_is_stale

KIND = "session"
DEFAULT_IDLE_MINUTES = 30
MAX_IDLE_MINUTES = 7 * 24 * 60
# How long after it expired a session may still be renewed from its device (then: log in again).
RENEWAL_GRACE = timedelta(hours=24)
MAX_DEVICE_ID_LENGTH = 255

ROTATED = "renewed"
ENDED = "logged out"


class RenewalRefused(TokensmithError):
    """The session cannot be renewed (unknown, ended, other device, too long expired): log in again."""


class NotASession(Forbidden):
    """A call that only a login session may make was made with another kind of credential."""


@dataclass(frozen=True)
class Login:
    user: User
    issued: Issued


def _idle_minutes(value: int | None) -> int:
    minutes = DEFAULT_IDLE_MINUTES if value is None else value
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_IDLE_MINUTES:
        raise InvalidValue("idle_timeout", f"Must be a whole number of minutes from 1 to {MAX_IDLE_MINUTES}.")
    return minutes


def login(
    core: Core,
    username: str,
    password: str,
    *,
    dialect: str,
    device_id: str | None,
    idle_minutes: int | None,
    client: str | None,
) -> Login:
    """Check the password (Argon2id, throttled: call from a worker thread) and open a session."""
    minutes = _idle_minutes(idle_minutes)
    if device_id is not None and len(device_id) > MAX_DEVICE_ID_LENGTH:
        raise InvalidValue("device_id", f"At most {MAX_DEVICE_ID_LENGTH} characters.")
    user = users.authenticate(core, username, password, client)
    now = core.clock.now()
    with core.db.write() as session:
        issued = mint(
            session,
            core,
            kind=KIND,
            dialect=dialect,
            now=now,
            user_id=user.id,
            lifespan=timedelta(minutes=minutes),
            attributes={"device_id": device_id, "idle_minutes": minutes},
        )
    return Login(user=user, issued=issued)


def idle_timeout(credential: Any) -> timedelta:
    """How long this session lives without use: chosen at login, kept through renewals."""
    return timedelta(minutes=int((credential.attributes or {}).get("idle_minutes", DEFAULT_IDLE_MINUTES)))


# Records a use and pushes the idle expiry on, in one statement; a session that ended or expired in
# the meantime is left alone (its row count is then 0). Built once: this runs on the hot path.
_SLIDE = (
    update(Credential.__table__)
    .where(
        Credential.__table__.c.id == bindparam("credential_id"),
        Credential.__table__.c.revoked_at.is_(None),
        Credential.__table__.c.expires_at > bindparam("now"),
    )
    .values(last_used_at=bindparam("now"), expires_at=bindparam("new_expiry"))
)


def record_use(session: Transaction, credential: Any, now: datetime) -> None:
    """A live session was used: at most one write per `LAST_USED_RESOLUTION`, which also slides its expiry."""
    if use_is_stale(credential, now):
        session.connection().execute(
            _SLIDE,
            {"credential_id": credential.id, "now": now, "new_expiry": now + idle_timeout(credential)},
        )


def renew(core: Core, value: str, device_id: str) -> Issued:
    """Replace a session (usually an idle-expired one) from the device that opened it.

    Refused, with one error whatever the reason, when the token is unknown, was logged out or already
    renewed, belongs to another device (or was opened without one), expired more than `RENEWAL_GRACE`
    ago, or its user was disabled. Of two racing renewals exactly one succeeds.
    """
    now = core.clock.now()
    with core.db.write() as session:
        old = find_row(session, core, value, KIND)
        if old is None or old.revoked_at is not None:
            raise RenewalRefused("The session has ended or is unknown. Log in again.")
        bound_to = (old.attributes or {}).get("device_id")
        if (
            not bound_to
            or not isinstance(device_id, str)
            or not hmac.compare_digest(bound_to.encode(), device_id.encode())
        ):
            raise RenewalRefused("The session can only be renewed from the device that logged in.")
        if old.expires_at is not None and old.expires_at + RENEWAL_GRACE <= now:
            raise RenewalRefused("The session expired too long ago to be renewed. Log in again.")
        user = session.get(User, old.user_id)
        if user is None or user.disabled:
            raise RenewalRefused("The session has ended or is unknown. Log in again.")
        if not claim_for_rotation(session, old, now, ROTATED):
            raise RenewalRefused("The session has ended or is unknown. Log in again.")
        issued = mint(
            session,
            core,
            kind=KIND,
            dialect=old.dialect,
            now=now,
            user_id=old.user_id,
            parent_id=old.id,
            lifespan=idle_timeout(old),
            attributes=dict(old.attributes or {}),
            derived_from=old,
        )
        audit.record(
            session,
            now,
            "session.renew",
            actor=audit.user_actor(old.user_id),
            target=old.public_id,
            replaced_by=issued.credential.public_id,
        )
        return issued


def end(core: Core, principal: Principal) -> None:
    """Log out: the session used for this call stops working at once."""
    if principal.kind != KIND:
        raise NotASession("Logout ends a login session; an access token is ended by deleting it.")
    now = core.clock.now()
    with core.db.write() as session:
        credential = session.get(Credential, principal.credential_id)
        if credential is not None and claim_for_rotation(session, credential, now, ENDED):
            audit.record(
                session,
                now,
                "session.end",
                actor=audit.user_actor(principal.user_id),
                target=principal.public_id,
            )
