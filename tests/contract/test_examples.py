"""Every example in every spec: present, valid against its schema, and, for requests, SUCCEEDING when
executed against a demo-seeded server, as Swagger UI's "Try it out" would send it.

Why: the specs are what three user groups work from. Swagger UI prefills "Try it out" with the spec's
examples; a generated client's docs show them; schemathesis starts its run from them. An example that
fails on a fresh demo server (`tokensmith demo`) teaches a reader something false about the API.

Two tests per spec operation, ids `<spec>.<operationId>`:

- `test_the_operation_is_documented_with_valid_examples`: a summary and a description; an example for
  every parameter, every request body media type and every documented response media type; each
  example valid against its schema (OpenAPI 3.0 semantics, `$ref`s resolved: tests/contract/specs.py).
- `test_every_request_example_succeeds_on_the_demo_server`: one real `tokensmith serve --testing` over
  a database `tokensmith demo` seeded (tests/contract/demo_server.py); for every request example (each
  body media type's `example`/`examples`; an operation without a body once), the server is reset to the
  demo state (`POST /api/v1/testing/reset`), the request is sent with the parameters' examples filled
  in and the demo credential of the operation's security scheme (below), and the reply must carry the
  operation's first documented 2xx status and validate against that response's schema.

A form (`application/x-www-form-urlencoded`) or multipart body's example is the object a JSON body's
would be; it is encoded here as a browser would send the form. Every failure message lists every
offending example of the operation, so one run shows all that is missing.

Demo credentials per security scheme (docs/contract-testing.md, "Try it out in Swagger UI"):
`TOKEN` header: alice's integration access token (demo-admin's on the admin API); `Authtoken`: alice's
commandcenter session (`QSDK tss_…`); gateway `/platform` Bearer: a JWT from logging in as
demo-superadmin; `itas-api-access-key`: Acme's tenant token (printed by `tokensmith demo`).
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from handlers import routes
from tests.contract.demo_server import DemoServer, credential_headers
from tests.contract.specs import (
    SpecOperation,
    first_success,
    is_json,
    load_spec,
    locate,
    media_examples,
    media_for,
    pointer,
    request_body,
    responses,
    schema_errors,
    spec_operations,
    status_matches,
)

# Every spec a testing-mode server serves (the testing API's own included), with its base path.
MOUNTED = [(stem, base) for stem, base, _wire in routes.mounted(testing=True)]
BASES = dict(MOUNTED)
SPECS = {stem: load_spec(stem) for stem, _base in MOUNTED}
OPERATIONS = [operation for stem, _base in MOUNTED for operation in spec_operations(stem, SPECS[stem])]
IDS = [operation.test_id for operation in OPERATIONS]
PARAMETER_PLACES = ("path", "query", "header", "cookie")


# --- what the spec documents ---------------------------------------------------------------------------


def documentation_problems(spec: dict[str, Any], operation: SpecOperation) -> list[str]:
    """Everything the operation lacks or gets wrong in its documentation, one line each."""
    problems = []
    definition = operation.definition
    for part in ("summary", "description"):
        if not str(definition.get(part) or "").strip():
            problems.append(f"no {part}")
    for parameter, where in zip(operation.parameters, operation.parameter_pointers, strict=True):
        label = f"{parameter.get('in')} parameter {parameter.get('name')!r}"
        examples = media_examples(spec, parameter)
        if not examples:
            problems.append(f"{label}: no example")
        if "schema" in parameter:
            problems += _invalid(spec, f"{where}/schema", examples, label, reading=False)
    body = request_body(spec, operation)
    for media_type in (body or {}).get("content") or {}:
        label = f"request body {media_type}"
        examples = media_examples(spec, body["content"][media_type])
        if not examples:
            problems.append(f"{label}: no example")
        schema = _schema_pointer(spec, operation, "requestBody", "content", media_type)
        if schema:
            problems += _invalid(spec, schema, examples, label, reading=False)
    for status, reply in responses(spec, operation).items():
        for media_type, media in (reply.get("content") or {}).items():
            label = f"response {status} {media_type}"
            examples = media_examples(spec, media)
            if not examples:
                problems.append(f"{label}: no example")
            schema = _schema_pointer(spec, operation, "responses", status, "content", media_type)
            if schema:
                problems += _invalid(spec, schema, examples, label, reading=True)
    return problems


def _schema_pointer(spec: dict[str, Any], operation: SpecOperation, *parts: str) -> str | None:
    media = locate(spec, operation.location, *parts)
    return f"{media}/schema" if "schema" in pointer(spec, media) else None


def _invalid(
    spec: dict[str, Any], schema: str, examples: list[tuple[str, Any]], label: str, *, reading: bool
) -> list[str]:
    return [
        f"{label}: example {name!r} does not validate against {schema}: {error}"
        for name, value in examples
        for error in schema_errors(spec, schema, value, reading=reading)
    ]


@pytest.mark.parametrize("operation", OPERATIONS, ids=IDS)
def test_the_operation_is_documented_with_valid_examples(operation: SpecOperation):
    problems = documentation_problems(SPECS[operation.stem], operation)
    assert not problems, (
        f"openapi/{operation.stem}.yaml {operation.method.upper()} {operation.path} "
        f"({operation.operation_id}):\n  - " + "\n  - ".join(problems)
    )


def test_every_spec_a_testing_server_serves_is_covered():
    """The parametrisation is read from the specs: a spec with no operation would be silently skipped."""
    for stem, _base in MOUNTED:
        assert any(op.stem == stem for op in OPERATIONS), f"openapi/{stem}.yaml declares no operation"


# --- executing the request examples ---------------------------------------------------------------------


@dataclass
class Case:
    """One request to send: which body example (if any), and the parameters' examples."""

    label: str
    media_type: str | None
    body: Any
    parameters: dict[str, dict[str, Any]]  # place → name → value


