"""`handlers.compiled.compile_check` keeps its promise: a body its compiled check accepts is one Connexion's
own Draft 4 request validator (the one `handlers.validation.validator_for` builds) accepts too. The
compiled check may be stricter (a refused body just takes Connexion's path), never laxer.

Four layers: every JSON request-body schema the app validates, collected from the specs the way
Connexion hands them over (refs resolved, `components` beside the schema); a property test per schema
over valid instances, mutations of them and arbitrary JSON; unit tests pinning the edges where the two
libraries could disagree (unknown keywords, `nullable`, `format`, integers, `enum`, `$`, `multipleOf`);
and a property test over small schemas made up from the whitelisted keywords. Known counterexamples
(`multipleOf`, `not`, `oneOf`, definitions fastjsonschema refuses) are pinned as schemas left uncompiled.
"""

from __future__ import annotations

import copy
import json
import re
import typing as t
from datetime import UTC
from functools import cache

import fastjsonschema
import orjson
import pytest
from connexion.json_schema import resolve_refs
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from handlers import formats, routes
from handlers.compiled import compile_check
from handlers.validation import validator_for

JSON = "application/json"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
FORMAT_CHECKER = formats.FORMAT_CHECKER

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)


# --- The schemas the app validates -------------------------------------------------------------------


def _request_bodies() -> list[tuple[str, str, dict]]:
    """(stem, label, schema) for every operation's JSON request body in every dialect's spec, as
    Connexion's `OpenAPIOperation.body_schema` gives it to a validator: every `$ref` resolved (also a
    `requestBody` that is itself a ref to `components/requestBodies`), the spec's `components` beside it."""
    found = []
    for stem, _base, _wire in routes.DIALECTS:
        spec = resolve_refs(routes.spec(stem))  # a deep copy: the cached spec stays untouched
        components = spec.get("components", {})
        for path, item in spec.get("paths", {}).items():
            for method, operation in item.items():
                if method not in METHODS or "requestBody" not in operation:
                    continue
                schema = operation["requestBody"].get("content", {}).get(JSON, {}).get("schema")
                if schema is not None:
                    found.append(
                        (stem, f"{stem} {method.upper()} {path}", {**schema, "components": components})
                    )
    return found


def _without_components(schema: dict) -> dict:
    return {key: value for key, value in schema.items() if key != "components"}


BODIES = _request_bodies()
CHECKS = {label: compile_check(schema) for _stem, label, schema in BODIES}
SCHEMAS = {label: schema for _stem, label, schema in BODIES}


def _distinct_compiled() -> list[tuple[str, dict]]:
    """One (label, schema) per distinct compiled schema: several operations share a body schema."""
    seen: dict[str, list[str]] = {}
    first: dict[str, dict] = {}
    for _stem, label, schema in BODIES:
        if CHECKS[label] is None:
            continue
        key = json.dumps(_without_components(schema), sort_keys=True)
        seen.setdefault(key, []).append(label)
        first.setdefault(key, schema)
    return [
        (labels[0] + (f" (+{len(labels) - 1} alike)" if len(labels) > 1 else ""), first[key])
        for key, labels in seen.items()
    ]


DISTINCT = _distinct_compiled()


def test_every_dialect_with_json_bodies_is_collected() -> None:
    stems = {stem for stem, _label, _schema in BODIES}
    assert {"integration", "commandcenter", "gateway", "admin"} <= stems
    assert sum(1 for stem, _label, _schema in BODIES if stem == "integration") == 6


@pytest.mark.parametrize("label", [label for _stem, label, _schema in BODIES])
def test_request_body_schema_compiles(label: str) -> None:
    """One line per body schema: skipped (with the reason in the summary) when Connexion's own
    validator has to serve it, which is allowed but worth seeing."""
    if CHECKS[label] is None:
        pytest.skip(
            f"{label}: not compiled (a keyword outside the shared vocabulary); Connexion validates it"
        )
    assert callable(CHECKS[label])


