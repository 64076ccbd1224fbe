"""The native API's wire facts: RFC 7807 problem details for every error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handlers.failure import DEFAULT_STATUSES, Failure, field_name
from tokensmith import runtime
from tokensmith.auth import Principal
from tokensmith.crypto import display_prefix
from tokensmith.errors import (
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
)
from tokensmith.inventory import CredentialView
from tokensmith.models import AuditEvent, Tenant, User

MEDIA_TYPE = "application/problem+json"

CORE_ERRORS = DEFAULT_STATUSES


def error_body(failure: Failure, path: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": failure.reason,
        "status": failure.status,
        "detail": failure.message if failure.status != 401 or failure.message else "Unauthorized",
    }
    if isinstance(failure.error, TokenInvalid | TokenExpired | TokenRevoked):
        body["detail"] = "The token is missing, unknown, expired or revoked."
    if failure.fields:
        body["errors"] = {field_name(name): messages for name, messages in failure.fields.items()}
    return body


JSON_HEADERS = {"Content-Type": "application/json"}


def timestamp(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with microseconds and `Z`, everywhere in the native API."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" → "Z"; strftime is ~10× slower


def parse_time(text: str | None) -> datetime | None:
    """A query's date-time (already checked against the spec's format); naive means UTC."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ok(body: Any, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    """A success reply; the header picks JSON among the operation's media types (errors are problem+json)."""
    return body, status, JSON_HEADERS


def whoami(principal: Principal) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "username": principal.username,
        "role": principal.role,
        "tenant_id": principal.tenant_id,
        "token": {"public_id": principal.public_id, "kind": principal.kind, "dialect": principal.dialect},
    }


def user(account: User) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "role": account.role,
        "auth_source": account.auth_source,
        "disabled": account.disabled,
        "email": account.email,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "tenant_id": account.tenant_id,
        "created_at": timestamp(account.created_at),
    }


def tenant(row: Tenant) -> dict[str, Any]:
    return {
        "external_id": row.external_id,
        "name": row.name,
        "description": row.description,
        "sub_domain": row.sub_domain,
        "disabled": row.disabled,
        "created_at": timestamp(row.created_at),
    }


def page(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def setting(key: str, value: Any) -> dict[str, Any]:
    spec = runtime.REGISTRY[key]
    return {
        "key": key,
        "value": value,
        "default": spec.default,
        "unit": spec.unit,
        "description": spec.description,
    }


def credential(view: CredentialView, now: datetime) -> dict[str, Any]:
    row = view.credential
    return {
        "public_id": row.public_id,
        "display_prefix": display_prefix(row.public_id),
        "kind": row.kind,
        "dialect": row.dialect,
        "status": view.status(now),
        "owner": {"id": row.user_id, "username": view.owner} if row.user_id is not None else None,
        "tenant": view.tenant,
        "name": row.name,
        "family": row.family,
        "parent": view.parent,
        "scopes": [str(scope) for scope in row.scopes or []],
        "created_at": timestamp(row.created_at),
        "expires_at": timestamp(row.expires_at),
        "renewable_until": timestamp(row.renewable_until),
        "revoked_at": timestamp(row.revoked_at),
        "revoked_reason": row.revoked_reason,
        "last_used_at": timestamp(row.last_used_at),
    }


def introspection(view: CredentialView | None) -> dict[str, Any]:
    """RFC 7662: an inactive token gets `{"active": false}` and not one word more."""
    if view is None:
        return {"active": False}
    row = view.credential
    body: dict[str, Any] = {
        "active": True,
        "token_type": row.kind,
        "jti": row.public_id,
        "iat": int(row.created_at.timestamp()),
        "dialect": row.dialect,
    }
    if row.expires_at is not None:
        body["exp"] = int(row.expires_at.timestamp())
    if view.owner is not None:
        body["username"] = view.owner
        body["sub"] = str(row.user_id)
    if view.tenant is not None:
        body["tenant"] = view.tenant
    if row.scopes:
        body["scope"] = " ".join(str(scope) for scope in row.scopes)
    return body


def audit_event(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": timestamp(event.at),
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "client": event.client,
        "detail": event.detail or {},
    }


def decision(principal: Principal, tenant: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Forward auth's answer: the body, and the headers a proxy copies onto the upstream request."""
    body = {"allowed": True, "user": principal.username, "tenant": tenant, "token_id": principal.public_id}
    headers = {
        **JSON_HEADERS,
        "X-Auth-User": principal.username or "",
        "X-Auth-Tenant": tenant or "",
        "X-Auth-Token-Id": principal.public_id,
    }
    return body, headers


def webhook(view: Any) -> dict[str, Any]:
    """A webhook subscription (`tokensmith.webhooks.subscriptions.SubscriptionView`): never its secret."""
    row = view.webhook
    return {
        "id": row.public_id,
        "url": row.url,
        "events": list(row.events or []),
        "description": row.description,
        "owner": {"user_id": row.owner_user_id, "username": view.owner_username, "tenant": view.owner_tenant},
        "created_at": timestamp(row.created_at),
    }


def webhook_delivery(row: Any) -> dict[str, Any]:
    """One delivery attempt; `message_id` is the `webhook-id` header it was (or will be) sent with."""
    return {
        "message_id": row.message_id,
        "event_type": row.event_type,
        "attempt": row.attempt,
        "status": row.status,
        "scheduled_at": timestamp(row.scheduled_at),
        "attempted_at": timestamp(row.attempted_at),
        "response_code": row.response_code,
        "error": row.error,
        "next_retry_at": timestamp(row.next_retry_at),
    }
