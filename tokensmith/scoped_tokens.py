"""Typed, scoped, rotating access tokens that their owner manages from a login session.

One *entry* is what the owner sees in a list and edits or deletes by id: a chain of credentials sharing a
family. A renewable type holds a short-lived access token plus a refresh token; renewing presents the
latest pair and rotates both (same family, same entry). A fixed type holds one access token with a
chosen expiry and no refresh token. A scoped type reaches only the API endpoints listed on it.

Renewal is where theft shows: only the latest pair renews. A pair that was already superseded when the
request began is a replay, and every credential of the chain is revoked at once (and audited); a pair
superseded *while* the request was in flight lost a race, which is refused without harming the winner.
On SQLite (writers serialised) and PostgreSQL (conditional UPDATE) alike exactly one of two racing
renewals gets a new pair.

Times are the core's datetimes; the dialect decides their encoding. Type names here are the core's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tokensmith import audit, networks, policy, rotation, runtime
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import Forbidden, InvalidValue, NotFound, TokensmithError
from tokensmith.models import Credential, User
from tokensmith.tokens import claim_for_rotation, find, mint, revoke_where, set_attributes

ACCESS_LIFESPAN_KEY = ".commandcenter.access_token_lifespan"  # minutes
DEFAULT_RENEWABLE_FOR = timedelta(days=90)
MAX_RENEWABLE_FOR = timedelta(days=365)
RENEW_WINDOW = timedelta(days=14)  # renewal stays possible this long after the access token expired
MAX_NAME_LENGTH = 255
MAX_ENDPOINTS = 100
MAX_ENDPOINT_LENGTH = 512

ROTATED = "renewed"
DELETED = "deleted"
CHAIN_REVOKED = "replay detected"


@dataclass(frozen=True)
class TokenType:
    """How a type of token lives: renewable (access + refresh pair) or fixed (one token, chosen expiry)."""

    name: str
    renewable: bool
    scoped: bool = False
    default_lifetime: timedelta | None = None  # fixed types only
    max_lifetime: timedelta | None = None  # fixed types only


ALL = TokenType("all", renewable=True)
CUSTOM = TokenType("custom", renewable=True, scoped=True)
APPLIANCE = TokenType("appliance", renewable=True)
PROVISIONING = TokenType("provisioning", False, False, timedelta(days=30), timedelta(days=365))
RECOVERY = TokenType("recovery", False, False, timedelta(days=7), timedelta(days=14))
TYPES: dict[str, TokenType] = {t.name: t for t in (ALL, CUSTOM, APPLIANCE, PROVISIONING, RECOVERY)}


class RenewRefused(TokensmithError):
    """The presented pair cannot be renewed: unknown, not a pair, deleted, expired, or a lost race."""


class ChainRevoked(RenewRefused):
    """An older pair of a chain was presented: every credential of the chain has been revoked."""


@dataclass(frozen=True)
class Changes:
    """What a caller asks for at create (unset fields take defaults) or edit (unset fields stay)."""

    name: str | None = None
    type: str | None = None
    renewable_until: datetime | None = None
    expires_at: datetime | None = None
    endpoints: Sequence[str] | None = None
    allowed_ips: Sequence[str] | None = None


@dataclass(frozen=True)
class Entry:
    """One token as its owner sees it; never holds a secret."""

    id: int
    user_id: int
    name: str
    type: TokenType
    created_at: datetime
    expires_at: datetime | None
    renewable_until: datetime | None
    refresh_expires_at: datetime | None
    last_used_at: datetime | None
    endpoints: tuple[str, ...] = ()
    allowed_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssuedPair:
    """A new access token (and refresh token, for renewable types): shown to the client this once."""

    entry: Entry
    access: str
    refresh: str | None = field(default=None)


# --- public operations ------------------------------------------------------------------------------


def create(
    core: Core,
    actor: Principal,
    changes: Changes,
    *,
    dialect: str,
    owner_id: int | None = None,
) -> IssuedPair:
    """A new entry for the caller. Only from a login session, and never for another user."""
    _require_session(actor)
    if owner_id is not None and owner_id != actor.user_id:
        raise Forbidden("You cannot create an access token for another user.")
    now = core.clock.now()
    token_type = _type(changes.type or ALL.name)
    name = _name(changes.name)
    endpoints = _endpoints(changes.endpoints, token_type, required=True)
    allowed_ips = networks.normalise(changes.allowed_ips or ())
    renewable_until = expires_at = None
    if token_type.renewable:
        _refuse_fixed_expiry(changes)
        renewable_until = _renewable_until(changes.renewable_until or now + DEFAULT_RENEWABLE_FOR, now, now)
    else:
        _refuse_renewable_until(changes)
        expires_at = _fixed_expiry(
            changes.expires_at or now + token_type.default_lifetime, token_type, now, now
        )
    attributes = {"type": token_type.name, "allowed_ips": allowed_ips}
    with core.db.write() as session:
        pair = _issue(
            session,
            core,
            now,
            dialect=dialect,
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
    _require_user(actor)
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
        return _entries(session, current)


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
    _require_session(actor)
    now = core.clock.now()
    with core.db.write() as session:
        first, current = _locate(session, actor, entry_id, dialect)
        refresh = session.get(Credential, current.parent_id) if current.parent_id is not None else None
        old_type = _type((current.attributes or {}).get("type", ALL.name))
        new_type = _type(changes.type) if changes.type is not None else old_type
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
            current.name = _name(changes.name)
        if new_type.scoped:
            if changes.endpoints is not None or not old_type.scoped:
                current.scopes = _endpoints(changes.endpoints, new_type, required=True)
        else:
            _endpoints(changes.endpoints, new_type, required=False)
            current.scopes = []
        if new_type.renewable:
            _refuse_fixed_expiry(changes)
            if changes.renewable_until is not None and refresh is not None:
                until = _renewable_until(changes.renewable_until, now, first.created_at)
                current.renewable_until = refresh.renewable_until = until
                current.expires_at = min(current.expires_at, until)
                refresh.expires_at = min(current.expires_at + RENEW_WINDOW, until)
        else:
            _refuse_renewable_until(changes)
            if changes.expires_at is not None:
                current.expires_at = _fixed_expiry(changes.expires_at, new_type, now, first.created_at)
            elif new_type is not old_type:
                _fixed_expiry(current.expires_at, new_type, now, first.created_at, moment_checked=False)
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
        return _entries(session, [current])[0]


def delete(core: Core, actor: Principal, entry_id: int, *, dialect: str) -> None:
    """Revoke every credential of the entry: it stops working on the very next request, everywhere."""
    _require_session(actor)
    now = core.clock.now()
    with core.db.write() as session:
        first, current = _locate(session, actor, entry_id, dialect)
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


def renew(
    core: Core, access_value: str, refresh_value: str, *, dialect: str, client: str | None
) -> IssuedPair:
    """Rotate the latest access + refresh pair of a renewable entry; the presented pair stops working.

    Refused when the pair is unknown or not a pair, the entry was deleted, the access token expired more
    than `RENEW_WINDOW` ago, or renewable-until has passed. Presenting a pair that had already been
    superseded when this request began revokes the entire chain (`ChainRevoked`); "when this request
    began" is what the database showed before this request queued for the write (`rotation`), never a
    clock comparison, so a pair superseded while the request was in flight only loses the race.
    A pair limited to client addresses renews only from one of them, like any other use of it.
    """
    superseded_before = rotation.rotated_at_start(core, (access_value, refresh_value), ROTATED)
    began = core.clock.now()
    replayed: ChainRevoked | None = None
    with core.db.write() as session:
        access = find(session, core, access_value, "access")
        refresh = find(session, core, refresh_value, "refresh")
        if (
            access is None
            or refresh is None
            or access.dialect != dialect
            or refresh.dialect != dialect
            or access.family != refresh.family
            or access.user_id != refresh.user_id
        ):
            raise RenewRefused("The access token and refresh token are not a valid pair.")
        policy.check_address((access.attributes or {}).get("allowed_ips"), client)
        if any(c.public_id in superseded_before for c in (access, refresh)):
            count = revoke_where(session, began, CHAIN_REVOKED, Credential.family == refresh.family)
            if count == 0:  # deleted, or already revoked by an earlier replay: nothing left to protect
                raise RenewRefused("This token pair is no longer valid. Create a new access token.")
            audit.record(
                session,
                began,
                "scoped_token.replay",
                actor=audit.user_actor(refresh.user_id),
                target=f"entry:{(access.attributes or {}).get('entry')}",
                presented=[access.public_id, refresh.public_id],
                revoked=count,
            )
            replayed = ChainRevoked(
                "An older access and refresh token pair was presented, so every token of this chain has "
                "been revoked. Create a new access token."
            )
        else:
            if (
                access.revoked_at is not None
                or refresh.revoked_at is not None
                or access.parent_id != refresh.id
            ):
                raise RenewRefused("This token pair is no longer valid. Create a new access token.")
            owner = session.get(User, refresh.user_id)
            if owner is None or owner.disabled:
                raise RenewRefused("This token pair is no longer valid. Create a new access token.")
            if refresh.renewable_until is not None and refresh.renewable_until <= began:
                raise RenewRefused("The token is past its renewable-until time. Create a new access token.")
            if refresh.expires_at is not None and refresh.expires_at <= began:
                raise RenewRefused(
                    "The access token expired more than 14 days ago and can no longer be renewed. "
                    "Create a new access token."
                )
            if not claim_for_rotation(session, refresh, began, ROTATED):
                raise RenewRefused("This token pair is no longer valid. Create a new access token.")
            revoke_where(session, began, ROTATED, Credential.id == access.id)
            attributes = dict(access.attributes or {})
            first = session.get(Credential, attributes.get("entry", access.id))
            pair = _issue(
                session,
                core,
                began,
                dialect=dialect,
                user_id=refresh.user_id,
                name=access.name,
                family=refresh.family,
                entry_id=attributes.get("entry"),
                token_type=_type(attributes.get("type", ALL.name)),
                renewable_until=refresh.renewable_until,
                fixed_expiry=None,
                endpoints=list(access.scopes or []),
                attributes=attributes,
                derived_from=access,
                created_at=first.created_at if first is not None else access.created_at,
            )
            audit.record(
                session,
                began,
                "scoped_token.renew",
                actor=audit.user_actor(refresh.user_id),
                target=f"entry:{pair.entry.id}",
                replaced=[access.public_id, refresh.public_id],
            )
            return pair
    assert replayed is not None
    raise replayed  # committed first: the chain stays revoked although this call fails


# --- rules ------------------------------------------------------------------------------------------


def _require_user(actor: Principal) -> None:
    if actor.user_id is None:
        raise Forbidden("Only a user can manage access tokens.")


# Managing tokens takes a login session: the operations that do it declare so in the spec, and the core
# asks the policy the same question, so no other face can wire them up with a looser rule.
_SESSION_ONLY = policy.Declaration(frozenset({policy.SESSION}))


def _require_session(actor: Principal) -> None:
    _require_user(actor)
    if not policy.admits(_SESSION_ONLY, actor):
        raise Forbidden("You cannot create, edit, and delete an access token using another access token.")


def _type(name: str) -> TokenType:
    token_type = TYPES.get(name)
    if token_type is None:
        raise InvalidValue("type", "Unknown token type.")
    return token_type


def _name(name: str | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidValue("name", "A token needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidValue("name", f"At most {MAX_NAME_LENGTH} characters.")
    return name.strip()


def _endpoints(endpoints: Sequence[str] | None, token_type: TokenType, *, required: bool) -> list[str]:
    """A scoped type's endpoints: any well-formed paths, served here or not (an upstream's behind
    forward auth, a Commvault API tokensmith does not serve), never one covering everything."""
    given = list(endpoints or ())
    if not token_type.scoped:
        if given:
            raise InvalidValue("endpoints", "Only tokens limited to API endpoints take a list of endpoints.")
        return []
    if not given:
        if required:
            raise InvalidValue("endpoints", "A token limited to API endpoints needs at least one endpoint.")
        return []
    if len(given) > MAX_ENDPOINTS:
        raise InvalidValue("endpoints", f"At most {MAX_ENDPOINTS} endpoints are allowed.")
    result: list[str] = []
    for raw in given:
        endpoint = policy.scope_entry(raw, max_length=MAX_ENDPOINT_LENGTH)
        if endpoint not in result:
            result.append(endpoint)
    return result


def _refuse_fixed_expiry(changes: Changes) -> None:
    if changes.expires_at is not None:
        raise InvalidValue(
            "expires_at",
            "Does not apply to tokens of this type: they are renewed, and their expiry follows from "
            "renewable-until.",
        )


def _refuse_renewable_until(changes: Changes) -> None:
    if changes.renewable_until is not None:
        raise InvalidValue(
            "renewable_until", "Does not apply to tokens of this type, which cannot be renewed."
        )


def _renewable_until(moment: datetime, now: datetime, created_at: datetime) -> datetime:
    if moment <= now:
        raise InvalidValue("renewable_until", "Must be in the future.")
    if moment > created_at + MAX_RENEWABLE_FOR:
        raise InvalidValue(
            "renewable_until", f"Must be at most {MAX_RENEWABLE_FOR.days} days after the token was created."
        )
    return moment


def _fixed_expiry(
    moment: datetime | None,
    token_type: TokenType,
    now: datetime,
    created_at: datetime,
    *,
    moment_checked: bool = True,
) -> datetime:
    assert token_type.max_lifetime is not None and moment is not None
    if moment_checked and moment <= now:
        raise InvalidValue("expires_at", "Must be in the future.")
    if moment > created_at + token_type.max_lifetime:
        raise InvalidValue(
            "expires_at",
            f"Must be at most {token_type.max_lifetime.days} days after the token was created "
            "for tokens of this type.",
        )
    return moment


# --- storage ----------------------------------------------------------------------------------------


def _issue(
    session: Session,
    core: Core,
    now: datetime,
    *,
    dialect: str,
    user_id: int | None,
    name: str,
    family: str | None,
    entry_id: int | None,
    token_type: TokenType,
    renewable_until: datetime | None,
    fixed_expiry: datetime | None,
    endpoints: list[str],
    attributes: dict[str, Any],
    created_at: datetime,
    derived_from: Credential | None = None,
) -> IssuedPair:
    """Mint the credentials of one link of a chain (refresh + access, or a lone fixed access token).
    Both carry the entry's restrictions; a renewal's link inherits them from the pair it replaces."""
    refresh = None
    if token_type.renewable:
        assert renewable_until is not None
        lifespan = timedelta(minutes=runtime.get_value(session, ACCESS_LIFESPAN_KEY))
        access_expiry = min(now + lifespan, renewable_until)
        refresh = mint(
            session,
            core,
            kind="refresh",
            dialect=dialect,
            now=now,
            user_id=user_id,
            name=name,
            family=family,
            lifespan=min(access_expiry + RENEW_WINDOW, renewable_until) - now,
            renewable_until=renewable_until,
            scopes=endpoints,
            attributes=attributes,
            derived_from=derived_from,
        )
        family = refresh.credential.family
    else:
        assert fixed_expiry is not None
        access_expiry = fixed_expiry
    access = mint(
        session,
        core,
        kind="access",
        dialect=dialect,
        now=now,
        user_id=user_id,
        name=name,
        family=family,
        parent_id=refresh.credential.id if refresh else None,
        lifespan=access_expiry - now,
        renewable_until=renewable_until,
        scopes=endpoints,
        attributes=attributes,
        derived_from=derived_from,
    )
    entry = entry_id if entry_id is not None else access.credential.id
    linked = {**attributes, "entry": entry}
    set_attributes(session, [i.credential.id for i in (access, refresh) if i is not None], linked)
    access.credential.attributes = linked
    if refresh is not None:
        refresh.credential.attributes = dict(linked)
    listed = _entry(
        access.credential,
        created_at=created_at,
        refresh_expires_at=refresh.credential.expires_at if refresh else None,
        last_used_at=None,
    )
    return IssuedPair(entry=listed, access=access.value, refresh=refresh.value if refresh else None)


def _locate(session: Session, actor: Principal, entry_id: int, dialect: str) -> tuple[Credential, Credential]:
    """(first, current) credentials of an entry the actor may manage; NotFound hides the rest."""
    first = session.get(Credential, entry_id)
    if (
        first is None
        or first.kind != "access"
        or first.dialect != dialect
        or (first.attributes or {}).get("entry") != first.id
    ):
        raise NotFound("No access token with this id.")
    if first.user_id != actor.user_id:
        owner = session.get(User, first.user_id)
        if owner is None or not policy.administers(actor, owner):
            raise NotFound("No access token with this id.")
    current = session.scalar(
        select(Credential)
        .where(
            Credential.family == first.family,
            Credential.kind == "access",
            Credential.revoked_at.is_(None),
        )
        .order_by(Credential.id.desc())
        .limit(1)
    )
    if current is None:
        raise NotFound("No access token with this id.")
    return first, current


def _entries(session: Session, current: list[Credential]) -> list[Entry]:
    """Entries for the current access credentials of their chains, with three batched look-ups."""
    if not current:
        return []
    first_ids = {(c.attributes or {}).get("entry", c.id) for c in current}
    created = _mapping(
        session, select(Credential.id, Credential.created_at).where(Credential.id.in_(first_ids))
    )
    parents = {c.parent_id for c in current if c.parent_id is not None}
    refresh_expiry = _mapping(
        session, select(Credential.id, Credential.expires_at).where(Credential.id.in_(parents))
    )
    last_used = _mapping(
        session,
        select(Credential.family, func.max(Credential.last_used_at))
        .where(Credential.family.in_({c.family for c in current}), Credential.kind == "access")
        .group_by(Credential.family),
    )
    return [
        _entry(
            c,
            created_at=created.get((c.attributes or {}).get("entry", c.id), c.created_at),
            refresh_expires_at=refresh_expiry.get(c.parent_id),
            last_used_at=last_used.get(c.family),
        )
        for c in current
    ]


def _mapping(session: Session, query: Any) -> dict[Any, Any]:
    return {key: value for key, value in session.execute(query)}


def _entry(
    credential: Credential,
    *,
    created_at: datetime,
    refresh_expires_at: datetime | None,
    last_used_at: datetime | None,
) -> Entry:
    attributes = credential.attributes or {}
    return Entry(
        id=attributes.get("entry", credential.id),
        user_id=credential.user_id,
        name=credential.name or "",
        type=TYPES.get(attributes.get("type", ALL.name), ALL),
        created_at=created_at,
        expires_at=credential.expires_at,
        renewable_until=credential.renewable_until,
        refresh_expires_at=refresh_expires_at,
        last_used_at=last_used_at,
        endpoints=tuple(credential.scopes or ()),
        allowed_ips=tuple(attributes.get("allowed_ips") or ()),
    )
