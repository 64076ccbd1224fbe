"""The gateway dialect's wire facts, all in one place: the envelope, epoch-millisecond times, field and
claim names, listing fields, the definition document format, and the failure envelope.

Every reply, success or failure, is ServiceAide Luma's envelope. Failures use the shape our reference
proposes ([I]): `status` "Failure", `statusCode` the HTTP status, `statusLine` the first message,
`errors` a list of `{code, message}` (plus `field` when one field is to blame), `reasonPhrase` the
HTTP reason phrase, and the HTTP status to match.
"""

from __future__ import annotations

import json
from datetime import datetime
from http import HTTPStatus
from typing import Any

from handlers import context
from handlers.failure import DEFAULT_STATUSES, Failure, field_name
from tokensmith import listing, tenants, workflows
from tokensmith.clock import SystemClock
from tokensmith.errors import (
    InvalidValue,
    LoginFailed,
)
from tokensmith.jwt_tokens import JwtFormat
from tokensmith.models import Tenant, WorkflowStep
from tokensmith.runtime import SettingSpec
from tokensmith.tenants import NewTenant

MEDIA_TYPE = "application/json"
BASE_PATH = "/gateway/api/v1"
DIALECT = "gateway"
# Luma's own links mix `workflowHistory` and `workflowhistory`: paths under BASE_PATH are matched
# case-insensitively (handlers/app.py lower-cases them before routing; every path in the spec is lower-case).
CASE_INSENSITIVE_PATHS = True

CORE_ERRORS = DEFAULT_STATUSES

SETTINGS = (
    SettingSpec(
        ".gateway.superadmin_token_lifespan",
        int,
        15,
        "Lifespan of new gateway superadmin access tokens.",
        "minutes",
        1,
        1440,
    ),
    SettingSpec(
        ".gateway.issuer",
        str,
        "http://itas.serviceaide.com",
        "`iss` claim of gateway tenant access tokens.",
        "",
        1,
        1024,
    ),
)

# The tenant access token as Luma's documentation shows it: header {"alg":"HS512"}, claims
# tenantExternalId, authToken, iss, jti, iat and no exp.
TENANT_TOKEN = JwtFormat(
    kind="tenant",
    dialect=DIALECT,
    owner="tenant",
    owner_claim="tenantExternalId",
    secret_claim="authToken",
    issuer_setting=".gateway.issuer",
)
# Not documented by Luma ([I]); shaped like its sibling product's login token (sub, iat, exp).
SUPERADMIN_TOKEN = JwtFormat(
    kind="superadmin",
    dialect=DIALECT,
    owner="user",
    owner_claim="sub",
    secret_claim="authToken",
    issuer_setting=".gateway.issuer",
    lifespan_setting=".gateway.superadmin_token_lifespan",
    owner_role=tenants.SUPERADMIN,
)

# statusLine of each success; the first three are Luma's words, the rest ours ([I]).
TENANT_CREATED = "Successfully created the Tenant."
KEY_REGENERATED = "Able to generate new access key successfully."
DEFINITIONS_LISTED = "Successfully retrieved Workflow definition."
HISTORY_READ = "Successfully retrieved workflow history record."
STEPS_LISTED = "Successfully retrieved workflow step history records."
LOGGED_IN = "Successfully logged in."
TENANTS_LISTED = "Successfully retrieved tenants."
TRIGGERED = "Successfully submitted the workflow for execution."
STEP_READ = "Successfully retrieved workflow step history record."

# A run's status in Luma's words. Luma lists RUNNING, SUSPENDED, ACTIVATED, COMPLETED, FAILED and
# TERMINATED; a run submitted and not yet picked up by a worker (the core's `queued`) is ACTIVATED ([I]).
RUN_STATUS = {"queued": "ACTIVATED"}

# Client field names → core field names, for filter and orderBy; the spec's patterns list the same.
TENANT_FILTER = {"name": "name", "subDomain": "sub_domain", "tenantExternalId": "external_id"}
TENANT_ORDER = {"name": "name", "subDomain": "sub_domain", "createdTime": "created_at"}
DEFINITION_FILTER = {"identifier": "identifier", "name": "name", "description": "description"}
DEFINITION_ORDER = {"identifier": "identifier", "name": "name"}
STEP_FILTER = {"status": "status", "activityName": "activity_name", "stepId": "step_id"}
STEP_ORDER = {
    "startTime": "start_time",
    "endTime": "end_time",
    "activityName": "activity_name",
    "status": "status",
    "stepId": "step_id",
}

# Core field names in errors → the names this dialect's clients wrote.
FIELD_NAMES = {
    "name": "name",
    "sub_domain": "subDomain",
    "admin_username": "tenantAdmin.username",
    "admin_password": "tenantAdmin.password",
    "admin_email": "tenantAdmin.email",
    "admin_first_name": "tenantAdmin.firstName",
    "admin_last_name": "tenantAdmin.lastName",
    "tenant_external_id": "tenantExternalId",
    "order_by": "orderBy",
    "initiator_contact_id": "initiatorContactId",
    "initiator_application_id": "initiatorApplicationId",
    "initiation_info": "initiationInfo",
}


