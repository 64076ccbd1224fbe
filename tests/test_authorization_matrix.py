"""Who may call what, generated over every operation of every spec and every kind of caller.

For each (operation, caller) the expected outcome is derived from the operation's declaration in the
spec (`x-tokensmith-access`), from which credentials each security scheme accepts (`ACCEPTS`, the
declared table docs/security.md shows), and from ownership (`tests.authz_world.ADMINISTERS`):

- refused callers (no credential, a credential none of the operation's schemes takes, or a kind the
  declaration does not admit) get 401 or 403, and nothing stored changes;
- an admitted caller naming somebody else's resources (ids in the path, `userId`, a token in the body)
  gets 403 or 404 for an id in the path, changes nothing, and sees none of that party's identifiers;
- an admitted caller acting on its own resources is not refused (no 401, 403 or 404);
- no reply to anything ever shows an identifier the caller may not see.

A new operation without a declaration fails the build; one whose request body this file has no sample
for fails here, so the matrix keeps covering every operation.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from handlers import access, routes
from tests.authz_world import VARIANTS, Variant, World
from tests.gateway.conftest import tenant_body
from tokensmith import policy

# Which credential forms each security scheme of each spec accepts: the declared acceptance table.
ACCEPTS: dict[tuple[str, str], set[str]] = {
    ("integration", "Token"): {"access"},
    ("admin", "Token"): {"access"},
    ("admin", "Bearer"): {"access", "superadmin-jwt", "tenant-jwt"},
    ("admin", "Authtoken"): {"access", "session", "superadmin-jwt", "tenant-jwt"},
    ("commandcenter", "Authtoken"): {"access", "session"},
    ("commandcenter", "Bearer"): {"access"},
    ("gateway", "SuperadminBearer"): {"superadmin-jwt"},
    ("gateway", "TenantAccessKey"): {"tenant-jwt"},
    ("gateway", "TenantBearer"): {"tenant-jwt"},
}

# A valid body for every operation that takes one and admits a credential (`{}` where any body is
# refused before ownership could matter). Values naming a party's resources are filled per call.
SAMPLE_BODIES: dict[str, Any] = {
    "createUser": {"username": "matrix-new-user", "password": "a long enough password"},
    "updateUser": {"disabled": False},
    "resetPassword": {"password": "another long password"},
    "updateTenant": {"disabled": False},
    "changeSettings": {".authentication.token.access_token_lifespan": 3},
    "introspect": {"token": "<spare>"},
    "oauthRevoke": {"token": "<spare>"},
    "createAccessToken": {"tokenName": "matrix made", "tokenType": 2},
    "createAccessTokenLowercase": {"tokenName": "matrix made", "tokenType": 2},
    "updateAccessToken": {"tokenName": "renamed"},
    "updateAccessTokenLowercase": {"tokenName": "renamed"},
    "createTenant": tenant_body("matrixnew"),
    "createWebhook": {"url": "https://hooks.example.com/matrix", "events": ["token.revoked"]},
    "triggerWorkflow": {
        "workflowIdentifier": "sample_workflow",
        "variables": {"sample_workflow_input_parameter1": "hi"},
    },
}

# Parameters that name a party's resource, and which party attribute fills them.
PARAMETERS = {
    "user_id": "user_id",
    "userId": "user_id",
    "accessTokenId": "entry_id",
    "public_id": "spare_public_id",
    "family": "spare_family",
    "tenant_id": "tenant_external_id",
    "tenantExternalId": "tenant_external_id",
    "triggerId": "trigger_id",
    "webhook_id": "webhook_id",
}
FIXED = {"key": ".feature_flags.enable_swagger", "stepId": "echo"}


def _operations() -> list[tuple[str, str, str, str, dict[str, Any], Any]]:
    return access.operations()


OPERATIONS = _operations()


def _op_id(row: tuple) -> str:
    stem, _base, method, path, _operation, _security = row
    return f"{stem}:{method.upper()}:{path}"


def test_every_operation_declares_its_callers():
    access.check_declarations()
    assert len(access.declarations()) == len(OPERATIONS)


def test_an_undeclared_operation_stops_the_app_from_being_built(monkeypatch):
    spec = routes.spec("admin")
    operation = spec["paths"]["/whoami"]["get"]
    monkeypatch.delitem(operation, access.EXTENSION)
    access.declarations.cache_clear()
    try:
        with pytest.raises(access.UndeclaredAccess, match="admin.yaml GET /whoami"):
            access.check_declarations()
    finally:
        monkeypatch.undo()
        access.declarations.cache_clear()


def test_a_declaration_that_contradicts_the_security_stops_the_build(monkeypatch):
    operation = routes.spec("admin")["paths"]["/whoami"]["get"]
    monkeypatch.setitem(operation, access.EXTENSION, {"callers": ["anonymous"]})
    access.declarations.cache_clear()
    try:
        with pytest.raises(access.UndeclaredAccess, match="asks for a credential"):
            access.check_declarations()
    finally:
        monkeypatch.undo()
        access.declarations.cache_clear()


def _admitted(declaration: policy.Declaration, variant: Variant) -> bool:
    if variant.kind == "anonymous":
        return False
    kinds = {variant.kind} | ({"session"} if variant.form == "session" else set())
    if not kinds & declaration.callers:
        return False
    return variant.spans_platform if declaration.platform else True


def _schemes(stem: str, security: Any) -> list[str]:
    return [name for requirement in security or [] for name in requirement]


def _headers(stem: str, security: Any, variant: Variant, world: World) -> dict[str, str]:
    """The caller's credential in every header the operation's schemes read, each in its form."""
    if variant.form is None:
        return {}
    value = world.credentials[(variant.holder, variant.form)]
    spec = routes.spec(stem)
    headers: dict[str, str] = {}
    for name in _schemes(stem, security):
        scheme = spec["components"]["securitySchemes"][name]
        if scheme["type"] == "http":
            headers["Authorization"] = f"Bearer {value}"
        elif scheme["name"] == "Authtoken":
            headers["Authtoken"] = f"QSDK {value}" if variant.form == "session" else f"Bearer {value}"
        else:
            headers[scheme["name"]] = value
    return headers


def _accepted(stem: str, security: Any, variant: Variant) -> bool:
    return any(variant.form in ACCEPTS[(stem, name)] for name in _schemes(stem, security))


def _targets(operation: dict[str, Any], path: str) -> set[str]:
    """The parameters of an operation that name a party's resource."""
    names = set(re.findall(r"{(\w+)}", path)) & set(PARAMETERS)
    for parameter in operation.get("parameters", []):
        if parameter.get("name") in PARAMETERS:
            names.add(parameter["name"])
    body = SAMPLE_BODIES.get(operation["operationId"], {})
    if isinstance(body, dict) and "<spare>" in body.values():
        names.add("token")
    return names