# The body schemas Connexion validates instead, each for a keyword outside the shared vocabulary: the
# token-type shapes (`oneOf`, and `not: {}` for a field a shape does not take) and a webhook's event
# list (`uniqueItems`). None is on a hot path (creating and editing tokens, subscribing).
NOT_COMPILED = {
    "commandcenter POST /V4/AccessToken": "oneOf over the token-type shapes",
    "commandcenter POST /v4/accesstoken": "oneOf over the token-type shapes",
    "commandcenter PUT /V4/AccessToken/{accessTokenId}": "oneOf over the token-type shapes",
    "commandcenter PUT /v4/accesstoken/{accessTokenId}": "oneOf over the token-type shapes",
    "admin POST /webhooks": "uniqueItems on events",
}


def test_the_fast_path_covers_the_apps_json_bodies() -> None:
    """So the property tests below cannot pass vacuously: every JSON body schema compiles but the ones
    named in NOT_COMPILED, with their reasons (a new one must be added there, knowingly)."""
    integration = [label for stem, label, _schema in BODIES if stem == "integration"]
    assert integration and all(CHECKS[label] is not None for label in integration)
    assert {label for label, check in CHECKS.items() if check is None} == set(NOT_COMPILED)


KNOWN_GOOD = [
    ("integration POST /validateAPIAccessToken/", {"api_access_token": "x", "user_id": 7}),
    ("integration POST /validateAPIAccessToken/", {"api_access_token": "x", "user_id": "7"}),
    ("integration POST /createRefreshToken/", {"username": "alice", "password": "pw", "name": "ci"}),
    ("integration POST /validateRefreshToken/", {"refresh_token": "r", "user_id": 123456789012345678}),
    ("commandcenter POST /Login", {"username": "admin", "password": "cGFzc3dvcmQ="}),
    ("commandcenter POST /RenewLoginToken", {"sessionId": "s", "deviceId": "d"}),
    ("gateway POST /auth/login", {"username": " admin", "password": "p", "subdomain": "t1"}),
    ("gateway POST /workflow/trigger", {"workflowIdentifier": "sample_workflow", "initiatorContactId": -1}),
    ("admin POST /users", {"username": "bob", "password": "long enough to pass", "role": "user"}),
    ("admin POST /users", {"username": "carol", "auth_source": "sso"}),
    ("admin PATCH /users/{user_id}", {"disabled": True}),
    ("admin POST /credentials/revoke", {"credentials": ["abc"]}),
]


@pytest.mark.parametrize(("label", "body"), KNOWN_GOOD, ids=[f"{label} {body}" for label, body in KNOWN_GOOD])
def test_known_good_body_takes_the_fast_path(label: str, body: dict) -> None:
    check = CHECKS[label]
    assert check is not None
    assert validator_for(SCHEMAS[label]).is_valid(body)
    assert check(body) is True


# --- Generators ---------------------------------------------------------------------------------------


def _property_names(schema: t.Any, found: set[str] | None = None) -> set[str]:
    found = set() if found is None else found
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "components":
                continue
            if key == "properties" and isinstance(value, dict):
                found.update(value)
            if key == "required" and isinstance(value, list):
                found.update(v for v in value if isinstance(v, str))
            _property_names(value, found)
    elif isinstance(schema, list):
        for item in schema:
            _property_names(item, found)
    return found


def _valid_instances(schema: dict) -> st.SearchStrategy[t.Any] | None:
    """Instances the schema (read as plain JSON Schema) admits: hypothesis-jsonschema's `from_schema`
    where installed, else schemathesis's own generator (which replaced it there), else None."""
    schema = _without_components(schema)
    try:
        from hypothesis_jsonschema import from_schema
    except ImportError:
        pass
    else:
        return from_schema(schema)
    try:
        from schemathesis.generation.jsonschema.builder import build
    except ImportError:
        return None
    formats = {
        "email": st.emails(),
        "idn-email": st.emails(),
        "ipv4": st.ip_addresses(v=4).map(str),
        "ipv6": st.ip_addresses(v=6).map(str),
        "date-time": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    }
    return build(schema, draft=4, formats=formats)


