"""Direct dispatch: an operation's accept path run without Connexion's chain of middlewares.

A Connexion 3 request passes nine ASGI layers, three of them Starlette routers, and re-derives per
request what depends only on the operation (content-type handling, validators, the argument plan,
the response's media type): ~300 µs of our ~450 µs validate request. Direct dispatch takes the
requests that will succeed the common way — a static path, a JSON body that parses and is valid (or
no body at all) — and runs them through the same pieces Connexion would, found once per operation in
Connexion's own built middleware stack: its security check, the spec's schema (checked by a compiled
validator, `handlers.compiled`), the resolved handler, and its response validator when
`validate_responses` is on. Those pieces come from `handlers.connexion_adapter`, the one module that
touches Connexion's internals; it checks at build time that Connexion is the one it was written for,
and when it is not there are no direct operations and every request takes Connexion's path.
Everything else — another content type, a chunked, empty, unparsable, invalid or unrepresentable
(`handlers.payload`) body, a query string, an operation with other than optional query parameters — is
handed to Connexion untouched (an already read body is replayed), so every refusal is still Connexion's
and worded as before. Failures after the hand-off point (security, the handler, response validation) go
to the same error handler Connexion calls, and leave in the same bytes.
`tests/test_direct.py` sends every operation the same requests with and without direct dispatch and
compares the replies byte for byte.
"""

from __future__ import annotations

import inspect
import typing as t
from dataclasses import dataclass

import orjson
from connexion.lifecycle import ConnexionRequest
from connexion.operations import AbstractOperation
from connexion.utils import is_json_mimetype
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers import connexion_adapter, errors, payload
from handlers.compiled import Check, compile_check
from handlers.connexion_adapter import OperationParts
from handlers.validation import validator_for

JSON = "application/json"
_CONTEXT_ARGUMENTS = ("token_info", "user")


@dataclass(frozen=True)
class DirectOperation:
    operation_id: str
    base_path: str
    operation: AbstractOperation
    verify: t.Callable[[ConnexionRequest], t.Awaitable[None]] | None
    handler: t.Callable[..., t.Awaitable[t.Any]]
    body_argument: str | None  # the handler's name for the JSON body; None if it takes none
    check_body: Check | None  # None: the operation takes no request body
    context_arguments: tuple[str, ...]  # token_info / user, as the handler names them
    media_type: str | None  # what the operation produces, when that is one JSON media type
    json_media_types: frozenset[str]  # the JSON media types among those it produces
    build_response: t.Callable[[t.Any], ASGIApp]  # what Connexion's response decorator would make
    dump: t.Callable[[t.Any], bytes]  # the jsonifier's text, as bytes
    validate_responses: bool

    def routing(self) -> dict[str, str]:
        return {"api_base_path": self.base_path, "operation_id": self.operation_id}


class DirectRoutes:
    """(method, path) → the operation to run directly, for the static paths that can be."""

    def __init__(self, operations: dict[tuple[str, str], DirectOperation]) -> None:
        self.operations = operations

    @classmethod
    def build(
        cls, connexion_app: t.Any, paths: dict[str, list[tuple[str, str, str]]], validate_responses: bool
    ) -> DirectRoutes:
        """`paths`: base path → [(method, path, operationId)] of the operations to consider. No
        operation at all when `handlers.connexion_adapter` finds Connexion not as it knows it."""
        parts = connexion_adapter.operations(connexion_app)
        operations = {}
        for base, routes in paths.items():
            for method, path, operation_id in routes:
                found = parts.get((base, operation_id))
                direct = _direct_operation(base, operation_id, found, validate_responses) if found else None
                if direct is not None and "{" not in path:
                    operations[(method.upper(), f"{base}{path}")] = direct
        return cls(operations)

    def get(self, method: str, path: str) -> DirectOperation | None:
        return self.operations.get((method, path))


def _direct_operation(
    base: str, operation_id: str, parts: OperationParts, validate_responses: bool
) -> DirectOperation | None:
    """The operation's direct form, or None when it has something only Connexion's path handles."""
    operation = parts.operation
    if not _ignorable(operation.parameters):
        return None
    produces = sorted(set(operation.produces))
    json_media_types = frozenset(p for p in produces if is_json_mimetype(p))
    if not json_media_types:
        return None
    handler = parts.handler
    if not inspect.iscoroutinefunction(handler):
        return None
    arguments = inspect.signature(handler).parameters.values()
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY) for p in arguments):
        return None
    names = [p.name for p in arguments]
    check_body = None
    body_argument = None
    if operation.is_request_body_defined:
        schema = operation.body_schema(JSON)
        if JSON not in operation.consumes or not schema:
            return None
        check_body = compile_check(schema) or validator_for(schema).is_valid
        body_argument = operation.body_name(JSON)
    allowed = {*_CONTEXT_ARGUMENTS, *([body_argument] if body_argument else [])}
    if not set(names) <= allowed:
        return None  # (so no handler reads a parameter `_ignorable` lets through)
    return DirectOperation(
        operation_id=operation_id,
        base_path=base,
        operation=operation,
        verify=parts.verify,
        handler=handler,
        body_argument=body_argument if body_argument in names else None,
        check_body=check_body,
        context_arguments=tuple(n for n in names if n in _CONTEXT_ARGUMENTS),
        media_type=produces[0] if produces == sorted(json_media_types) and len(produces) == 1 else None,
        json_media_types=json_media_types,
        build_response=connexion_adapter.response_builder(parts.jsonifier),
        dump=_dumper(parts.jsonifier),
        validate_responses=validate_responses,
    )