def millis(moment: datetime | None) -> int | None:
    """Luma's one time format: epoch milliseconds."""
    return None if moment is None else int(moment.timestamp() * 1000)


def _now() -> datetime:
    try:
        return context.core().clock.now()
    except LookupError:  # an error raised before a request's context exists
        return SystemClock().now()


def success(result: Any, status_line: str) -> dict[str, Any]:
    return {
        "status": "Success",
        "statusCode": 0,
        "statusLine": status_line,
        "errors": None,
        "resultData": result,
        "warnings": [],
        "timestamp": millis(_now()),
        "reasonPhrase": None,
        "metaInfo": None,
    }


def _token_message(path: str) -> str:
    if "/platform/" in path.lower():
        return "A valid superadmin access token is required (Authorization: Bearer)."
    return "A valid tenant access token is required (itas-api-access-key or Authorization: Bearer)."


def error_body(failure: Failure, path: str) -> dict[str, Any]:
    code = HTTPStatus(failure.status).name if failure.status in HTTPStatus._value2member_map_ else "ERROR"
    if isinstance(failure.error, workflows.InvalidVariables):
        fields = failure.error.problems
    else:
        fields = failure.fields
    if fields and failure.status == 400:
        errors = [
            {"code": "VALIDATION_ERROR", "message": message, "field": FIELD_NAMES.get(name, field_name(name))}
            for name, messages in fields.items()
            for message in messages
        ]
    else:
        message = failure.message.split("\n", 1)[0]  # Connexion appends a schema dump to parameter errors
        if failure.status == 401 and not isinstance(failure.error, LoginFailed):
            message = _token_message(path)
        errors = [{"code": code, "message": message}]
    return {
        "status": "Failure",
        "statusCode": failure.status,
        "statusLine": errors[0]["message"],
        "errors": errors,
        "resultData": None,
        "warnings": [],
        "timestamp": millis(_now()),
        "reasonPhrase": failure.reason,
        "metaInfo": None,
    }


# --- requests --------------------------------------------------------------------------------------


def new_tenant(body: dict[str, Any]) -> NewTenant:
    admin = body["tenantAdmin"]
    return NewTenant(
        name=body["name"],
        description=body.get("description"),
        sub_domain=body["subDomain"],
        admin_username=admin["username"],
        admin_password=admin["password"],
        admin_email=admin.get("email"),
        admin_first_name=admin.get("firstName"),
        admin_last_name=admin.get("lastName"),
    )


def query(
    filter_text: str | None,
    order_by: str | None,
    skip: int | None,
    top: int | None,
    filter_fields: dict[str, str],
    order_fields: dict[str, str],
) -> listing.Listing:
    return listing.make(
        filter_text=filter_text,
        order_text=order_by,
        skip=skip,
        top=top,
        filter_fields=filter_fields,
        order_fields=order_fields,
    )


def bare_token(value: str) -> str:
    """`itas-api-access-key` carries the token bare; a `Bearer ` prefix there is forgiven ([I])."""
    value = value.strip()
    return value[7:].strip() if value[:7].lower() == "bearer " else value


# --- replies ---------------------------------------------------------------------------------------


def login(value: str, lifespan_seconds: int) -> dict[str, Any]:
    """[I] Luma does not publish its superadmin login; `token` (its sibling product's name) and
    `accessToken` carry the same JWT, so a client written against either guess works."""
    return {"accessToken": value, "token": value, "tokenType": "Bearer", "expiresIn": lifespan_seconds}


def tenant_token(tenant: Tenant, value: str) -> dict[str, Any]:
    return {"tenantId": tenant.id, "tenantExternalId": tenant.external_id, "tenantAccessToken": value}


def tenant(tenant: Tenant) -> dict[str, Any]:
    """A tenant as the superadmin listing shows it: never a token."""
    return {
        "tenantId": tenant.id,
        "tenantExternalId": tenant.external_id,
        "name": tenant.name,
        "description": tenant.description,
        "subDomain": tenant.sub_domain,
        "status": "INACTIVE" if tenant.disabled else "ACTIVE",
        "createdTime": millis(tenant.created_at),
    }


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def input_parameters(definition: workflows.Definition) -> dict[str, Any]:
    return {
        "parameters": [
            {
                "parameter": parameter.name,
                "dataType": parameter.data_type.upper(),
                "required": parameter.is_required,
                "validations": [
                    {
                        "constraintType": constraint.kind.upper(),
                        "enforcementValue": constraint.value,
                        "errorMessage": constraint.message,
                    }
                    for constraint in parameter.constraints
                ],
            }
            for parameter in definition.parameters
        ]
    }


def definition(definition: workflows.Definition) -> dict[str, Any]:
    """Luma ships `inputParameters` as a JSON string, not an object; so do we."""
    return {
        "identifier": definition.identifier,
        "name": definition.name,
        "description": definition.description,
        "inputParameters": _json_text(input_parameters(definition)),
    }


