"""Bodies, parameters and headers built to break the server get a 4xx in the dialect's own format,
on every operation of every spec; no error message repeats what was sent."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from connexion.json_schema import resolve_refs

from handlers import formats, payload, routes
from tests.hostile import credentials, json_body_schema, operation_id, operations
from tokensmith.text import storable

OPERATIONS = operations()
JSON_OPERATIONS = [row for row in OPERATIONS if json_body_schema(row[4]) is not None]

HOSTILE_BODIES = {
    "nested past the decoder's recursion": b"[" * 100_000 + b"]" * 100_000,
    "nested past the depth limit": b'{"a":' + b"[" * 40 + b"]" * 40 + b"}",
    "a lone surrogate in a value": b'{"name": "\\ud800", "username": "\\udfff", "password": "\\ud800x"}',
    "a lone surrogate in a key": b'{"\\ud800": 1}',
    "an integer of 5000 digits": b'{"user_id": ' + b"9" * 5000 + b"}",
    "NaN": b'{"user_id": NaN}',
    "an overflowing float": b'{"user_id": 1e999}',
}


@pytest.fixture
def auth(client, make_user) -> dict[str, dict[str, str]]:
    return credentials(client, make_user)


def _wire(path: str) -> Any:
    return routes.wire_for(path)


def assert_refused_in_dialect(response, path: str, statuses: range = range(400, 500)) -> None:
    assert response.status_code in statuses, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(_wire(path).MEDIA_TYPE), response.headers


@pytest.mark.parametrize("row", JSON_OPERATIONS, ids=operation_id)
def test_an_unrepresentable_json_body_is_a_4xx_on_every_operation(client, auth, row):
    _stem, base, method, path, _operation = row
    headers = {**auth[base], "Content-Type": "application/json"}
    for body in HOSTILE_BODIES.values():
        response = client.request(method, path, content=body, headers=headers)
        assert_refused_in_dialect(response, path)


@pytest.mark.parametrize("row", JSON_OPERATIONS, ids=operation_id)
def test_a_json_body_without_content_type_is_a_415_on_every_operation(client, auth, row):
    _stem, base, method, path, _operation = row
    response = client.request(method, path, content=b'{"user_id": 1}', headers=auth[base])
    # Authentication comes first: an operation these credentials may not call
    # (or a path parameter that is not even well-formed) says so instead.
    assert_refused_in_dialect(response, path, range(400, 416))
    assert response.status_code in (400, 401, 403, 415), response.text[:300]


def test_a_lone_surrogate_names_its_field_and_nothing_is_stored(client, alice, core):
    response = client.post(
        "/integration/v1/createRefreshToken/",
        content=b'{"username": "alice", "password": "correct horse battery", "name": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and list(response.json()) == ["name"]


def test_a_validate_call_without_content_type_is_refused_not_handed_bytes(client):
    response = client.post(
        "/integration/v1/validateAPIAccessToken/", content=b'{"user_id": 1, "api_access_token": "x"}'
    )
    assert response.status_code == 415 and response.json()["code"] == "415000"


def _date_time_parameters() -> list[tuple[str, str, str, str]]:
    found = []
    for _stem, base, method, path, operation in OPERATIONS:
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter.get("in") == "query" and schema.get("format") == "date-time":
                found.append((base, method, path, parameter["name"]))
    return found


BAD_DATE_TIMES = [
    "",
    "x",
    "2024-12-31T23:59:60Z",
    "2024-02-30T00:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "1" * 30,
]


@pytest.mark.parametrize("base,method,path,name", _date_time_parameters(), ids=lambda v: str(v))
def test_a_malformed_date_time_query_parameter_is_a_400(client, auth, base, method, path, name):
    for value in BAD_DATE_TIMES:
        response = client.request(method, path, params={name: value}, headers=auth[base])
        assert_refused_in_dialect(response, path, range(400, 401))
        assert name in response.text


def test_every_date_time_query_parameter_was_found():
    assert {(p, n) for _b, _m, p, n in _date_time_parameters()} >= {
        ("/api/v1/audit", "until"),
        ("/api/v1/credentials", "used_before"),
    }


def test_the_date_time_check_is_our_own_not_an_optional_package():
    assert formats.FORMAT_CHECKER.checkers["date-time"][0] is formats.is_date_time
    assert formats.is_date_time("2024-01-01T00:00:00.123456789z")
    assert not formats.is_date_time("2024-01-01T00:00:00")  # RFC 3339 requires the offset


def test_a_spec_naming_a_format_nobody_checks_is_refused():
    assert formats.unchecked(
        {"paths": {"/x": {"get": {"parameters": [{"schema": {"format": "ulid"}}]}}}}
    ) == {"ulid"}
    for stem, _base, _wire in routes.DIALECTS:
        assert formats.unchecked(routes.spec(stem)) == set(), stem


# --- no submitted value in any validation message ------------------------------------------------------

MARKER = "SeCrEtVaLuE"


def _string_properties(schema: Any, prefix: str = "") -> list[tuple[str, dict]]:
    """(dotted name, schema) of every string property reachable through `properties`."""
    found = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            types = sub.get("type")
            if types == "string" or (isinstance(types, list) and "string" in types) or "anyOf" in sub:
                found.append((prefix + name, sub))
            found += _string_properties(sub, f"{prefix}{name}.")
    return found


def _resolved(stem: str) -> dict:
    return resolve_refs(copy.deepcopy(routes.spec(stem)))


def _field_cases() -> list[tuple[str, str, str, str, str]]:
    """(base, METHOD, path, field, how) for every string field of every JSON body and every parameter."""
    cases = []
    resolved = {stem: _resolved(stem) for stem, _b, _w in routes.DIALECTS}
    for stem, base, method, path, _operation in OPERATIONS:
        template = path[len(base) :] if base else path
        key = next(p for p in resolved[stem]["paths"] if _concrete(p) == template)
        operation = resolved[stem]["paths"][key][method.lower()]
        schema = json_body_schema(operation)
        for name, sub in _string_properties(schema or {}):
            cases.append((base, method, path, name, "too-long" if "maxLength" in sub else "wrong-type"))
        for parameter in operation.get("parameters", []):
            if parameter.get("in") in ("query", "header"):
                cases.append((base, method, path, parameter["in"] + ":" + parameter["name"], "parameter"))
    return cases


def _concrete(template: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "1", template)


def _nested(name: str, value: Any) -> dict:
    body: Any = value
    for part in reversed(name.split(".")):
        body = {part: body}
    return body


FIELD_CASES = _field_cases()
BY_OPERATION: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
for _base, _method, _path, _field, _how in FIELD_CASES:
    BY_OPERATION.setdefault((_base, _method, _path), []).append((_field, _how))


@pytest.mark.parametrize("base,method,path", list(BY_OPERATION), ids=lambda v: str(v))
def test_a_refused_field_is_named_without_its_value(client, auth, base, method, path):
    for field, how in BY_OPERATION[(base, method, path)]:
        secret = MARKER + "x" * 5000 if how == "too-long" else MARKER
        headers = dict(auth[base])
        kwargs: dict[str, Any] = {}
        if how == "parameter":
            where, name = field.split(":", 1)
            if where == "query":
                kwargs["params"] = {name: secret + "\x01"}
            else:
                headers[name] = secret + "x" * 5000
        else:
            kwargs["json"] = _nested(field, secret if how == "too-long" else [secret])
        response = client.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 500, response.text[:300]
        assert MARKER not in response.text, (field, response.text[:300])


def test_a_short_password_is_refused_without_quoting_it(client):
    response = client.post(
        "/gateway/api/v1/platform/tenants",
        json={"name": "t", "subDomain": "t", "tenantAdmin": {"username": "u", "password": "1234567"}},
    )
    assert "1234567" not in response.text


def test_there_are_secret_fields_among_the_cases():
    fields = {field.rsplit(".", 1)[-1].split(":")[-1] for _b, _m, _p, field, _h in FIELD_CASES}
    assert {"password", "refresh_token", "api_access_token", "refreshToken"} <= fields


# --- redirects ------------------------------------------------------------------------------------------


def test_a_trailing_slash_redirect_never_names_the_clients_host(client):
    response = client.post(
        "/integration/v1/createRefreshToken",
        json={},
        headers={"Host": "evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 307
    assert response.headers["location"] == "/integration/v1/createRefreshToken/"


# --- the core's last line ---------------------------------------------------------------------------


def test_text_with_a_lone_surrogate_is_not_storable():
    assert storable("Ünal") and storable(None)
    assert not storable("a\ud800b") and not storable("a\x00")


def test_the_depth_limit_is_checked_without_recursion():
    deep: Any = 1
    for _ in range(10_000):
        deep = [deep]
    assert payload.problems(deep, "body") == {"body": [payload.NESTED]}


# --- found by the raw-bytes fuzzer ---------------------------------------------------------------------


@pytest.mark.parametrize("row", OPERATIONS, ids=operation_id)
def test_a_malformed_content_type_or_a_deep_body_is_a_4xx_on_every_operation(client, auth, row):
    """Connexion decodes Content-Type as UTF-8 and splits it at `/`, and parses the body of an operation
    that declares none: each was a 500 on operations no body validator guards."""
    _stem, base, method, path, _operation = row
    deep = b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    for content_type, body in ((b"\x80", b""), (b"", b""), (b"json", b"{}"), (b"application/json", deep)):
        headers = {**auth[base], "Content-Type": content_type}
        response = client.request(method, path, headers=headers, content=body)
        assert response.status_code < 500, (content_type, response.status_code, response.text[:300])