def _ignorable(parameters: t.Any) -> bool:
    """Whether a request without a query string meets every parameter of the operation: none, or only
    optional query parameters (the integration dialect's `format`). Such a request is served directly;
    one with a query string is Connexion's to validate (`serve`)."""
    return all(p.get("in") == "query" and not p.get("required") for p in parameters or ())


async def serve(direct: DirectOperation, scope: Scope, receive: Receive, send: Send) -> Receive | None:
    """Serve the request directly and return None, or return the `receive` to hand Connexion (with
    any body already read put back in front) when the request is not one for the direct path."""
    content_type = length = None
    for key, value in scope["headers"]:
        if key == b"content-type":
            content_type = content_type or value
        elif key == b"content-length":
            length = value
        elif key == b"transfer-encoding":
            return receive
    if scope.get("root_path") or scope.get("query_string"):
        return receive
    body = None
    if direct.check_body is not None:
        if content_type is None or length is None or not _plain_json(content_type):
            return receive
        raw, receive = await _read(receive)
        if not raw.strip():
            return receive
        if payload.risky(raw):
            return receive  # a number or a nesting orjson may read otherwise: Connexion's path decides
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return receive
        if not direct.check_body(body):
            return receive
    elif content_type is not None or (length is not None and length != b"0"):
        return receive
    await _run(direct, body, scope, receive, send)
    return None


async def _run(direct: DirectOperation, body: t.Any, scope: Scope, receive: Receive, send: Send) -> None:
    extensions = scope["extensions"]
    extensions["connexion_routing"] = direct.routing()
    context = extensions.setdefault("connexion_context", {})  # what ConnexionRequest.context reads
    try:
        if direct.verify is not None:
            await direct.verify(ConnexionRequest(scope, receive))  # a request object costs ~3 µs
        connexion_adapter.enter_operation(context, direct.operation, receive, scope)
        kwargs = {name: context[name] for name in direct.context_arguments if name in context}
        if direct.body_argument is not None:
            kwargs[direct.body_argument] = body
        result = await direct.handler(**kwargs)
        if direct.validate_responses:
            await _validated(direct, result, scope, receive, send)
        else:
            await _reply(direct, result, scope, receive, send)
    except Exception as exc:  # the handler Connexion's ExceptionMiddleware calls, converted as it does
        failure = await errors.connexion_handler(ConnexionRequest(scope, receive), exc)
        response = Response(
            content=failure.body,
            status_code=failure.status_code,
            media_type=failure.mimetype,
            headers=failure.headers,
        )
        await response(scope, receive, send)


async def _reply(direct: DirectOperation, result: t.Any, scope: Scope, receive: Receive, send: Send) -> None:
    """The bytes Connexion's response decorator would send: a dict or list with a status becomes the
    jsonifier's text (orjson and a newline) with the operation's one media type; anything else goes
    through Connexion's own decorator."""
    data, status, headers = result, 200, None
    if isinstance(result, tuple):
        data, status, headers = _unpack(result)
    media_type = direct.media_type
    if headers:
        media_type = headers.get("Content-Type") if len(headers) == 1 else None
        media_type = media_type if media_type in direct.json_media_types else None
    if media_type is not None and isinstance(data, (dict, list)):
        content = direct.dump(data)
        raw_headers = [(b"content-type", media_type.encode()), (b"content-length", b"%d" % len(content))]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": content})
        return
    await direct.build_response(result)(scope, receive, send)


def _dumper(jsonifier: t.Any) -> t.Callable[[t.Any], bytes]:
    """The jsonifier's output as bytes: straight from its JSON module when that offers bytes
    (`dumps_bytes`, as the app's orjson one does), else through the jsonifier and encoded."""
    direct_bytes = getattr(jsonifier.json, "dumps_bytes", None)
    if direct_bytes is not None:
        return direct_bytes
    return lambda data: jsonifier.dumps(data).encode()


def _unpack(result: tuple) -> tuple[t.Any, int, dict | None]:
    """(data, status) or (data, status, headers); any other shape is left to Connexion's decorator."""
    if len(result) in (2, 3) and type(result[1]) is int:
        return result[0], result[1], (result[2] if len(result) == 3 else None)
    return None, 0, None


async def _validated(
    direct: DirectOperation, result: t.Any, scope: Scope, receive: Receive, send: Send
) -> None:
    """The reply, through Connexion's own response validation (a failure raises before anything is sent)."""

    async def reply(scope: Scope, receive: Receive, send: Send) -> None:
        await _reply(direct, result, scope, receive, send)

    await connexion_adapter.validating_responses(reply, direct.operation)(scope, receive, send)


def _plain_json(content_type: bytes) -> bool:
    """`application/json`, with no parameter but a UTF-8 charset (anything else: Connexion decides)."""
    media, _, parameters = content_type.decode("latin-1").lower().partition(";")
    if media.strip() != JSON:
        return False
    parameters = parameters.replace(" ", "").replace('"', "")
    return parameters in ("", "charset=utf-8")


async def _read(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that replays it before passing on to the real one."""
    chunks = []
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    replay = iter(messages)

    async def replaying() -> Message:
        for message in replay:
            return message
        return await receive()

    return b"".join(chunks), replaying
