"""Operations of `openapi/admin.yaml`, tokensmith's native API: read the request, one core call, shape."""

from __future__ import annotations

from typing import Any

from handlers import admin_wire as wire
from handlers.context import client_address, core, off_loop
from handlers.security import authenticate_presented, enforce_endpoints
from tokensmith import audit, inventory, runtime, tenants, users
from tokensmith.auth import Principal
from tokensmith.errors import Forbidden, NotFound, TokenInvalid

Reply = tuple[Any, int, dict[str, str]]


def _caller(token_info: dict[str, Any]) -> Principal:
    return token_info["principal"]


def _admin(token_info: dict[str, Any]) -> Principal:
    principal = _caller(token_info)
    if not principal.is_admin:
        raise Forbidden("This operation needs the admin role.")
    return principal


def _actor(principal: Principal) -> str | None:
    return audit.user_actor(principal.user_id)


async def whoami(token_info: dict[str, Any]) -> Reply:
    return wire.ok(wire.whoami(_caller(token_info)))


# --- users ---------------------------------------------------------------------------------------


async def list_users(token_info: dict[str, Any], limit: int = 50, cursor: str | None = None) -> Reply:
    _admin(token_info)
    found = users.list_page(core(), limit, cursor)
    return wire.ok(wire.page([wire.user(u) for u in found.items], found.next_cursor))


async def create_user(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    principal = _admin(token_info)
    created = await off_loop(
        users.create_user,
        core(),
        body["username"],
        body.get("password"),
        role=body.get("role", "user"),
        auth_source=body.get("auth_source", "local"),
        email=body.get("email"),
        first_name=body.get("first_name"),
        last_name=body.get("last_name"),
        actor=_actor(principal),
    )
    return wire.ok(wire.user(created), 201)


async def get_user(token_info: dict[str, Any], user_id: int) -> Reply:
    principal = _caller(token_info)
    if not (principal.is_admin or principal.user_id == user_id):
        raise Forbidden("Only an admin may look at another user.")
    found = users.get_user(core(), user_id)
    if found is None:
        raise NotFound("No such user.")
    return wire.ok(wire.user(found))


async def update_user(token_info: dict[str, Any], user_id: int, body: dict[str, Any]) -> Reply:
    principal = _admin(token_info)
    updated = users.update_user(
        core(), user_id, disabled=body.get("disabled"), role=body.get("role"), actor=_actor(principal)
    )
    return wire.ok(wire.user(updated))


async def reset_password(token_info: dict[str, Any], user_id: int, body: dict[str, Any]) -> Reply:
    principal = _admin(token_info)
    await off_loop(users.reset_password, core(), user_id, body["password"], actor=_actor(principal))
    return wire.ok({"detail": "Password changed."})


async def revoke_user_credentials(token_info: dict[str, Any], user_id: int) -> Reply:
    return wire.ok({"revoked": inventory.revoke_owner(core(), _caller(token_info), user_id)})


# --- tenants -------------------------------------------------------------------------------------


async def list_tenants(token_info: dict[str, Any], limit: int = 50, cursor: str | None = None) -> Reply:
    _admin(token_info)
    found = tenants.tenant_page(core(), limit, cursor)
    return wire.ok(wire.page([wire.tenant(t) for t in found.items], found.next_cursor))


async def get_tenant(token_info: dict[str, Any], tenant_id: str) -> Reply:
    _admin(token_info)
    return wire.ok(wire.tenant(tenants.find_tenant(core(), tenant_id)))


async def update_tenant(token_info: dict[str, Any], tenant_id: str, body: dict[str, Any]) -> Reply:
    principal = _admin(token_info)
    return wire.ok(wire.tenant(tenants.set_disabled(core(), tenant_id, body["disabled"], _actor(principal))))


async def revoke_tenant_credentials(token_info: dict[str, Any], tenant_id: str) -> Reply:
    return wire.ok({"revoked": inventory.revoke_tenant(core(), _caller(token_info), tenant_id)})


# --- settings ------------------------------------------------------------------------------------


async def list_settings(token_info: dict[str, Any]) -> Reply:
    _admin(token_info)
    with core().db.read() as session:
        values = runtime.all_values(session)
    return wire.ok({"items": [wire.setting(key, value) for key, value in values.items()]})


async def get_setting(token_info: dict[str, Any], key: str) -> Reply:
    _admin(token_info)
    spec = runtime.spec_for(key)
    with core().db.read() as session:
        return wire.ok(wire.setting(spec.key, runtime.get_value(session, spec.key)))


async def change_settings(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    principal = _admin(token_info)
    runtime.change_many(core(), body, actor=_actor(principal))
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
    found = inventory.list_credentials(core(), _caller(token_info), flt, limit, cursor)
    now = core().clock.now()
    return wire.ok(wire.page([wire.credential(v, now) for v in found.items], found.next_cursor))


async def get_credential(token_info: dict[str, Any], public_id: str) -> Reply:
    view = inventory.get_credential(core(), _caller(token_info), public_id)
    return wire.ok(wire.credential(view, core().clock.now()))


async def revoke_credential(token_info: dict[str, Any], public_id: str) -> Reply:
    return wire.ok({"revoked": inventory.revoke_credential(core(), _caller(token_info), public_id)})


async def revoke_family(token_info: dict[str, Any], family: str) -> Reply:
    return wire.ok({"revoked": inventory.revoke_family(core(), _caller(token_info), family)})


async def report_leaked(body: dict[str, Any]) -> Reply:
    return wire.ok({"revoked": inventory.report_leaked(core(), body["credentials"], client_address())})


async def introspect(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    view = inventory.introspect(core(), _caller(token_info), body["token"])
    return wire.ok(wire.introspection(view))


async def oauth_revoke(token_info: dict[str, Any], body: dict[str, Any]) -> Reply:
    inventory.revoke_presented(core(), _caller(token_info), body["token"])
    return wire.ok({})


# --- audit ---------------------------------------------------------------------------------------


async def list_audit(
    token_info: dict[str, Any], limit: int = 50, cursor: str | None = None, **filters: Any
) -> Reply:
    viewer = _caller(token_info)
    found = audit.list_events(
        core(),
        viewer_actor=None if viewer.is_admin else _actor(viewer),
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

    principal = authenticate_presented(request.headers)
    if principal is None:
        raise TokenInvalid("No token, or a token that is unknown, expired or revoked.")
    original = request.headers.get("X-Forwarded-Uri") or request.headers.get("X-Original-URI") or "/"
    enforce_endpoints(principal, original.split("?", 1)[0])
    body, headers = wire.decision(principal, inventory.tenant_external_id(core(), principal.tenant_id))
    return body, 200, headers


# Proxies send the subrequest with the original request's method: every one gets the same answer.
authorize_post = authorize_put = authorize_patch = authorize_delete = authorize_head = authorize
