"""Operations of `openapi/admin.yaml`, tokensmith's native API: read the request, one core call, shape."""

from __future__ import annotations

from typing import Any

from handlers import admin_wire as wire
from handlers.context import client_address, core, core_call, off_loop
from handlers.security import authorize_forwarded
from tokensmith import accounts, audit, inventory, policy, runtime, tenants
from tokensmith.auth import Principal

Reply = tuple[Any, int, dict[str, str]]


def caller(token_info: dict[str, Any]) -> Principal:
    return token_info["principal"]


async def who_am_i(token_info: dict[str, Any]) -> Reply:
    return wire.ok(wire.whoami(caller(token_info)))


# --- users ---------------------------------------------------------------------------------------


async def list_users(token_info: dict[str, Any], limit: int = 50, cursor: str | None = None) -> Reply:
    found = await core_call(accounts.list_page, core(), caller(token_info), limit, cursor)
    return wire.ok(wire.page([wire.user(u) for u in found.items], found.next_cursor))


async def create_user(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    created = await off_loop(
        accounts.create,
        core(),
        caller(token_info),
        body["username"],
        body.get("password"),
        role=body.get("role", "user"),
        auth_source=body.get("auth_source", "local"),
        email=body.get("email"),
        first_name=body.get("first_name"),
        last_name=body.get("last_name"),
    )
    return wire.ok(wire.user(created), 201)


async def get_user(token_info: dict[str, Any], user_id: int) -> Reply:
    return wire.ok(wire.user(await core_call(accounts.get, core(), caller(token_info), user_id)))


async def update_user(token_info: dict[str, Any], user_id: int, body: dict[str, Any]) -> Reply:
    updated = await core_call(
        accounts.update,
        core(),
        caller(token_info),
        user_id,
        disabled=body.get("disabled"),
        role=body.get("role"),
    )
    return wire.ok(wire.user(updated))


async def reset_password(token_info: dict[str, Any], user_id: int, body: dict[str, Any]) -> Reply:
    await off_loop(accounts.reset_password, core(), caller(token_info), user_id, body["password"])
    return wire.ok({"detail": "Password changed."})


async def revoke_user_credentials(token_info: dict[str, Any], user_id: int) -> Reply:
    return wire.ok({"revoked": await core_call(inventory.revoke_owner, core(), caller(token_info), user_id)})


# --- tenants -------------------------------------------------------------------------------------


async def list_tenants(token_info: dict[str, Any], limit: int = 50, cursor: str | None = None) -> Reply:
    found = await core_call(tenants.tenant_page, core(), caller(token_info), limit, cursor)
    return wire.ok(wire.page([wire.tenant(t) for t in found.items], found.next_cursor))


async def get_tenant(token_info: dict[str, Any], tenant_id: str) -> Reply:
    return wire.ok(wire.tenant(await core_call(tenants.find_tenant, core(), caller(token_info), tenant_id)))


async def update_tenant(token_info: dict[str, Any], tenant_id: str, body: dict[str, Any]) -> Reply:
    return wire.ok(
        wire.tenant(
            await core_call(tenants.set_disabled, core(), caller(token_info), tenant_id, body["disabled"])
        )
    )


async def revoke_tenant_credentials(token_info: dict[str, Any], tenant_id: str) -> Reply:
    return wire.ok(
        {"revoked": await core_call(inventory.revoke_tenant, core(), caller(token_info), tenant_id)}
    )


# --- settings ------------------------------------------------------------------------------------


async def list_settings(token_info: dict[str, Any]) -> Reply:
    values = await core_call(runtime.current_values, core())
    return wire.ok({"items": [wire.setting(key, value) for key, value in values.items()]})


async def get_setting(token_info: dict[str, Any], key: str) -> Reply:
    spec = runtime.spec_for(key)
    return wire.ok(wire.setting(spec.key, await core_call(runtime.current_value, core(), spec.key)))


async def change_settings(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    await core_call(runtime.change_many, core(), body, actor=policy.actor_of(caller(token_info)))
    return await list_settings(token_info)


# --- credentials ---------------------------------------------------------------------------------


async def list_credentials(
    token_info: dict[str, Any], limit: int = 50, cursor: str | None = None, **filters: Any
) -> Reply:
    times = {
        k: wire.parse_time(filters.get(k))
        for k in ("created_after", "created_before", "used_after", "used_before")
    }
    flt = inventory.CredentialFilter(
        owner=filters.get("owner"),
        tenant=filters.get("tenant"),
        kind=filters.get("kind"),
        dialect=filters.get("dialect"),
        status=filters.get("status"),
        name=filters.get("name"),
        family=filters.get("family"),
        **times,
    )
    found = await core_call(inventory.list_credentials, core(), caller(token_info), flt, limit, cursor)
    now = core().clock.now()
    return wire.ok(wire.page([wire.credential(v, now) for v in found.items], found.next_cursor))


async def get_credential(token_info: dict[str, Any], public_id: str) -> Reply:
    view = await core_call(inventory.get_credential, core(), caller(token_info), public_id)
    return wire.ok(wire.credential(view, core().clock.now()))


async def revoke_credential(token_info: dict[str, Any], public_id: str) -> Reply:
    return wire.ok(
        {"revoked": await core_call(inventory.revoke_credential, core(), caller(token_info), public_id)}
    )


async def revoke_family(token_info: dict[str, Any], family: str) -> Reply:
    return wire.ok({"revoked": await core_call(inventory.revoke_family, core(), caller(token_info), family)})


async def report_leaked(body: dict[str, Any]) -> Reply:
    return wire.ok(
        {"revoked": await core_call(inventory.report_leaked, core(), body["credentials"], client_address())}
    )


async def introspect(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    view = await core_call(inventory.introspect, core(), caller(token_info), body["token"])
    return wire.ok(wire.introspection(view))


async def oauth_revoke(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    await core_call(inventory.revoke_presented, core(), caller(token_info), body["token"])
    return wire.ok({})


# --- audit ---------------------------------------------------------------------------------------


async def list_audit(
    token_info: dict[str, Any], limit: int = 50, cursor: str | None = None, **filters: Any
) -> Reply:
    found = await core_call(
        audit.list_events,
        core(),
        visible=policy.audit_condition(caller(token_info)),
        actor=filters.get("actor"),
        action=filters.get("action"),
        target=filters.get("target"),
        since=wire.parse_time(filters.get("since")),
        until=wire.parse_time(filters.get("until")),
        limit=limit,
        cursor=cursor,
    )
    return wire.ok(wire.page([wire.audit_event(e) for e in found.items], found.next_cursor))


# --- forward auth --------------------------------------------------------------------------------


async def authorize(**_params: Any) -> Reply:
    from connexion import request

    principal = await core_call(authorize_forwarded, request.headers)
    body, headers = wire.decision(
        principal, await core_call(inventory.tenant_external_id, core(), principal.tenant_id)
    )
    return body, 200, headers


# Proxies send the subrequest with the original request's method: every one gets the same answer.
authorize_post = authorize_put = authorize_patch = authorize_delete = authorize_head = authorize
