"""Webhook subscriptions on someone's behalf: create, list, look up, delete, and their deliveries.

Every function takes the acting `Principal`. A subscription is owned by whoever made it (the user behind
the token, or the tenant a tenant token speaks for: `policy.webhook_owner`); who may see and delete one
is `policy.webhooks_condition`, the credentials' rule applied to subscriptions, so one that the caller
may not see is as unknown as one that does not exist. The signing secret is returned once, by `create`,
and stored only sealed (`signing`); no reply or audit event holds it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tokensmith import audit, crypto, paging, policy, runtime
from tokensmith.auth import Principal
from tokensmith.core import Core
from tokensmith.errors import Conflict, InvalidValue, NotFound
from tokensmith.models import Tenant, User, Webhook, WebhookDelivery
from tokensmith.text import require_storable, storable
from tokensmith.webhooks import expiry, signing, urls
from tokensmith.webhooks.events import EVENT_TYPES

PUBLIC_ID_PREFIX = "wh_"
PUBLIC_ID_LENGTH = 20
MAX_DESCRIPTION = 1024
MAX_PER_OWNER = 100  # a subscription costs a fan-out check per event: a bound keeps that small


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription with the names its owner is shown by (never its secret)."""

    webhook: Webhook
    owner_username: str | None
    owner_tenant: str | None  # the owning tenant's external id


@dataclass(frozen=True)
class Created:
    """A new subscription and its signing secret, shown this once."""

    view: SubscriptionView
    secret: str


def check_events(raw: Any) -> list[str]:
    """The event types, each known, in the order given, without repeats."""
    if not isinstance(raw, list) or not raw or not all(isinstance(item, str) for item in raw):
        raise InvalidValue("events", "events is a non-empty list of event types.")
    unknown = [item for item in raw if item not in EVENT_TYPES]
    if unknown:
        raise InvalidValue("events", f"Unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}.")
    return list(dict.fromkeys(raw))


def _description(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_DESCRIPTION:
        raise InvalidValue("description", f"A description is text of at most {MAX_DESCRIPTION} characters.")
    require_storable("description", raw)
    return raw


def _owner_limit(session: Session, user_id: int | None, tenant_id: int | None) -> None:
    column, value = (
        (Webhook.owner_user_id, user_id) if user_id is not None else (Webhook.owner_tenant_id, tenant_id)
    )
    if (
        session.scalar(select(func.count()).select_from(Webhook).where(column == value)) or 0
    ) >= MAX_PER_OWNER:
        raise Conflict(f"At most {MAX_PER_OWNER} webhook subscriptions per owner; delete one first.")


def create(core: Core, actor: Principal, url: Any, events: Any, description: Any = None) -> Created:
    """Subscribe the actor (a user, admin, superadmin or tenant) to `events`, sent to `url`."""
    event_types = check_events(events)
    text = _description(description)
    now = core.clock.now()
    user_id, tenant_id = policy.webhook_owner(actor)
    with core.db.write() as session:
        allow_private = bool(runtime.get_value(session, urls.PRIVATE_SETTING))
        target = urls.check_url(url, allow_private=allow_private)
        _owner_limit(session, user_id, tenant_id)
        public_id = PUBLIC_ID_PREFIX + crypto.random_base62(PUBLIC_ID_LENGTH)
        secret = signing.new_secret()
        row = Webhook(
            public_id=public_id,
            owner_user_id=user_id,
            owner_tenant_id=tenant_id,
            url=target,
            events=event_types,
            description=text,
            secret_sealed=signing.seal(core.key, secret, public_id),
            created_at=now,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            now,
            "webhook.create",
            actor=policy.actor_of(actor),
            target=f"webhook:{public_id}",
            host=urls.host_of(target),
            events=event_types,
        )
        if {*event_types} & {*expiry.SCANNED}:
            expiry.ensure_scan(session, now)
        owner_username = session.scalar(select(User.username).where(User.id == user_id)) if user_id else None
        owner_tenant = (
            session.scalar(select(Tenant.external_id).where(Tenant.id == tenant_id)) if tenant_id else None
        )
    return Created(SubscriptionView(row, owner_username, owner_tenant), secret)


def _query() -> Any:
    return (
        select(Webhook, User.username, Tenant.external_id)
        .outerjoin(User, User.id == Webhook.owner_user_id)
        .outerjoin(Tenant, Tenant.id == Webhook.owner_tenant_id)
    )


def list_page(core: Core, actor: Principal, limit: int, cursor: str | None) -> paging.Page[SubscriptionView]:
    """The subscriptions the actor may see, newest first."""
    below = paging.decode(cursor)
    query = _query().where(policy.webhooks_condition(actor)).order_by(Webhook.id.desc()).limit(limit + 1)
    if below is not None:
        query = query.where(Webhook.id < below)
    with core.db.read() as session:
        views = [SubscriptionView(*row) for row in session.execute(query).all()]
    return paging.page(views, limit, lambda view: view.webhook.id)


def _visible(session: Session, actor: Principal, public_id: str) -> SubscriptionView:
    if not storable(public_id):
        raise NotFound("No such webhook.")
    row = session.execute(
        _query().where(Webhook.public_id == public_id, policy.webhooks_condition(actor))
    ).first()
    if row is None:
        raise NotFound("No such webhook.")
    return SubscriptionView(*row)


def get(core: Core, actor: Principal, public_id: str) -> SubscriptionView:
    with core.db.read() as session:
        return _visible(session, actor, public_id)


def delete_subscription(core: Core, actor: Principal, public_id: str) -> None:
    """Delete it with its delivery record; deliveries still queued for it are dropped when they come up."""
    now = core.clock.now()
    with core.db.write() as session:
        view = _visible(session, actor, public_id)
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == view.webhook.id))
        session.execute(delete(Webhook).where(Webhook.id == view.webhook.id))
        audit.record(
            session, now, "webhook.delete", actor=policy.actor_of(actor), target=f"webhook:{public_id}"
        )


def deliveries_page(
    core: Core, actor: Principal, public_id: str, limit: int, cursor: str | None
) -> paging.Page[WebhookDelivery]:
    """Every delivery attempt of a subscription the actor may see, newest first."""
    below = paging.decode(cursor)
    with core.db.read() as session:
        view = _visible(session, actor, public_id)
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == view.webhook.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit + 1)
        )
        if below is not None:
            query = query.where(WebhookDelivery.id < below)
        rows = list(session.scalars(query))
    return paging.page(rows, limit, lambda delivery: delivery.id)