def cases(spec: dict[str, Any], operation: SpecOperation) -> tuple[list[Case], list[str]]:
    """The requests an operation's examples make, and what keeps any from being made."""
    problems: list[str] = []
    parameters: dict[str, dict[str, Any]] = {place: {} for place in PARAMETER_PLACES}
    for parameter in operation.parameters:
        examples = media_examples(spec, parameter)
        if examples:
            parameters[parameter.get("in", "query")][parameter["name"]] = examples[0][1]
        elif parameter.get("required") or parameter.get("in") == "path":
            problems.append(f"{parameter.get('in')} parameter {parameter['name']!r}: no example to send")
    body = request_body(spec, operation)
    content = (body or {}).get("content") or {}
    if not content:
        return [Case("no body", None, None, parameters)], problems
    found = []
    for media_type, media in content.items():
        examples = media_examples(spec, media)
        if not examples:
            problems.append(f"request body {media_type}: no example to send")
        for name, value in examples:
            found.append(Case(f"{media_type} example {name!r}", media_type, value, parameters))
    return found, problems


def encode(media_type: str, value: Any) -> tuple[bytes, str]:
    """The bytes and Content-Type a client sends for `value` as `media_type` (forms as a browser does)."""
    kind = media_type.split(";")[0].strip().lower()
    if is_json(kind):
        return json.dumps(value).encode(), media_type
    if kind == "application/x-www-form-urlencoded":
        return urllib.parse.urlencode(_form_fields(value)).encode(), media_type
    if kind == "multipart/form-data":
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'
            for name, text in _form_fields(value)
        ]
        return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"{kind}; boundary={boundary}"
    return (value if isinstance(value, bytes) else str(value).encode()), media_type