# Numbers a JSON body can carry through orjson (no NaN or infinities: orjson refuses them, and the
# direct path parses with orjson), with the ones the two libraries could read differently.
EDGE_NUMBERS = [
    0,
    1,
    -1,
    1.0,
    -0.0,
    0.0,
    0.5,
    7,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    1e308,
]
EDGE_NUMBERS += [10**18 - 1, 10**18, 10**30, -(10**30), 5e-324]
LONG_LENGTHS = [256, 513, 1025, 4097, 10001]
EDGE_STRINGS = ["", " ", "\t", "\n", "\x00", "a\x00b", "7\n", "\n7", "é", "😀", "٣", "７", "²"]
EDGE_STRINGS += ["0", "00", "-1", "1.0", "true", "null", "a@b", "a@b.c", "1.2.3.4", "999.1.1.1", "sso", "ALL"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from(EDGE_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(EDGE_STRINGS),
)


def _keys(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(names), st.text(max_size=6)) if names else st.text(max_size=6)


@cache
def json_values(names: tuple[str, ...]) -> st.SearchStrategy[t.Any]:
    """Arbitrary JSON, its objects keyed mostly by the schema's property names (one strategy per names)."""
    keys = _keys(names)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(keys, inner, max_size=6),
        ),
        max_leaves=20,
    )


def _objects(names: tuple[str, ...]) -> st.SearchStrategy[dict]:
    """Dicts keyed by the schema's own property names and others: arbitrary JSON is rarely an object."""
    return st.dictionaries(_keys(names), json_values(names), max_size=8)


