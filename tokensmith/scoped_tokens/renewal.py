"""Renewal: presenting the latest access + refresh pair of an entry rotates both.

A room of its own because renewal is where theft shows, and it is called with the tokens themselves,
not from a login session. Only the latest pair renews. A pair that was already superseded when the
request began is a replay, and every credential of the chain is revoked at once (and audited); a pair
superseded *while* the request was in flight lost a race, which is refused without harming the winner.
On SQLite (writers serialised) and PostgreSQL (conditional UPDATE) alike exactly one of two racing
renewals gets a new pair. Which pairs may renew at all is `is_pair` and `refusal`, pure.
"""

from __future__ import annotations

from datetime import datetime

from tokensmith import audit, policy, rotation
from tokensmith.core import Core
from tokensmith.models import Credential, User
from tokensmith.scoped_tokens.chains import issue
from tokensmith.scoped_tokens.model import ALL, ChainRevoked, IssuedPair, RenewRefused
from tokensmith.scoped_tokens.rules import RENEW_WINDOW, type_named
from tokensmith.tokens import claim_for_rotation, find, revoke_where
from tokensmith.webhooks import events

ROTATED = "renewed"
CHAIN_REVOKED = "replay detected"
NO_LONGER_VALID = "This token pair is no longer valid. Create a new access token."


def is_pair(access: Credential | None, refresh: Credential | None, dialect: str) -> bool:
    """An access and a refresh credential of one chain and one owner, issued in this dialect."""
    return (
        access is not None
        and refresh is not None
        and access.dialect == dialect
        and refresh.dialect == dialect
        and access.family == refresh.family
        and access.user_id == refresh.user_id
    )


def refusal(access: Credential, refresh: Credential, owner: User | None, began: datetime) -> str | None:
    """Why the current pair of a chain may not renew at `began`, or None when it may."""
    if access.revoked_at is not None or refresh.revoked_at is not None or access.parent_id != refresh.id:
        return NO_LONGER_VALID
    if owner is None or owner.disabled:
        return NO_LONGER_VALID
    if refresh.renewable_until is not None and refresh.renewable_until <= began:
        return "The token is past its renewable-until time. Create a new access token."
    if refresh.expires_at is not None and refresh.expires_at <= began:
        return (
            f"The access token expired more than {RENEW_WINDOW.days} days ago and can no longer be renewed. "
            "Create a new access token."
        )
    return None


def renew(
    core: Core,
    access_value: str,
    refresh_value: str,
    *,
    dialect: str,
    access_lifespan_setting: str,
    client: str | None,
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
        if not is_pair(access, refresh, dialect):
            raise RenewRefused("The access token and refresh token are not a valid pair.")
        assert access is not None and refresh is not None
        policy.check_address((access.attributes or {}).get("allowed_ips"), client)
        if any(c.public_id in superseded_before for c in (access, refresh)):
            count = revoke_where(session, began, CHAIN_REVOKED, Credential.family == refresh.family)
            if count == 0:  # deleted, or already revoked by an earlier replay: nothing left to protect
                raise RenewRefused(NO_LONGER_VALID)
            events.announce_chain_revoked(
                session, began, refresh.id, [access.public_id, refresh.public_id], CHAIN_REVOKED
            )
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
            refused = refusal(access, refresh, session.get(User, refresh.user_id), began)
            if refused is not None:
                raise RenewRefused(refused)
            if not claim_for_rotation(session, refresh, began, ROTATED):
                raise RenewRefused(NO_LONGER_VALID)
            revoke_where(session, began, ROTATED, Credential.id == access.id, announce=False)
            attributes = dict(access.attributes or {})
            first = session.get(Credential, attributes.get("entry", access.id))
            pair = issue(
                session,
                core,
                began,
                dialect=dialect,
                access_lifespan_setting=access_lifespan_setting,
                user_id=refresh.user_id,
                name=access.name,
                family=refresh.family,
                entry_id=attributes.get("entry"),
                token_type=type_named(attributes.get("type", ALL.name)),
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
