"""Request validation rules: tokensmith's, run by Connexion's validators (`handlers.connexion_adapter`
plugs the body rules into Connexion's `validator_map`; `Parameters` is a public `ParameterValidator`).

Two reasons not to use Connexion's own rules: (1) a dialect must be able to point at the offending *field*
(the integration dialect answers DRF's `{"field": ["message"]}`), so validation errors leave here as
`FieldErrors` with every field's messages, not as one formatted string; (2) Connexion builds a new
jsonschema validator for every request, while a schema's validator is built once here and reused.
Invalid UTF-8 and unparsable JSON become a 400, never a 500; so does a body no layer behind this one
could hold (`handlers.payload`). No message built here quotes a submitted value (`handlers.messages`),
and query, path and header parameters are checked by the same rules as bodies (`Parameters`).
"""

from __future__ import annotations

import json
import typing as t

from connexion.exceptions import BadRequestProblem, UnsupportedMediaTypeProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import is_null, is_nullable
from connexion.validators import ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.types import Scope

from handlers import payload
from handlers.formats import FORMAT_CHECKER
from handlers.messages import describe

BODY = "body"


class FieldErrors(BadRequestProblem):
    """A 400 that knows which fields were wrong and why."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        first_field, first_messages = next(iter(fields.items()))
        super().__init__(detail=f"{first_field}: {first_messages[0]}")
        self.fields = fields


# Connexion hands every request the same (spec-owned) schema dict of its operation, so its identity is
# a stable key; the entry holds the dict itself so the id can never be reused by another object.
_compiled: dict[int, tuple[dict, Draft4Validator]] = {}


def validator_for(schema: dict) -> Draft4Validator:
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = (
            schema,
            Draft4RequestValidator(schema, format_checker=FORMAT_CHECKER),
        )
        _compiled[id(schema)] = entry
    return entry[1]


def _message(error: ValidationError) -> tuple[str, str]:
    """(field, message) for one jsonschema error, worded like Django REST framework where it can be,
    and never quoting the value (see `handlers.messages`)."""
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else BODY
        return missing, "This field is required."
    field = ".".join(str(part) for part in error.absolute_path) or BODY
    if error.instance is None:
        return field, "This field may not be null."
    if field == BODY and error.validator == "type":
        return field, "Expected an object of fields."
    return field, describe(error)


# Keywords that pin a value to a set (a shape's `tokenType`, say): a shape refusing such a value is not
# the one the client meant.
_PINNING = frozenset({"enum", "anyOf", "oneOf"})


def _closest_shape(error: ValidationError) -> list[ValidationError]:
    """The errors to report for `error`. An object that fits none of a `oneOf`'s shapes (commandcenter's
    token types) is judged by the shape it is closest to, so the client learns which field is wrong
    rather than only that no shape fits: the shapes whose pinned values it meets first, then the one
    with the fewest errors. Any other error is itself."""
    if error.validator != "oneOf" or not isinstance(error.instance, dict) or not error.context:
        return [error]
    shapes: dict[t.Any, list[ValidationError]] = {}
    for sub in error.context:
        shapes.setdefault(sub.relative_schema_path[0], []).append(sub)
    closest = min(
        shapes.values(),
        key=lambda subs: (any(sub.validator in _PINNING for sub in subs), len(subs)),
    )
    return [found for sub in closest for found in _closest_shape(sub)]


def field_errors(schema: dict, body: t.Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in (e for raw in validator_for(schema).iter_errors(body) for e in _closest_shape(raw)):
        field, message = _message(error)
        errors.setdefault(field, [])
        if message not in errors[field]:
            errors[field].append(message)
    return errors


def check_fields(schema: dict, body: t.Any) -> None:
    """Raise FieldErrors naming every field of `body` that `schema` (or representability) refuses."""
    if body is None:
        raise FieldErrors({BODY: ["A request body is required."]})
    errors = payload.problems(body, BODY) or field_errors(schema, body)
    if errors:
        raise FieldErrors(errors)


def parse_json(raw: bytes, scope: Scope, encoding: str | None) -> t.Any:
    """A JSON request body, or None when it is blank; undecodable or unparsable ones are a 400."""
    if not raw.strip():
        return None
    _require_media_type(scope)
    try:
        return payload.loads(raw.decode(encoding or "utf-8"))
    except (UnicodeDecodeError, LookupError) as exc:
        raise BadRequestProblem(detail="JSON parse error - the body is not valid UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise BadRequestProblem(detail=f"JSON parse error - {exc}") from exc
    except RecursionError as exc:
        raise BadRequestProblem(detail=f"JSON parse error - {payload.NESTED}") from exc


def malformed_content_type(scope: Scope) -> bool:
    """A Content-Type that is not an ASCII `type/subtype` is no media type (RFC 9110), and Connexion
    decodes it as UTF-8 and splits it at `/` wherever it reads it: a 500 on any operation."""
    return any(
        key == b"content-type" and (not value.isascii() or b"/" not in value.partition(b";")[0])
        for key, value in scope["headers"]
    )


def _require_media_type(scope: Scope) -> None:
    """A body sent without a Content-Type is refused (415, as Django REST framework does). Connexion
    would validate it as the operation's first media type and then hand the handler the raw bytes."""
    if not any(key == b"content-type" for key, _ in scope["headers"]):
        raise UnsupportedMediaTypeProblem(detail="A request body needs a Content-Type header.")


async def parse_form(
    parser_class: type[FormParser | MultiPartParser], stream: t.AsyncGenerator[bytes, None], scope: Scope
) -> dict:
    """Form bodies as Django does it: each field's last value, as text; a file where text belongs is a
    field error. (Connexion's own form handling needs a `type` on every property and cannot read a
    field that is `anyOf` integer-or-digit-string, like the integration dialect's `user_id`.)"""
    _require_media_type(scope)
    parser = parser_class(Headers(scope=scope), stream)
    try:
        form = await parser.parse()
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise BadRequestProblem(detail="Form parse error - the body could not be read.") from exc
    except MultiPartException as exc:
        raise BadRequestProblem(detail=f"Multipart parse error - {exc}") from exc
    body: dict[str, t.Any] = {}
    files = []
    for key in form:
        value = form.getlist(key)[-1]
        if isinstance(value, UploadFile):
            files.append(key)
        body[key] = value
    if files:
        raise FieldErrors({key: ["Expected text, not a file."] for key in files})
    return body


class Parameters(ParameterValidator):
    """Query, path, header and cookie parameters, checked as bodies are: the same format checker, the
    same representability rules (a 30-digit `?limit=` is refused here, not by the database), and
    messages that never quote the value (Connexion's quote it, followed by a dump of the schema)."""

    def validate_parameter(  # type: ignore[override]
        self, parameter_type: str, value: t.Any, param: dict, param_name: str | None = None
    ) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            return f"Missing {parameter_type} parameter '{param['name']}'" if param.get("required") else None
        label = f"Invalid {parameter_type} parameter '{param['name']}'"
        problems = payload.problems(value, param["name"])
        if problems:
            return f"{label}: {next(iter(problems.values()))[0]}"
        schema = param.get("schema", param)
        error = next(iter(validator_for(schema).iter_errors(value)), None)
        return None if error is None else f"{label}: {describe(error)}"


class URIParser(OpenAPIURIParser):
    """Hands handlers form fields the way `_FormFields` validated them: each field's last value, as
    text. Connexion's parser would coerce by the *first* media type's schema and fail on `anyOf`."""

    def resolve_form(self, form_data: dict) -> dict:
        return {key: values[-1] if isinstance(values, list) else values for key, values in form_data.items()}