def _replacement(draw: st.DrawFn, value: t.Any, names: tuple[str, ...]) -> t.Any:
    """What a value might be replaced with: another type, a swap JSON can't tell apart, an edge."""
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        return draw(json_values(names))
    options: list[t.Any] = [None, True, False, 0, 1, 1.0, -0.0, "", [], {}, [value], {"value": value}]
    if isinstance(value, bool):
        options += [int(value), float(value), str(value).lower()]
    elif isinstance(value, int):
        options += [bool(value), float(value), value + 1, value - 1, -value, str(value), value * 2**64]
        options += [value + 0.5, str(value) + "\n", " " + str(value)]
    elif isinstance(value, float):
        options += [int(value) if abs(value) < 1e300 else 0, -value, str(value), value + 0.5]
    elif isinstance(value, str):
        options += [value + "\x00", "\x00" + value, value + "\n", "\n" + value, value + "é", value + "😀"]
        options += [value.strip(), value.upper(), f" {value} ", value[:-1], value * 2]
        options += [("x" + value) * (n // (len(value) + 1) + 1) for n in LONG_LENGTHS]
        options += ["x" * n for n in LONG_LENGTHS]
        if re.fullmatch("-?[0-9]{1,4000}", value):
            options += [int(value), float(value)]
    elif isinstance(value, list):
        options += [value[1:], value + value, [None], [1], [True]]
    elif isinstance(value, dict):
        options += [list(value), list(value.values())]
    return options[draw(st.integers(min_value=0, max_value=len(options) - 1))]


def _paths(value: t.Any, prefix: tuple = ()) -> t.Iterator[tuple]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _at(value: t.Any, path: tuple) -> t.Any:
    for part in path:
        value = value[part]
    return value


@st.composite
def _mutated(draw: st.DrawFn, valid: st.SearchStrategy[t.Any], names: tuple[str, ...]) -> t.Any:
    """A valid instance with one to three changes: a key dropped (a required one, often) or added, an
    item dropped or added, or a value replaced."""
    root = {"": copy.deepcopy(draw(valid))}
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(list(_paths(root[""], ("",)))))
        node = _at(root, path)
        parent, last = _at(root, path[:-1]), path[-1]
        kinds = ["replace"]
        if isinstance(node, dict):
            kinds += ["drop key", "add key"] if node else ["add key"]
        if isinstance(node, list):
            kinds += ["drop item", "add item"] if node else ["add item"]
        kind = draw(st.sampled_from(kinds))
        if kind == "replace":
            parent[last] = _replacement(draw, node, names)
        elif kind == "drop key":
            del node[draw(st.sampled_from(sorted(node)))]
        elif kind == "add key":
            key = draw(st.sampled_from(names) if names else st.text(max_size=6))
            node[key] = draw(json_values(names))
        elif kind == "drop item":
            del node[draw(st.integers(min_value=0, max_value=len(node) - 1))]
        else:
            node.append(draw(json_values(names)))
    return root[""]


def bodies(schema: dict) -> st.SearchStrategy[t.Any]:
    names = tuple(sorted(_property_names(schema)))
    valid = _valid_instances(schema)
    valid = st.nothing() if valid is None else valid
    return st.one_of(valid, _mutated(valid, names), _objects(names), json_values(names))


def assert_never_laxer(check: t.Callable[[t.Any], bool], schema: dict, body: t.Any) -> None:
    validator = validator_for(schema)
    accepted = check(body)
    assert accepted in (True, False)
    event("compiled check: accepted" if accepted else "compiled check: refused")
    if accepted:
        assert validator.is_valid(body), (
            f"compiled check accepts what Connexion refuses: {body!r} under {_without_components(schema)!r}"
        )
    # The direct path checks orjson's parse of the body; Connexion would validate `json.loads`'s parse
    # (they differ on integers beyond 64 bits, which orjson reads as floats).
    raw = json.dumps(body).encode()
    if check(orjson.loads(raw)):
        assert validator.is_valid(json.loads(raw)), (
            f"compiled check accepts orjson's {raw!r}, Connexion refuses json's, "
            f"under {_without_components(schema)!r}"
        )


# --- The promise, per schema --------------------------------------------------------------------------


def test_there_are_compiled_schemas_to_check() -> None:
    assert len(DISTINCT) > 10


@pytest.mark.parametrize(("label", "schema"), DISTINCT, ids=[label for label, _schema in DISTINCT])
def test_compiled_check_never_accepts_what_connexion_refuses(label: str, schema: dict) -> None:
    check = compile_check(schema)
    assert check is not None

    @PROPERTY_SETTINGS
    @given(bodies(schema))
    def holds(body: t.Any) -> None:
        assert_never_laxer(check, schema, body)

    holds()


@pytest.mark.parametrize(("label", "schema"), DISTINCT, ids=[label for label, _schema in DISTINCT])
def test_compiled_check_accepts_generated_valid_instances(label: str, schema: dict) -> None:
    """Not required by the promise, but a fast path that refuses most valid bodies would be useless:
    most of what the generator makes (valid as plain JSON Schema) is accepted by both."""
    valid = _valid_instances(schema)
    if valid is None:
        pytest.skip("no JSON Schema instance generator installed")
    check = compile_check(schema)
    validator = validator_for(schema)
    accepted = []

    @settings(PROPERTY_SETTINGS, max_examples=30)
    @given(valid)
    def collect(body: t.Any) -> None:
        accepted.append(bool(check(body)))
        if check(body):
            assert validator.is_valid(body)

    collect()
    assert accepted and sum(accepted) >= len(accepted) / 3, f"{sum(accepted)} of {len(accepted)} accepted"


# --- compile_check, unit by unit ----------------------------------------------------------------------


def _both(schema: dict, instance: t.Any) -> tuple[bool, bool]:
    check = compile_check(schema)
    assert check is not None
    return check(instance), validator_for(schema).is_valid(instance)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "dependencies": {}},
        {"$ref": "#/components/schemas/Thing"},
        {"type": "object", "properties": {"a": {"$ref": "#/definitions/a"}}},
        {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
        {"type": "array", "uniqueItems": True},
        {"type": "array", "items": [{"type": "string"}], "additionalItems": False},
        {"anyOf": [{"type": "string"}, {"type": "object", "dependencies": {"a": ["b"]}}]},
        {"type": "object", "discriminator": {"propertyName": "kind"}},
        {"type": "string", "writeOnly": True},
        {"const": 1},
        {"if": {"type": "string"}, "then": {"minLength": 1}},
    ],
)
def test_schema_with_a_keyword_outside_the_shared_vocabulary_is_not_compiled(schema: dict) -> None:
    assert compile_check(schema) is None


def test_annotations_and_extensions_do_not_stop_compiling() -> None:
    schema = {"type": "string", "description": "d", "title": "t", "example": "e", "default": "x", "x-any": {}}
    assert compile_check(schema) is not None


