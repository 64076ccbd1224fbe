"""Operations of `openapi/gateway.yaml` (ServiceAide Luma): read the request, make one core call,
wrap the reply in the envelope."""

from __future__ import annotations

from typing import Any

from handlers.context import client_address, core, core_call, off_loop
from handlers.gateway import wire
from tokensmith import tenants, workflows
from tokensmith.audit import user_actor
from tokensmith.auth import Principal

Reply = tuple[dict[str, Any], int]


def _principal(token_info: dict[str, Any]) -> Principal:
    return token_info["principal"]


async def superadmin_login(body: dict[str, Any]) -> Reply:
    issued = await off_loop(
        tenants.superadmin_login,
        core(),
        body["username"],
        body["password"],
        client_address(),
        wire.SUPERADMIN_TOKEN,
    )
    credential = issued.credential
    lifespan = int((credential.expires_at - credential.created_at).total_seconds())
    return wire.success(wire.login(issued.value, lifespan), wire.LOGGED_IN), 200


async def create_tenant(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    actor = user_actor(_principal(token_info).user_id)
    tenant, issued = await off_loop(
        tenants.create_tenant, core(), wire.new_tenant(body), wire.TENANT_TOKEN, actor
    )
    return wire.success(wire.tenant_token(tenant, issued.value), wire.TENANT_CREATED), 200


async def list_tenants(
    token_info: dict[str, Any],
    filter: str | None = None,
    orderBy: str | None = None,
    skip: int | None = None,
    top: int | None = None,
) -> Reply:
    query = wire.query(filter, orderBy, skip, top, wire.TENANT_FILTER, wire.TENANT_ORDER)
    found = await core_call(tenants.list_tenants, core(), query)
    return wire.success([wire.tenant(tenant) for tenant in found], wire.TENANTS_LISTED), 200


async def regenerate_tenant_access_token(tenantExternalId: str, token_info: dict[str, Any]) -> Reply:
    actor = user_actor(_principal(token_info).user_id)
    tenant, issued = await core_call(
        tenants.regenerate_token, core(), tenantExternalId, wire.TENANT_TOKEN, actor
    )
    return wire.success(wire.tenant_token(tenant, issued.value), wire.KEY_REGENERATED), 200


async def list_workflow_definitions(
    token_info: dict[str, Any],
    filter: str | None = None,
    orderBy: str | None = None,
    skip: int | None = None,
    top: int | None = None,
) -> Reply:
    query = wire.query(filter, orderBy, skip, top, wire.DEFINITION_FILTER, wire.DEFINITION_ORDER)
    found = await core_call(workflows.list_definitions, core(), _principal(token_info).tenant_id, query)
    return wire.success([wire.definition(definition) for definition in found], wire.DEFINITIONS_LISTED), 200


async def trigger_workflow(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    run = await off_loop(
        workflows.trigger,
        core(),
        _principal(token_info).tenant_id,
        body["workflowIdentifier"],
        body.get("variables") or {},
        initiator_contact_id=body.get("initiatorContactId"),
        initiator_application_id=body.get("initiatorApplicationId"),
        initiation_info=body.get("initiationInfo"),
    )
    return wire.success(wire.trigger(run), wire.TRIGGERED), 200


async def get_workflow_history(triggerId: str, token_info: dict[str, Any]) -> Reply:
    run = await core_call(workflows.get_run, core(), _principal(token_info).tenant_id, triggerId)
    return wire.success(wire.history(run), wire.HISTORY_READ), 200


async def list_workflow_step_history(
    triggerId: str,
    token_info: dict[str, Any],
    filter: str | None = None,
    orderBy: str | None = None,
    skip: int | None = None,
    top: int | None = None,
) -> Reply:
    query = wire.query(filter, orderBy, skip, top, wire.STEP_FILTER, wire.STEP_ORDER)
    found = await core_call(workflows.list_steps, core(), _principal(token_info).tenant_id, triggerId, query)
    return wire.success([wire.step(record) for record in found], wire.STEPS_LISTED), 200


async def get_workflow_step_history(triggerId: str, stepId: str, token_info: dict[str, Any]) -> Reply:
    found = await core_call(workflows.get_step, core(), _principal(token_info).tenant_id, triggerId, stepId)
    return wire.success(wire.step_detail(found), wire.STEP_READ), 200
