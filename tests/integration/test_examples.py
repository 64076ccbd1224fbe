"""The spec's request examples work on a demo server: each body example (JSON, form and multipart), sent
as Swagger UI's "Try it out" would send it to a database seeded by `tokensmith demo`, answers the
operation's first documented 2xx status with a reply that its response schema admits.

The examples name alice's demo tokens; an example that regenerates or revokes them runs on a database
of its own (each test gets a fresh one), as the example-execution test resets its server between them.
"""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from handlers import routes, testing_seed
from tokensmith import cli_demo, users

SPEC = routes.spec("integration")
BASE = SPEC["servers"][0]["url"]
DEMO_ACCESS_TOKEN = cli_demo.document()["tokens"][1]["value"]


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _body_examples() -> list[tuple[str, str, str, Any]]:
    """(method, path, media type, example) for every request body media type of the spec."""
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            body = _resolve(operation.get("requestBody"))
            for media_type, media in (body or {}).get("content", {}).items():
                found.append((method.upper(), path, media_type, media["example"]))
    return found


EXAMPLES = _body_examples()


def _encoded(media_type: str, example: dict[str, Any]) -> dict[str, Any]:
    """The example as a client sends it in that media type (form fields are text)."""
    if media_type == "application/json":
        return {"json": example}
    fields = {name: str(value) for name, value in example.items()}
    if media_type == "application/x-www-form-urlencoded":
        return {"data": fields}
    return {"files": {name: (None, value) for name, value in fields.items()}}


def _first_success(operation: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    status = min(code for code in operation["responses"] if code.startswith("2"))
    response = _resolve(operation["responses"][status])
    return int(status), response["content"]["application/json"]["schema"]


@pytest.fixture
def demo(core) -> dict[str, Any]:
    """What `tokensmith demo` seeds, on this test's fresh database (admin first, so alice is user 2)."""
    users.ensure_admin(core, "an admin password for the demo")
    return testing_seed.seed(core, cli_demo.document())


def test_the_demo_seeds_the_users_the_examples_name(demo):
    assert demo["users"]["alice"] == 2


@pytest.mark.parametrize(
    "method,path,media_type,example",
    EXAMPLES,
    ids=[f"{method} {path} {media_type}" for method, path, media_type, _e in EXAMPLES],
)
def test_each_body_example_succeeds_on_the_demo_data(client, demo, method, path, media_type, example):
    operation = SPEC["paths"][path][method.lower()]
    status, schema = _first_success(operation)
    response = client.request(method, f"{BASE}{path}", **_encoded(media_type, example))
    assert response.status_code == status, response.text
    validator = OAS30Validator({**schema, "components": SPEC["components"]})
    assert not list(validator.iter_errors(response.json())), response.text


def test_userinfo_answers_for_the_demo_access_token(client, demo):
    response = client.get(f"{BASE}/userinfo/", headers={"TOKEN": DEMO_ACCESS_TOKEN})
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_every_body_kind_has_a_schema_of_its_own():
    """A generated client tells the bodies apart by their model: a shared one made it send a form body
    as multipart (with the multipart branch's Content-Type), which the server refused."""
    for path, item in SPEC["paths"].items():
        for operation in item.values():
            body = _resolve(operation.get("requestBody"))
            if body:
                refs = [media["schema"]["$ref"] for media in body["content"].values()]
                assert len(set(refs)) == len(refs), (path, refs)


def test_the_format_query_parameter_is_accepted_and_checked(client, demo):
    body = {"api_access_token": DEMO_ACCESS_TOKEN, "user_id": 2}
    ok = client.post(f"{BASE}/validateAPIAccessToken/?format=json", json=body)
    assert ok.status_code == 200 and ok.json()["token_status"] == "ACTIVE"
    refused = client.post(f"{BASE}/validateAPIAccessToken/?format=xml", json=body)
    assert refused.status_code == 400 and refused.json()["code"] == "400000"