def test_components_beside_the_schema_are_left_out() -> None:
    schema = {
        "type": "object",
        "required": ["a"],
        "components": {"schemas": {"Odd": {"dependencies": {}, "$ref": "#/nowhere"}}},
    }
    check = compile_check(schema)
    assert check is not None
    assert check({"a": 1}) is True
    assert check({}) is False


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"type": "string", "nullable": True}, None),
        ({"type": "integer", "nullable": True, "minimum": 1}, None),
        ({"type": "string", "enum": ["a"], "nullable": True}, None),
        ({"type": "object", "properties": {"email": {"type": "string", "nullable": True}}}, {"email": None}),
        ({"type": "string", "x-nullable": True}, None),
    ],
)
def test_nullable_null_is_refused_by_the_compiled_check_and_accepted_by_connexion(
    schema: dict, instance: t.Any
) -> None:
    """Stricter, which the promise allows: a null where `nullable` allows it takes Connexion's path."""
    assert _both(schema, instance) == (False, True)


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("email", "a@b"),  # fastjsonschema's own email regex would refuse this; jsonschema's checker accepts
        ("email", "no-at-sign"),
        ("ipv4", "1.2.3.4"),
        ("ipv4", "999.1.1.1"),
        ("ipv6", "::1"),
        ("ipv6", "1.2.3.4"),
        ("date-time", "2024-02-29T12:00:00Z"),
        ("date-time", "2024-02-29 noon"),
        ("regex", "^a+$"),
        ("regex", "("),
        ("uuid", "not a uuid"),  # handlers.formats checks uuid (the admin spec names it)
        ("password", "\x00"),  # OpenAPI's annotation format: accepted by both
    ],
)
def test_format_is_judged_by_jsonschemas_format_checker(fmt: str, value: str) -> None:
    expected = FORMAT_CHECKER.conforms(value, fmt)
    assert _both({"type": "string", "format": fmt}, value) == (expected, expected)


def test_format_email_differs_from_fastjsonschemas_builtin_so_the_override_is_in_use() -> None:
    builtin = fastjsonschema.compile(
        {"$schema": "http://json-schema.org/draft-04/schema#", "format": "email"}
    )
    with pytest.raises(fastjsonschema.JsonSchemaException):
        builtin("a@b")
    assert _both({"format": "email"}, "a@b") == (True, True)


@pytest.mark.parametrize("fmt", sorted(FORMAT_CHECKER.checkers))
@pytest.mark.parametrize("value", [None, True, 0, 1.5, [], {}, ["a@b"]])
def test_format_on_a_non_string_is_accepted_by_both(fmt: str, value: t.Any) -> None:
    """The compiled code checks formats on strings only: sound because jsonschema's checkers pass
    every non-string too."""
    assert FORMAT_CHECKER.conforms(value, fmt)
    assert _both({"format": fmt}, value) == (True, True)


@pytest.mark.parametrize(
    ("instance", "expected"),
    [(1, True), (0, True), (2**70, True), (-(2**70), True), (1.0, False), (-0.0, False), (1.5, False)]
    + [(True, False), (False, False), ("1", False), (None, False)],
)
def test_draft4_integer_is_a_python_int_in_both(instance: t.Any, expected: bool) -> None:
    """Draft 4 (unlike draft 6) counts `1.0` as a number, not an integer: both refuse it."""
    assert _both({"type": "integer"}, instance) == (expected, expected)


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        ({"enum": [1]}, True, False),
        ({"enum": [1]}, 1, True),
        ({"enum": [1]}, 1.0, True),  # JSON equality: 1 and 1.0 are the same number in both
        ({"enum": [0]}, False, False),
        ({"enum": [0]}, -0.0, True),
        ({"enum": [True]}, 1, False),
        ({"enum": [[1]]}, [True], False),
        ({"enum": [{"a": 0}]}, {"a": False}, False),
        ({"enum": [None]}, None, True),
        ({"enum": ["a"]}, "a\x00", False),
    ],
)
def test_enum_tells_booleans_from_numbers_in_both(schema: dict, instance: t.Any, expected: bool) -> None:
    assert _both(schema, instance) == (expected, expected)


@pytest.mark.parametrize("instance", ["7\n", "123456789012345678\n"])
def test_pattern_dollar_means_end_of_string_in_the_compiled_check(instance: str) -> None:
    """fastjsonschema reads `$` as `\\Z`; Python's `re.search` (jsonschema) lets `$` match before a final
    newline. Stricter, so allowed: `"7\\n"` as a user_id goes Connexion's way."""
    assert _both({"type": "string", "pattern": "^[0-9]{1,18}$"}, instance) == (False, True)


