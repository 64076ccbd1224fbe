"""Validation messages that say what was expected, and never what was sent.

jsonschema's own messages quote the value (`'1234567' is too short`, a 3000-character token echoed
whole), and a field that fails validation is as likely to be a password or a token as anything else.
Rather than keep a list of secret fields (one forgotten field leaks), no message built here contains
any part of the submitted value: only the schema's own words (lengths, patterns, choices, types) and,
for unexpected properties, their names. Wording follows Django REST framework where it has one.
"""

from __future__ import annotations

import typing as t

from jsonschema import ValidationError

_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_MAX_NAMES = 5
_MAX_NAME_LENGTH = 40


def describe(error: ValidationError) -> str:
    """One sentence for one jsonschema error, free of the instance's value."""
    keyword = error.validator
    expected = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return f"Must be {' or '.join(_TYPES.get(str(kind), str(kind)) for kind in kinds)}."
    if keyword == "minLength":
        return f"Ensure this field has at least {expected} characters."
    if keyword == "maxLength":
        return f"Ensure this field has no more than {expected} characters."
    if keyword == "pattern":
        return f"Does not match the pattern {expected!r}."
    if keyword == "format":
        return f"Must be a valid {expected}."
    if keyword == "enum":
        return f"Must be one of: {', '.join(_choice(choice) for choice in expected)}."
    if keyword in ("minimum", "maximum"):
        exclusive = schema.get("exclusiveMinimum" if keyword == "minimum" else "exclusiveMaximum")
        relation = "greater than" if keyword == "minimum" else "less than"
        return f"Ensure this value is {relation}{'' if exclusive else ' or equal to'} {expected}."
    if keyword == "multipleOf":
        return f"Ensure this value is a multiple of {expected}."
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "no more than"
        return f"Ensure this list has {bound} {expected} items."
    if keyword in ("minProperties", "maxProperties"):
        bound = "at least" if keyword == "minProperties" else "no more than"
        return f"Ensure this object has {bound} {expected} fields."
    if keyword == "uniqueItems":
        return "Items must be unique."
    if keyword == "additionalProperties":
        return f"Unexpected fields: {_names(_extra_names(error.instance, schema))}."
    if keyword in ("anyOf", "oneOf"):
        return "Does not match any of the accepted forms."
    if keyword == "not":
        return "This value is not allowed here."
    if keyword == "required":
        return "This field is required."
    return "Invalid value."


def _choice(value: t.Any) -> str:
    return "null" if value is None else str(value)


def _extra_names(instance: t.Any, schema: dict) -> list[str]:
    if not isinstance(instance, dict):
        return []
    known = set(schema.get("properties", {}))
    return [name for name in instance if name not in known]


def _names(names: list[str]) -> str:
    shown = [repr(name[:_MAX_NAME_LENGTH]) for name in names[:_MAX_NAMES]]
    return ", ".join(shown) + (", …" if len(names) > _MAX_NAMES else "")
