"""What the contract tests need to know about the specs in `openapi/`: read from the YAML files, never
hard-coded, so a dialect added to `handlers.routes.DIALECTS` is covered without touching these tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers import routes
from handlers.routes import DIALECTS

OPENAPI_DIR = routes.OPENAPI_DIR
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# (spec stem, base path) of every mounted dialect, in DIALECTS order.
STEMS_AND_BASES: list[tuple[str, str]] = [(stem, base) for stem, base, _wire in DIALECTS]


@dataclass(frozen=True)
class Operation:
    method: str  # upper case, e.g. "POST"
    path: str  # relative to the dialect's base path, as written in the spec
    operation_id: str | None
    summary: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def spec_path(stem: str) -> Path:
    return routes.spec_path(stem)


def load_spec(stem: str) -> dict[str, Any]:
    """A copy of the spec, the caller's to change."""
    return copy.deepcopy(routes.spec(stem))


def operations(stem: str) -> list[Operation]:
    """Every operation the spec declares, in document order."""
    found = []
    for path, item in (load_spec(stem).get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                definition = item[method]
                found.append(
                    Operation(
                        method=method.upper(),
                        path=path,
                        operation_id=definition.get("operationId"),
                        summary=(definition.get("summary") or "").strip(),
                    )
                )
    return found


# --- examples, parameters and schemas, as the example tests read them ---------------------------------

SPEC_URI = "urn:tokensmith:spec"  # the base URI a spec is registered under for `$ref` resolution


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """`node` with its own `$ref` (to `#/components/...`) followed, repeatedly; nested ones are left."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = pointer(spec, node["$ref"])
        seen += 1
        assert seen < 50, "a $ref cycle"
    return node


def pointer(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local $refs are supported here: {ref}"
    node: Any = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class SpecOperation:
    """One operation as the example tests need it: where it sits in the document, and its parts."""

    stem: str
    method: str  # lower case, as in the document
    path: str
    definition: dict[str, Any]
    parameters: list[dict[str, Any]]  # path item's and operation's, $refs followed, operation's win
    parameter_pointers: list[str]  # where each of `parameters` is written (for its schema)

    @property
    def operation_id(self) -> str:
        return self.definition.get("operationId") or f"{self.method.upper()} {self.path}"

    @property
    def test_id(self) -> str:
        return f"{self.stem}.{self.operation_id}"

    @property
    def location(self) -> str:
        """The JSON pointer of the operation in its spec (for locating a finding)."""
        return f"#/paths/{escape(self.path)}/{self.method}"


def spec_operations(stem: str, spec: dict[str, Any] | None = None) -> list[SpecOperation]:
    """Every operation of a spec, in document order, with its parameters merged."""
    spec = spec if spec is not None else load_spec(stem)
    found = []
    for path, item in (spec.get("paths") or {}).items():
        item = resolve(spec, item)
        here = f"#/paths/{escape(path)}"
        shared = [
            (resolve(spec, p), locate(spec, here, "parameters", str(i)))
            for i, p in enumerate(item.get("parameters") or [])
        ]
        for method in HTTP_METHODS:
            definition = item.get(method)
            if not isinstance(definition, dict):
                continue
            own = [
                (resolve(spec, p), locate(spec, f"{here}/{method}", "parameters", str(i)))
                for i, p in enumerate(definition.get("parameters") or [])
            ]
            names = {(p.get("in"), p.get("name")) for p, _where in own}
            merged = [(p, w) for p, w in shared if (p.get("in"), p.get("name")) not in names] + own
            found.append(
                SpecOperation(stem, method, path, definition, [p for p, _ in merged], [w for _, w in merged])
            )
    return found


def media_examples(spec: dict[str, Any], media: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, value) of each example a media type (or parameter) object gives: `example`, each of
    `examples` (`$ref`s followed; `externalValue` is not supported and named as such), else the top-level
    `example` of its schema, which Swagger UI shows the same way."""
    if "example" in media:
        return [("example", media["example"])]
    if media.get("examples"):
        found = []
        for name, example in media["examples"].items():
            example = resolve(spec, example)
            if "value" in example:
                found.append((name, example["value"]))
        return found
    schema = resolve(spec, media.get("schema") or {})
    if isinstance(schema, dict) and "example" in schema:
        return [("schema example", schema["example"])]
    return []


def request_body(spec: dict[str, Any], operation: SpecOperation) -> dict[str, Any] | None:
    body = operation.definition.get("requestBody")
    return None if body is None else resolve(spec, body)


def responses(spec: dict[str, Any], operation: SpecOperation) -> dict[str, dict[str, Any]]:
    """status (as written: `200`, `2XX`, `default`) → response object, $refs followed, in document order."""
    return {str(status): resolve(spec, reply) for status, reply in operation.definition["responses"].items()}


def first_success(spec: dict[str, Any], operation: SpecOperation) -> str | None:
    """The operation's first documented 2xx status, as written (`200`, `2XX`), or None."""
    return next((status for status in responses(spec, operation) if status.startswith("2")), None)


def status_matches(written: str, status: int) -> bool:
    written = written.upper()
    if written.endswith("XX"):
        return str(status)[0] == written[0]
    return written == str(status)


def media_for(content: dict[str, Any], media_type: str) -> tuple[str, dict[str, Any]] | None:
    """The content entry a reply's media type falls under (exact, then `type/*`, then `*/*`)."""
    media_type = media_type.split(";")[0].strip().lower()
    lowered = {key.lower(): (key, value) for key, value in content.items()}
    for candidate in (media_type, media_type.split("/")[0] + "/*", "*/*"):
        if candidate in lowered:
            return lowered[candidate]
    return None


def is_json(media_type: str) -> bool:
    media_type = media_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json") or media_type.endswith("/json")


def schema_errors(spec: dict[str, Any], where: str, instance: Any, *, reading: bool) -> list[str]:
    """Why `instance` fails the OpenAPI 3.0 schema at JSON pointer `where` of `spec` (every `$ref`
    resolved against the spec; `nullable`, `readOnly`/`writeOnly` and `discriminator` as OpenAPI 3.0
    means them; formats as the server checks them: handlers.formats). Empty when it validates.
    `reading`: a reply (writeOnly properties may not appear) rather than a request (readOnly)."""
    from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    from handlers.formats import FORMAT_CHECKER

    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT4))
    cls = OAS30ReadValidator if reading else OAS30WriteValidator
    validator = cls({"$ref": f"{SPEC_URI}{where}"}, registry=registry, format_checker=FORMAT_CHECKER)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    ]


def locate(spec: dict[str, Any], start: str, *parts: str) -> str:
    """The JSON pointer of `start`/`parts` in `spec`, following each `$ref` met on the way, so that the
    pointer names the node itself (a validator can `$ref` it): e.g. an operation's requestBody that is a
    `$ref` to `#/components/requestBodies/X`, then `content`, `application/json`, `schema`."""
    where = start
    node = pointer(spec, start)
    for part in (*parts, None):
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            where = node["$ref"]
            node = pointer(spec, where)
        if part is None:
            break
        node = node[int(part)] if isinstance(node, list) else node[part]
        where = f"{where}/{escape(part)}"
    return where