@pytest.mark.parametrize(
    ("instance", "multiple_of"),
    [(19.01, 0.01), (0.3, 0.1), (1e308, 3)],
)
def test_multiple_of_is_left_to_connexion(instance: float, multiple_of: float) -> None:
    """fastjsonschema divides exactly where jsonschema divides in floats (19.01 is a multiple of 0.01 to
    the first only), so a schema with `multipleOf` is not compiled."""
    schema = {"type": "number", "multipleOf": multiple_of}
    assert compile_check(schema) is None
    assert not validator_for(schema).is_valid(instance)


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"not": {"type": "string", "nullable": True}}, None),
        ({"oneOf": [{"type": "string", "nullable": True}, {"type": "null"}]}, None),
        ({"type": "string", "not": {"pattern": "^a$"}}, "a\n"),
        ({"type": "string", "oneOf": [{"pattern": "^a$"}, {"maxLength": 2}]}, "a\n"),
    ],
)
def test_schemas_with_not_or_one_of_are_left_to_connexion(schema: dict, instance: t.Any) -> None:
    """Under `not`, or as one of two `oneOf` branches, a part the compiled check reads more strictly
    (`nullable`, a `$` that will not match before a final newline) would make it laxer."""
    assert compile_check(schema) is None
    assert not validator_for(schema).is_valid(instance)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "required": ["a"], "additionalProperties": False},
        {"type": "object", "properties": {"a": True}},
        {"type": "array", "items": [False]},
    ],
)
def test_a_schema_fastjsonschema_cannot_compile_is_left_to_connexion(schema: dict) -> None:
    check = compile_check(schema)
    for instance in [None, 1, "a", [1], {}, {"a": 1}]:
        assert check is None or not check(instance) or validator_for(schema).is_valid(instance)


# --- The promise on schemas made up from the shared vocabulary -----------------------------------------

NAMES = ["a", "b", "c"]
PATTERNS = ["^a", "a$", "^[0-9]{1,3}$", "^[^\\x00]*$", "b", "^$", "^\\s*\\S", "^[a-c]*$"]
FORMATS = [*sorted(FORMAT_CHECKER.checkers), "password", "uuid", "int32"]
TYPES = ["string", "integer", "number", "boolean", "object", "array", "null"]
small_scalars = st.sampled_from(
    [None, True, False, 0, 1, -1, 1.0, -0.0, 0.5, 2, 2**64, "", "a", "ab", "1", "a\n"]
)
small_values = st.recursive(
    small_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=3),
    max_leaves=6,
)
bounds = st.integers(min_value=-3, max_value=3) | st.sampled_from([0.5, -0.0, 1.0, 2.5, 2**63, -(2**63)])
counts = st.integers(min_value=0, max_value=4)

LEAF_KEYWORDS = {
    "type": st.sampled_from(TYPES) | st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True),
    "enum": st.lists(small_values, min_size=1, max_size=3),
    "minLength": counts,
    "maxLength": counts,
    "pattern": st.sampled_from(PATTERNS),
    "format": st.sampled_from(FORMATS),
    "minimum": bounds,
    "maximum": bounds,
    "exclusiveMinimum": st.booleans(),
    "exclusiveMaximum": st.booleans(),
    "minItems": counts,
    "maxItems": counts,
    "minProperties": counts,
    "maxProperties": counts,
    "required": st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
    "nullable": st.booleans(),
}


def _with_subschemas(inner: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {},
        optional={
            **LEAF_KEYWORDS,
            "properties": st.dictionaries(st.sampled_from(NAMES), inner, max_size=3),
            "additionalProperties": st.booleans() | inner,
            "items": inner | st.lists(inner, min_size=1, max_size=2),
            "anyOf": st.lists(inner, min_size=1, max_size=3),
            "allOf": st.lists(inner, min_size=1, max_size=3),
        },
    )


made_up_schemas = st.recursive(
    st.fixed_dictionaries({}, optional=LEAF_KEYWORDS), _with_subschemas, max_leaves=6
)
made_up_instances = st.recursive(
    small_scalars | scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=3),
    max_leaves=10,
)


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(made_up_schemas, st.lists(made_up_instances, min_size=1, max_size=15))
def test_compiled_check_never_accepts_what_connexion_refuses_on_made_up_schemas(
    schema: dict, instances: list
) -> None:
    """Every keyword of the whitelist, in any nesting; a definition fastjsonschema refuses is left to
    Connexion (pinned above)."""
    check = compile_check(schema)
    if check is None:
        reject()
    for instance in instances:
        assert_never_laxer(check, schema, instance)
