"""Accept-path body checks compiled from the spec's own schemas (fastjsonschema), for direct dispatch.

Connexion validates a request body with pure-Python jsonschema (~20–30 µs for our small bodies); the
same schema compiled to Python code answers in ~2 µs. A compiled check is only ever used to say
"valid": a body it refuses is handed to Connexion's own path, which validates it again and words the
400. So a compiled check must never accept a body that Connexion's Draft 4 validator refuses, and it
is only built for schemas made of keywords whose meaning the two libraries share (`SAFE_KEYWORDS`);
`format` is checked by the same format checker as Connexion's path (`handlers.formats`). OpenAPI's `nullable`
is left out of the compiled code, which makes it stricter (a null goes the long way), never laxer.
The property test in `tests/test_compiled.py` holds the two validators to that promise.
"""

from __future__ import annotations

import typing as t

import fastjsonschema

from handlers.formats import FORMAT_CHECKER

Check = t.Callable[[t.Any], bool]
DRAFT4 = "http://json-schema.org/draft-04/schema#"  # fastjsonschema's default would be draft 7

# Keywords with one meaning in jsonschema's Draft 4 and in fastjsonschema's draft-04 code. Left out:
# `multipleOf` (fastjsonschema divides exactly, jsonschema in floats: 19.01 is a multiple of 0.01 to one
# of them), and `not` and `oneOf`, under which a stricter part (`nullable`, a `$` that fastjsonschema
# will not match before a final newline) turns laxer.
SAFE_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "maxLength",
        "minLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "maxItems",
        "minItems",
        "maxProperties",
        "minProperties",
        "anyOf",
        "allOf",
        "format",
    }
)
# Annotations: neither validator acts on them (`nullable` is discussed above).
ANNOTATIONS = frozenset({"description", "title", "example", "default", "nullable", "readOnly", "deprecated"})
# Keywords whose value is itself a schema, a list of schemas, or a map of them.
_SUBSCHEMA = frozenset({"items", "additionalProperties"})
_SUBSCHEMA_LISTS = frozenset({"anyOf", "allOf"})
_SUBSCHEMA_MAPS = frozenset({"properties"})


def _subschemas(key: str, value: t.Any) -> list[t.Any]:
    if key in _SUBSCHEMA_LISTS or (key == "items" and isinstance(value, list)):
        return list(value)
    if key in _SUBSCHEMA_MAPS:
        return list(value.values())
    if key in _SUBSCHEMA:
        return [value]
    return []


def _formats_used(schema: t.Any, found: set[str]) -> bool:
    """Collect the schema's formats; False if any part of it is outside the shared vocabulary."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    for key, value in schema.items():
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        if key not in SAFE_KEYWORDS:
            return False
        if key == "format":
            found.add(value)
        if not all(_formats_used(sub, found) for sub in _subschemas(key, value)):
            return False
    return True


def _jsonschema_format(name: str) -> t.Callable[[str], bool]:
    return lambda value: FORMAT_CHECKER.conforms(value, name)


def compile_check(schema: dict) -> Check | None:
    """A function telling whether a body is valid under `schema`, or None when it cannot be compiled
    with the guarantee above."""
    formats: set[str] = set()
    # Connexion hands out an operation's schema with the spec's `components` beside it (its refs are
    # already resolved); they are not part of the schema.
    schema = {key: value for key, value in schema.items() if key != "components"}
    if not _formats_used(schema, formats):
        return None
    try:
        validate = fastjsonschema.compile(
            {"$schema": DRAFT4, **schema},
            formats={name: _jsonschema_format(name) for name in formats},
            use_default=False,
            use_formats=True,
        )
    except fastjsonschema.JsonSchemaDefinitionException:  # e.g. a boolean subschema, not Draft 4
        return None

    def check(body: t.Any) -> bool:
        try:
            validate(body)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check