def _time_spent(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return millis(end) - millis(start)


def history_href(run_id: int) -> str:
    """As Luma writes it: relative to the `/gateway` mount, camel-case (our paths ignore case)."""
    return f"/api/v1/workflowHistory/{run_id}"


def trigger(run: workflows.Run) -> dict[str, Any]:
    """[I] Luma's trigger reply is unpublished: the trigger id, and where to read the history."""
    record = run.record
    return {
        "triggerId": record.trigger_id,
        "id": record.id,
        "status": run_status(record.status),
        "href": history_href(record.id),
    }


def run_status(status: str) -> str:
    return RUN_STATUS.get(status, status.upper())


def history(run: workflows.Run) -> dict[str, Any]:
    record = run.record
    return {
        "id": record.id,
        "triggerId": record.trigger_id,
        "workflowIdentifier": run.identifier,
        "initiatorContactId": record.initiator_contact_id,
        "initiatorApplicationId": record.initiator_application_id,
        "inputParameters": _json_text(record.variables),
        "startTime": millis(record.start_time),
        "endTime": millis(record.end_time),
        "timeSpent": _time_spent(record.start_time, record.end_time),
        "status": run_status(record.status),
        "errorMessage": record.error,
        "href": history_href(record.id),
    }


def step(record: WorkflowStep) -> dict[str, Any]:
    return {
        "id": record.id,
        "historyId": record.run_id,
        "stepId": record.step_id,
        "activityName": record.activity_name,
        "sequence": record.position + 1,
        "status": record.status.upper(),
        "startTime": millis(record.start_time),
        "endTime": millis(record.end_time),
        "timeSpent": _time_spent(record.start_time, record.end_time),
        "outputParameters": None if record.output is None else _json_text(record.output),
        "errorMessage": record.error,
    }


def step_detail(found: workflows.StepRecord) -> dict[str, Any]:
    """[I] W5, one step's record in detail: the W4 record, whose run it is, and the step as it ran."""
    ran = found.step
    config = None if ran is None else {"kind": ran.kind, **ran.config}
    return {
        **step(found.record),
        "triggerId": found.run.record.trigger_id,
        "workflowIdentifier": found.run.identifier,
        "runStatus": run_status(found.run.record.status),
        "stepType": None if ran is None else ran.kind.upper(),
        "configuration": None if config is None else _json_text(config),
    }


# --- the definitions document (`tokensmith tenant workflows import`) ----------------------------


def _bad(where: str, message: str) -> InvalidValue:
    return InvalidValue("definition", f"{where}: {message}")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(where, "expected a mapping of fields.")
    return value


def _sequence(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(where, "expected a list.")
    return value


def _parameter(raw: Any, where: str) -> workflows.Parameter:
    raw = _mapping(raw, where)
    constraints = []
    for index, item in enumerate(_sequence(raw.get("validations"), f"{where}, validations")):
        item = _mapping(item, f"{where}, validation {index + 1}")
        kind = item.get("constraintType")
        if not isinstance(kind, str):
            raise _bad(f"{where}, validation {index + 1}", "constraintType is required.")
        constraints.append(
            workflows.Constraint(kind.strip().lower(), item.get("enforcementValue"), item.get("errorMessage"))
        )
    data_type = raw.get("dataType")
    if not isinstance(data_type, str):
        raise _bad(where, "dataType is required.")
    return workflows.Parameter(
        name=raw.get("parameter"),
        data_type=data_type.strip().lower(),
        required=raw.get("required", False),
        constraints=tuple(constraints),
    )


def _step(raw: Any, where: str) -> workflows.Step:
    raw = dict(_mapping(raw, where))
    step_id, name, kind = raw.pop("id", None), raw.pop("name", None), raw.pop("kind", None)
    return workflows.Step(id=step_id, name=name if name is not None else step_id, kind=kind, config=raw)


def definitions_from_document(document: Any) -> list[workflows.Definition]:
    """A document is a list of definitions or `{"workflows": [...]}`. A definition is what the list
    operation returns (`identifier`, `name`, `description`, `inputParameters` as an object or as its
    JSON string) plus `steps`, in the runner's own terms (see tokensmith.workflows)."""
    if isinstance(document, dict) and "workflows" in document:
        document = document["workflows"]
    items = _sequence(document, "The document")
    definitions = []
    for index, raw in enumerate(items):
        raw = _mapping(raw, f"Workflow {index + 1}")
        where = f"Workflow {raw.get('identifier', index + 1)!r}"
        parameters = raw.get("inputParameters")
        if isinstance(parameters, str):
            try:
                parameters = json.loads(parameters)
            except ValueError as exc:
                raise _bad(where, "inputParameters is not valid JSON.") from exc
        if isinstance(parameters, dict):
            parameters = parameters.get("parameters")
        definitions.append(
            workflows.Definition(
                identifier=raw.get("identifier"),
                name=raw.get("name", raw.get("identifier")),
                description=raw.get("description"),
                parameters=tuple(
                    _parameter(item, f"{where}, parameter {i + 1}")
                    for i, item in enumerate(_sequence(parameters, f"{where}, inputParameters"))
                ),
                steps=tuple(
                    _step(item, f"{where}, step {i + 1}")
                    for i, item in enumerate(_sequence(raw.get("steps"), f"{where}, steps"))
                ),
            )
        )
    return definitions
