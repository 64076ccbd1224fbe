"""Operations of `openapi/admin.yaml` under `/webhooks`: webhook subscriptions for token events.

Read the request, one core call (`tokensmith.webhooks.subscriptions`), shape the reply in the native
API's words (`admin_wire`). The signing secret appears in exactly one reply: the one that creates it.
"""

from __future__ import annotations

from typing import Any

from handlers import admin_wire as wire
from handlers.admin import Reply, caller
from handlers.context import core, core_call
from tokensmith.webhooks import subscriptions


async def list_webhooks(token_info: dict[str, Any], limit: int = 50, cursor: str | None = None) -> Reply:
    found = await core_call(subscriptions.list_page, core(), caller(token_info), limit, cursor)
    return wire.ok(wire.page([wire.webhook(v) for v in found.items], found.next_cursor))


async def create_webhook(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    created = await core_call(
        subscriptions.create,
        core(),
        caller(token_info),
        body["url"],
        body["events"],
        body.get("description"),
    )
    return wire.ok({**wire.webhook(created.view), "secret": created.secret}, 201)


async def get_webhook(token_info: dict[str, Any], webhook_id: str) -> Reply:
    return wire.ok(wire.webhook(await core_call(subscriptions.get, core(), caller(token_info), webhook_id)))


async def delete_webhook(token_info: dict[str, Any], webhook_id: str) -> Reply:
    await core_call(subscriptions.delete_subscription, core(), caller(token_info), webhook_id)
    return None, 204, {}


async def list_webhook_deliveries(
    token_info: dict[str, Any], webhook_id: str, limit: int = 50, cursor: str | None = None
) -> Reply:
    found = await core_call(
        subscriptions.deliveries_page, core(), caller(token_info), webhook_id, limit, cursor
    )
    return wire.ok(wire.page([wire.webhook_delivery(d) for d in found.items], found.next_cursor))
