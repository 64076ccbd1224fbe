"""The spec's examples work on a demo server: each operation, called with its prefilled parameter and
body examples as Swagger UI's "Try it out" sends them, on a database seeded by `tokensmith demo` and with
the credentials the security schemes' descriptions name (a login as demo-superadmin; Acme's tenant
token), answers its first documented 2xx status with a reply that its response schema admits.

The history operations name run `1`, the run the trigger example starts: they run after it, as their
description says. Each test gets a fresh database, as the example-execution test resets its server.
"""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from handlers import routes, testing_seed
from tokensmith import cli_demo, users

SPEC = routes.spec("gateway")
BASE = SPEC["servers"][0]["url"]
ACME = cli_demo.document()["tenants"][0]
DEMO_SUPERADMIN = next(user for user in cli_demo.document()["users"] if user["role"] == "superadmin")
TRIGGER = ("POST", "/workflow/trigger")
# Operations on a run name run 1 (the first on the server): the trigger example starts it.
RUN_PATHS = "/workflowhistory/"


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


OPERATIONS = [
    (method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method in item
    if method != "parameters"
]


def _request(method: str, path: str) -> dict[str, Any]:
    """The operation's example request: path, query and body as the examples prefill them."""
    operation = SPEC["paths"][path][method.lower()]
    url, query = path, {}
    for parameter in map(_resolve, operation.get("parameters", [])):
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", str(parameter["example"]))
        elif parameter["in"] == "query":
            query[parameter["name"]] = parameter["example"]
    body = _resolve(operation.get("requestBody"))
    request: dict[str, Any] = {"url": f"{BASE}{url}", "params": query}
    if body:
        request["json"] = body["content"]["application/json"]["example"]
    return request


def _headers(client: Any, demo: dict[str, Any], operation: dict[str, Any]) -> dict[str, str]:
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    if "SuperadminBearer" in schemes:
        body = _resolve(SPEC["paths"]["/auth/login"]["post"]["requestBody"])["content"]["application/json"]
        login = client.post(f"{BASE}/auth/login", json=body["example"])
        return {"Authorization": f"Bearer {login.json()['resultData']['accessToken']}"}
    if "TenantAccessKey" in schemes:
        return {"itas-api-access-key": demo["tenants"][ACME["subDomain"]]["token"]}
    return {}


@pytest.fixture
def demo(core) -> dict[str, Any]:
    """What `tokensmith demo` seeds, on this test's fresh database."""
    users.ensure_admin(core, "an admin password for the demo")
    return testing_seed.seed(core, cli_demo.document())


def test_the_demo_tenant_keeps_the_external_id_the_examples_name(demo):
    assert demo["tenants"]["acme"]["externalId"] == ACME["externalId"]
    regenerate = SPEC["paths"]["/platform/apiaccesskeys/generate"]["get"]
    assert regenerate["parameters"][0]["example"] == ACME["externalId"]


def test_the_login_example_is_the_demo_superadmin():
    body = _resolve(SPEC["paths"]["/auth/login"]["post"]["requestBody"])["content"]["application/json"]
    assert body["example"] == {
        "username": DEMO_SUPERADMIN["username"],
        "password": DEMO_SUPERADMIN["password"],
    }


@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_each_operation_example_succeeds_on_the_demo_data(client, demo, method, path):
    operation = SPEC["paths"][path][method.lower()]
    headers = _headers(client, demo, operation)
    if path.startswith(RUN_PATHS):
        triggered = client.request(TRIGGER[0], headers=headers, **_request(*TRIGGER))
        assert triggered.status_code == 200, triggered.text
        assert triggered.json()["resultData"]["id"] == 1
    status = min(code for code in operation["responses"] if code.startswith("2"))
    response = client.request(method, headers=headers, **_request(method, path))
    assert response.status_code == int(status), response.text
    schema = _resolve(operation["responses"][status])["content"]["application/json"]["schema"]
    validator = OAS30Validator({**schema, "components": SPEC["components"]})
    assert not list(validator.iter_errors(response.json())), response.text