def _form_fields(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        raise ValueError(f"a form body's example must be an object, not {value!r}")
    fields = []
    for name, item in value.items():
        for one in item if isinstance(item, list) else [item]:
            if isinstance(one, dict) or one is None:
                raise ValueError(f"field {name!r}: {one!r} has no form encoding")
            fields.append((name, _text(one)))
    return fields


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def execute(server: DemoServer, spec: dict[str, Any], operation: SpecOperation, case: Case) -> list[str]:
    """Send the case on a freshly reset demo server; what is wrong with the reply (empty: nothing)."""
    server.reset()
    try:
        headers = credential_headers(server, spec, operation)
    except LookupError as exc:
        return [str(exc)]
    path = operation.path
    for name, value in case.parameters["path"].items():
        path = path.replace("{" + name + "}", urllib.parse.quote(_text(value), safe=""))
    query = [
        (name, _text(one))
        for name, value in case.parameters["query"].items()
        for one in (value if isinstance(value, list) else [value])
    ]
    sent_headers = {name: _text(value) for name, value in case.parameters["header"].items()}
    sent_headers.update(headers)  # the demo credential, where a parameter names the same header
    if case.parameters["cookie"]:
        sent_headers["Cookie"] = "; ".join(f"{k}={_text(v)}" for k, v in case.parameters["cookie"].items())
    content = None
    if case.media_type is not None:
        try:
            content, sent_headers["Content-Type"] = encode(case.media_type, case.body)
        except ValueError as exc:
            return [f"cannot encode the example: {exc}"]
    url = server.url + BASES[operation.stem] + path
    try:
        reply = httpx.request(
            operation.method.upper(), url, params=query, headers=sent_headers, content=content, timeout=60
        )
    except httpx.HTTPError as exc:
        return [f"{operation.method.upper()} {url}: no reply ({exc!r}); server log:\n{server.log_tail(1500)}"]
    return check_reply(spec, operation, reply)


def check_reply(spec: dict[str, Any], operation: SpecOperation, reply: httpx.Response) -> list[str]:
    expected = first_success(spec, operation)
    said = f"{reply.status_code} {reply.text[:400]!r}"
    if expected is None:
        return [f"documents no 2xx status; the server answered {said}"]
    if not status_matches(expected, reply.status_code):
        return [f"expected {expected}, got {said}"]
    documented = responses(spec, operation)[expected].get("content") or {}
    if not documented or operation.method.lower() == "head":  # a reply to HEAD never has a body
        return []
    media_type = reply.headers.get("content-type", "")
    found = media_for(documented, media_type)
    if found is None:
        return [f"{expected}: the reply's Content-Type {media_type!r} is not among {sorted(documented)}"]
    key, media = found
    if "schema" not in media:
        return []
    if is_json(key) or is_json(media_type):
        try:
            body: Any = reply.json()
        except ValueError:
            return [f"{expected} {key}: the reply is not JSON: {reply.text[:400]!r}"]
    else:
        body = reply.text
    schema = f"{locate(spec, operation.location, 'responses', expected, 'content', key)}/schema"
    return [
        f"{expected} {key}: the reply does not validate against {schema}: {error}; "
        f"reply: {reply.text[:400]!r}"
        for error in schema_errors(spec, schema, body, reading=True)
    ]


@pytest.mark.parametrize("operation", OPERATIONS, ids=IDS)
def test_every_request_example_succeeds_on_the_demo_server(demo_server: DemoServer, operation: SpecOperation):
    spec = SPECS[operation.stem]
    made, problems = cases(spec, operation)
    if any("parameter" in problem for problem in problems):
        made = []  # a request without its parameters' values would only report that again, less clearly
    for case in made:
        problems += [f"{case.label}: {problem}" for problem in execute(demo_server, spec, operation, case)]
    assert demo_server.alive(), f"the server died:\n{demo_server.log_tail()}"
    assert not problems, (
        f"openapi/{operation.stem}.yaml {operation.method.upper()} {operation.path} "
        f"({operation.operation_id}), executed on a demo server:\n  - " + "\n  - ".join(problems)
    )


def test_the_demo_credentials_reach_an_operation_of_each_scheme(demo_server: DemoServer):
    """The credential table above, checked once: each one authenticates, so a failing example is the
    example's fault, not the credential's."""
    demo_server.reset()
    demo = demo_server.demo
    checks = {
        "integration TOKEN (alice)": ("/api/v1/whoami", {"TOKEN": demo.alice_access_token}),
        "admin TOKEN (demo-admin)": ("/api/v1/whoami", {"TOKEN": demo.admin_access_token}),
        "commandcenter Authtoken (alice)": ("/commandcenter/api/WhoAmI", {"Authtoken": demo.alice_session}),
        "gateway itas-api-access-key (Acme)": (
            "/gateway/api/v1/workflowdefinition",
            {"itas-api-access-key": demo.tenant_token},
        ),
        "gateway Bearer (demo-superadmin)": (
            "/gateway/api/v1/platform/tenants",
            {"Authorization": f"Bearer {demo_server.superadmin_jwt()}"},
        ),
    }
    refused = {}
    for label, (path, headers) in checks.items():
        reply = httpx.get(demo_server.url + path, headers=headers, timeout=30)
        if reply.status_code != 200:
            refused[label] = f"{reply.status_code} {reply.text[:200]}"
    assert not refused, f"demo credentials refused: {refused}"