def _request(
    stem: str, base: str, method: str, path: str, operation: dict[str, Any], party: Any
) -> tuple[str, dict[str, Any], Any, bool] | None:
    """(url, query, body, form-encoded) naming `party`'s resources, or None when it has none of them."""
    url = base + path
    query: dict[str, Any] = {}
    for name in re.findall(r"{(\w+)}", path):
        value = FIXED.get(name) if name in FIXED else getattr(party, PARAMETERS[name])
        if value is None:
            return None
        url = url.replace("{" + name + "}", str(value))
    for parameter in operation.get("parameters", []):
        name = parameter.get("name")
        if parameter.get("in") == "query" and name in PARAMETERS:
            value = getattr(party, PARAMETERS[name])
            if value is None:
                return None
            query[name] = value
    body = None
    form = False
    if "requestBody" in operation:
        sample = SAMPLE_BODIES.get(operation["operationId"], {})
        body = {k: party.spare_value if v == "<spare>" else v for k, v in sample.items()}
        content = _resolved(stem, operation["requestBody"])["content"]
        form = "application/json" not in content and "application/x-www-form-urlencoded" in content
    return url, query, body, form


def _resolved(stem: str, item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        node: Any = routes.spec(stem)
        for part in item["$ref"].lstrip("#/").split("/"):
            node = node[part]
        item = node
    return item


def _send(client: Any, method: str, request: tuple, headers: dict[str, str]) -> Any:
    url, query, body, form = request
    if body is None:
        return client.request(method.upper(), url, params=query, headers=headers)
    if form:
        return client.request(method.upper(), url, params=query, headers=headers, data=body)
    return client.request(method.upper(), url, params=query, headers=headers, json=body)


def _state(core: Any) -> dict[str, list]:
    """What a refused or foreign call must not change (use times and sliding expiries aside)."""
    with core.db.engine.connect() as connection:
        return {
            "users": connection.execute(
                sa.text(
                    "SELECT id, username, role, disabled, password_hash, tenant_id FROM users ORDER BY id"
                )
            ).all(),
            "credentials": connection.execute(
                sa.text(
                    "SELECT id, name, revoked_at, scopes, attributes, renewable_until "
                    "FROM credentials ORDER BY id"
                )
            ).all(),
            "tenants": connection.execute(sa.text("SELECT id, disabled FROM tenants ORDER BY id")).all(),
            "webhooks": connection.execute(sa.text("SELECT id, url, events FROM webhooks ORDER BY id")).all(),
            "settings": connection.execute(
                sa.text("SELECT key, value FROM runtime_settings ORDER BY key")
            ).all(),
        }


def _leaks(response: Any, foreign: set[str]) -> list[str]:
    return sorted(identifier for identifier in foreign if identifier in response.text)


def _open(row: tuple) -> bool:
    return access.declaration_for(row[1], row[4]["operationId"]).anonymous


# An operation open to anybody is called once, without a credential; every other one by every caller.
CASES = [
    pytest.param(row, variant, id=f"{_op_id(row)}-{variant.name}")
    for row in OPERATIONS
    for variant in VARIANTS
    if not _open(row) or variant.kind == "anonymous"
]


@pytest.mark.parametrize(("row", "variant"), CASES)
def test_operation_answers_each_caller_as_declared(client, core, row, variant):
    stem, base, method, path, operation, security = row
    declaration = access.declaration_for(base, operation["operationId"])
    if declaration.anonymous:
        own = _request(stem, base, method, path, operation, _Nobody())
        response = _send(client, method, own, {})
        assert response.status_code < 500, response.text
        return
    name = operation["operationId"]
    if "requestBody" in operation:
        assert name in SAMPLE_BODIES, f"add a sample body for {name} so the matrix covers it"
    world = World(core)
    headers = _headers(stem, security, variant, world)
    own = world.party_for(variant.own, variant.holder, own=True)
    other = world.party_for(variant.other, variant.holder, own=False)
    foreign = world.foreign_identifiers(variant.holder)
    admitted = _admitted(declaration, variant) and _accepted(stem, security, variant)

    if not admitted:
        before = _state(core)
        response = _send(client, method, _request(stem, base, method, path, operation, own), headers)
        assert response.status_code in (401, 403), (response.status_code, response.text)
        if variant.form is None or not _accepted(stem, security, variant):
            assert response.status_code == 401, response.text
        assert _state(core) == before
        return

    targets = _targets(operation, path)
    if targets and other is not None:
        request = _request(stem, base, method, path, operation, other)
        if request is not None:
            before = _state(core)
            response = _send(client, method, request, headers)
            assert response.status_code < 500, response.text
            if set(re.findall(r"{(\w+)}", path)) & set(PARAMETERS):
                assert response.status_code in (403, 404), (response.status_code, response.text)
            assert _state(core) == before, f"{variant.name} changed {variant.other}'s state"
            assert not _leaks(response, foreign), response.text

    request = _request(stem, base, method, path, operation, own)
    assert request is not None
    response = _send(client, method, request, headers)
    assert response.status_code not in (401, 403, 404), (response.status_code, response.text)
    assert response.status_code < 500, response.text
    sees_whole_audit = variant.spans_platform and name == "listAudit"
    if not sees_whole_audit:
        assert not _leaks(response, foreign), (_leaks(response, foreign), response.text)


class _Nobody:
    """A party with no resources: an anonymous operation's parameters are filled with made-up values."""

    user_id = 1
    entry_id = 1
    spare_public_id = "tsa_nobody"
    spare_family = "nobody"
    tenant_external_id = "00000000-0000-0000-0000-000000000000"
    trigger_id = "00000000-0000-0000-0000-000000000000"
    spare_value = "nothing"
    webhook_id = "wh_nobody"


def test_acceptance_table_names_every_security_scheme():
    for stem, _base, _wire in routes.DIALECTS:
        for name in routes.spec(stem).get("components", {}).get("securitySchemes", {}):
            assert (stem, name) in ACCEPTS, (stem, name)


def test_the_docs_show_the_table_the_specs_declare():
    """docs/security.md's "Who may call what" table is `tokensmith access-table`'s output, exactly."""
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    shown = page.split("<!-- access-table:start -->\n", 1)[1].split("<!-- access-table:end -->", 1)[0]
    assert shown.strip() == access.table_markdown().strip()
