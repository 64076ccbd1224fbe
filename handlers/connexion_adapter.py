"""Every use tokensmith makes of Connexion's private parts, in one place, checked before it is used.

Speed-ups lean on Connexion internals: handlers decorated once per operation instead of per request
(`CachedApi`), a spec validated once per process however many apps are built from it
(`_remember_valid_specs`), and direct dispatch (`handlers.direct`), which runs an operation's accept
path with the pieces found in Connexion's own built middleware stack. Request validation also plugs
into the hooks a Connexion body validator is written to be subclassed at (`_parse`, `_validate`).
Connexion promises none of these, so this module is written against the versions in
`VERIFIED_VERSIONS` (pyproject.toml pins the same) and checks at build time that what it reaches for
is there and shaped as it expects:

- `prepare(app)`, before any API is added: the version, the attributes, classes and signatures used,
  and the middleware list (exactly Connexion's default one). Any difference: a WARNING naming it, and
  both speed-ups stay off — every request is served by stock Connexion, correct and only slower.
- `operations(app)`, once the APIs are added: builds the stack and checks it is exactly `KNOWN_STACK`,
  then hands direct dispatch each operation's parts. Any difference: a WARNING and no direct dispatch.
- The validator hooks are checked by running one body through them (`_check_validator_hooks`). There
  is no slower correct road around them (the dialects' error bodies depend on them), so a difference
  there stops the build instead.

A new Connexion release: add it to `VERIFIED_VERSIONS` and to the pin once `tests/test_direct.py`
(which compares the exact set of directly served operations and every reply byte for byte against
Connexion's own path) and `tests/test_connexion_adapter.py` pass on it.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import importlib.metadata
import inspect
import logging
import typing as t
from dataclasses import dataclass

import orjson
from connexion import AsyncApp
from connexion import context as connexion_context
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.decorators.response import AsyncResponseDecorator
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware, RequestValidationOperation
from connexion.middleware.response_validation import ResponseValidationMiddleware, ResponseValidationOperation
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.security import SecurityMiddleware, SecurityOperation
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.security import AbstractSecurityHandler
from connexion.spec import Specification
from connexion.validators import (
    VALIDATOR_MAP,
    AbstractRequestBodyValidator,
    FormDataValidator,
    JSONRequestBodyValidator,
    MultiPartFormDataValidator,
)
from starlette.formparsers import FormParser, MultiPartParser
from starlette.types import ASGIApp, Receive, Scope

from handlers import validation

logger = logging.getLogger(__name__)

# The Connexion releases this module was read against and tested on (pyproject.toml pins the same).
VERIFIED_VERSIONS = frozenset({"3.3.0"})

# Connexion's middleware stack, outermost first, then the application it wraps. Direct dispatch stands
# in for exactly these; any other layer (a user's, or a new one of Connexion's) would be skipped by it.
KNOWN_MIDDLEWARE: tuple[type, ...] = (
    ServerErrorMiddleware,
    ExceptionMiddleware,
    SwaggerUIMiddleware,
    RoutingMiddleware,
    SecurityMiddleware,
    RequestValidationMiddleware,
    ResponseValidationMiddleware,
    LifespanMiddleware,
    ContextMiddleware,
)
KNOWN_STACK: tuple[type, ...] = (*KNOWN_MIDDLEWARE, AsyncASGIApp)


class Mismatch(Exception):
    """Connexion is not what this module was written against; the message says where."""


# ---- request validation: tokensmith's body rules plugged into Connexion's validator hooks ----------


class JSONBody(JSONRequestBodyValidator):
    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        return validation.parse_json(b"".join([chunk async for chunk in stream]), scope, self._encoding)

    def _validate(self, body: t.Any) -> None:
        validation.check_fields(self._schema, body)


class FormBody(FormDataValidator):
    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> dict:
        return await validation.parse_form(FormParser, stream, scope)

    def _validate(self, body: t.Any) -> None:
        validation.check_fields(self._schema, body)


class MultiPartBody(MultiPartFormDataValidator):
    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> dict:
        return await validation.parse_form(MultiPartParser, stream, scope)

    def _validate(self, body: t.Any) -> None:
        validation.check_fields(self._schema, body)


VALIDATORS = {
    **VALIDATOR_MAP,
    "parameter": validation.Parameters,
    "body": MediaTypeDict(
        {
            "*/*json": JSONBody,
            "application/x-www-form-urlencoded": FormBody,
            "multipart/form-data": MultiPartBody,
        }
    ),
}


# ---- handlers decorated once per operation --------------------------------------------------------


class _Request(ConnexionRequest):
    """Connexion's request, but a JSON body too deeply nested for Python's decoder reads as no body,
    as Connexion already reads an unparsable one. Only an operation that declares no request body
    (so nothing validated it) ever parses such a body here; it was a 500."""

    async def json(self) -> t.Any:
        try:
            return await super().json()
        except RecursionError:
            return None


class _DecorateOnce(StarletteDecorator):
    """`StarletteDecorator` decorates the handler again on every call (signature inspection, parameter
    and response decorators) and makes a new URI parser; all of that depends only on the operation."""

    def __call__(self, function: t.Callable) -> t.Callable:
        decorated = self.decorate(function)
        parser: list[t.Any] = []  # the operation's URI parser, made on its first request

        @functools.wraps(function)
        async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            if not parser:
                parser.append(self.uri_parser)  # reads the operation from Connexion's context
            request = _Request(connexion_context.scope, connexion_context.receive, uri_parser=parser[0])
            return await decorated(request)

        return wrapper


class _CachedOperation(AsyncOperation):
    @functools.cached_property
    def fn(self) -> t.Callable:  # type: ignore[override]
        return _DecorateOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn)


class CachedApi(AsyncApi):
    def make_operation(self, operation: t.Any) -> AsyncOperation:
        return _CachedOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


# ---- the build-time checks ------------------------------------------------------------------------


def _parameters(function: t.Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise Mismatch(what)


def _check_internals() -> None:
    """What `CachedApi` and direct dispatch touch, as they touch it."""
    version = importlib.metadata.version("connexion")
    _expect(version in VERIFIED_VERSIONS, f"connexion {version} is not a verified version")
    _expect(
        _parameters(ConnexionMiddleware._build_middleware_stack) == ["self"],
        "ConnexionMiddleware._build_middleware_stack changed its signature",
    )
    _expect(getattr(AsyncASGIApp, "api_cls", None) is AsyncApi, "AsyncASGIApp.api_cls is not AsyncApi")
    _expect(
        isinstance(inspect.getattr_static(AsyncOperation, "fn", None), property),
        "AsyncOperation.fn is no longer a property",
    )
    _expect(
        _parameters(AsyncOperation.__init__)
        == ["self", "fn", "jsonifier", "operation_id", "pythonic_params"],
        "AsyncOperation.__init__ changed its signature",
    )
    _expect(
        _parameters(AsyncApi.make_operation) == ["self", "operation"],
        "AsyncApi.make_operation changed its signature",
    )
    _expect(callable(getattr(StarletteDecorator, "decorate", None)), "StarletteDecorator.decorate is gone")
    _expect(
        isinstance(inspect.getattr_static(StarletteDecorator, "uri_parser", None), property),
        "StarletteDecorator.uri_parser is no longer a property",
    )
    for name in ("_context", "_operation", "_receive", "_scope"):
        _expect(
            isinstance(getattr(connexion_context, name, None), contextvars.ContextVar),
            f"connexion.context.{name} is not a ContextVar",
        )
    _expect(
        _assigns(SecurityOperation.__init__, "verification_fn", "security"),
        "SecurityOperation no longer sets verification_fn and security",
    )
    _expect(
        _assigns(RequestValidationOperation.__init__, "_operation"),
        "RequestValidationOperation no longer keeps _operation",
    )
    _expect(
        _parameters(ResponseValidationOperation.__init__)
        == ["self", "next_app", "operation", "validator_map"],
        "ResponseValidationOperation.__init__ changed its signature",
    )
    _expect(
        _parameters(AsyncResponseDecorator.build_framework_response) == ["self", "handler_response"],
        "AsyncResponseDecorator.build_framework_response changed its signature",
    )
    for name in ("connexion_to_framework_response", "is_framework_response"):
        _expect(callable(getattr(StarletteFramework, name, None)), f"Starlette framework lost {name}")
    accepts = inspect.getattr_static(AbstractSecurityHandler, "_accepts_kwarg", None)
    _expect(
        isinstance(accepts, staticmethod) and _parameters(accepts.__func__) == ["func", "keyword"],
        "AbstractSecurityHandler._accepts_kwarg is no longer a static (func, keyword) check",
    )
    validate = inspect.getattr_static(Specification, "_validate_spec", None)
    _expect(
        isinstance(validate, classmethod) and _parameters(validate.__func__) == ["cls", "spec"],
        "Specification._validate_spec is no longer a (cls, spec) class method",
    )
    _expect(
        "self._validate_spec(raw_spec)" in inspect.getsource(Specification.__init__),
        "Specification.__init__ no longer validates through _validate_spec",
    )


def _remember_security_signatures() -> None:
    """Connexion's security wrapper asks `inspect.signature` of the security function twice on every
    request (`AbstractSecurityHandler._accepts_kwarg`: ~20 µs of a ~220 µs `whoami`, py-spy under
    load). The answer depends on the function alone, so it is remembered, for every app in the process."""
    accepts = inspect.getattr_static(AbstractSecurityHandler, "_accepts_kwarg")
    if not hasattr(accepts.__func__, "cache_info"):
        AbstractSecurityHandler._accepts_kwarg = staticmethod(
            functools.lru_cache(maxsize=1024)(accepts.__func__)
        )


def _remember_valid_specs() -> None:
    """Connexion validates a spec against the OpenAPI meta-schema each time a `Specification` is made:
    ~35 ms a spec, most of the ~230 ms an app takes to build, and the test suite builds one per test.
    The outcome depends on the document alone, so a document (by a digest of its canonical JSON) that
    passed once is not validated again in this process; one that fails is checked, and fails, each time."""
    validate = inspect.getattr_static(Specification, "_validate_spec")
    if getattr(validate.__func__, "remembers_valid_specs", False):
        return
    check = validate.__func__
    passed: set[tuple[type, bytes]] = set()

    def validate_once(cls: type, spec: dict) -> None:
        try:
            key = (cls, hashlib.blake2b(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)).digest())
        except TypeError:  # not JSON (a YAML tag orjson does not know): checked every time
            check(cls, spec)
            return
        if key in passed:
            return
        check(cls, spec)
        passed.add(key)

    validate_once.remembers_valid_specs = True  # type: ignore[attr-defined]
    Specification._validate_spec = classmethod(validate_once)  # type: ignore[method-assign,assignment]


def _assigns(function: t.Any, *attributes: str) -> bool:
    """Whether the function's source sets each `self.<attribute>` (read once, at build time)."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):  # no source to read: nothing can be said for it
        return False
    return all(f"self.{attribute} =" in source for attribute in attributes)


def _check_validator_hooks() -> None:
    """Run one invalid JSON body through `JSONBody.wrap_receive`: only if Connexion still calls the
    `_parse` and `_validate` hooks, with the schema and encoding it was given, does it raise FieldErrors.
    The coroutine never waits on anything, so it is driven without an event loop."""
    _expect(
        _parameters(AbstractRequestBodyValidator._parse) == ["self", "stream", "scope"]
        and _parameters(AbstractRequestBodyValidator._validate) == ["self", "body"],
        "the request body validator hooks changed their signatures",
    )
    probe = JSONBody(
        schema={"type": "object", "required": ["probe"]}, encoding="utf-8", strict_validation=False
    )
    body = b'{"other": 1}'
    scope = {"type": "http", "headers": [(b"content-type", b"application/json"), (b"content-length", b"12")]}

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    running = probe.wrap_receive(receive, scope=scope)
    try:
        running.send(None)
    except validation.FieldErrors as refused:
        _expect("probe" in refused.fields, "the body validator hooks did not see the schema")
        return
    except StopIteration:
        pass
    except Exception as exc:  # e.g. an attribute the hooks read is gone
        raise Mismatch(f"the body validator probe failed: {exc!r}") from exc
    finally:
        running.close()
    raise Mismatch("Connexion no longer calls the request body validator hooks")


def check_validator_hooks() -> None:
    """Stop the build when request validation would not be tokensmith's own (see the module's doc)."""
    try:
        _check_validator_hooks()
    except Mismatch as exc:
        raise RuntimeError(
            f"Connexion's request body validator hooks are not the ones tokensmith was written against "
            f"({exc}); the verified versions are {sorted(VERIFIED_VERSIONS)}"
        ) from exc


# What a check may raise when Connexion is not shaped as expected (a missing attribute, another type).
UNEXPECTED = (Mismatch, AttributeError, KeyError, IndexError, TypeError, ValueError)


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, Mismatch) else f"Connexion is not shaped as expected ({exc!r})"


def _turned_off(reason: str) -> None:
    logger.warning(
        "direct dispatch is OFF, every request is served by Connexion's own middleware chain: %s "
        "(handlers.connexion_adapter was verified on connexion %s)",
        reason,
        ", ".join(sorted(VERIFIED_VERSIONS)),
    )


def prepare(app: AsyncApp) -> bool:
    """Before any API is added: check the internals and, when they are the known ones, make Connexion
    decorate each handler once. False (and a WARNING) when anything differs."""
    check_validator_hooks()
    try:
        _check_internals()
        middleware = app.middleware
        _expect(middleware.middleware_stack is None, "the middleware stack is already built")
        _same_stack(
            "the app's middleware", [_middleware_class(m) for m in middleware.middlewares], KNOWN_MIDDLEWARE
        )
        _expect(type(app._middleware_app) is AsyncASGIApp, "the app's application is not an AsyncASGIApp")
    except UNEXPECTED as exc:
        _turned_off(_reason(exc))
        return False
    app._middleware_app.api_cls = CachedApi
    _remember_security_signatures()
    _remember_valid_specs()
    return True


def _middleware_class(middleware: t.Any) -> t.Any:
    return middleware.func if isinstance(middleware, functools.partial) else middleware


def _same_stack(what: str, found: list[t.Any], known: tuple[type, ...]) -> None:
    """Exactly the known layers in the known order, or a Mismatch naming the difference."""
    if tuple(found) == known:
        return
    unknown = [layer for layer in found if layer not in known]
    missing = [layer for layer in known if layer not in found]
    if unknown:
        raise Mismatch(f"{what} has middleware it does not know: {_names(unknown)}")
    if missing:
        raise Mismatch(f"{what} lacks {_names(missing)}")
    raise Mismatch(f"{what} is in another order: {_names(found)}")


def _names(classes: t.Iterable[t.Any]) -> str:
    return ", ".join(getattr(c, "__qualname__", repr(c)) for c in classes)


# ---- what direct dispatch gets ---------------------------------------------------------------------


@dataclass(frozen=True)
class OperationParts:
    """One operation's pieces, as Connexion built them."""

    operation: AbstractOperation
    verify: t.Callable[[ConnexionRequest], t.Awaitable[None]] | None  # None: the operation is public
    handler: t.Callable[..., t.Any]  # the resolved function, undecorated
    jsonifier: t.Any


def operations(app: AsyncApp) -> dict[tuple[str, str], OperationParts]:
    """(base path, operationId) → parts, from Connexion's built stack; empty (and a WARNING) when the
    stack is not exactly `KNOWN_STACK` or its operations are not shaped as expected."""
    middleware = app.middleware
    if middleware.middleware_stack is None:  # (prepare checked this method is there, as known)
        middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
    try:
        stack = list(middleware.middleware_stack)
        _same_stack("the built middleware stack", [type(layer) for layer in stack], KNOWN_STACK)
        _expect(stack[-1] is app._middleware_app, "the stack does not end in the app's own application")
        security, validating, application = (
            stack[KNOWN_STACK.index(kind)]
            for kind in (SecurityMiddleware, RequestValidationMiddleware, AsyncASGIApp)
        )
        found = {}
        for base, apis in application.apis.items():
            for operation_id, routed in apis[0].operations.items():
                found[(base, operation_id)] = _parts(
                    security.apis[base][0].operations.get(operation_id),
                    validating.apis[base][0].operations.get(operation_id),
                    routed,
                )
    except UNEXPECTED as exc:
        _turned_off(_reason(exc))
        return {}
    return found


def _parts(security: t.Any, validating: t.Any, routed: t.Any) -> OperationParts:
    _expect(type(security) is SecurityOperation, "an operation has no SecurityOperation")
    _expect(type(validating) is RequestValidationOperation, "an operation has no RequestValidationOperation")
    _expect(type(routed) is _CachedOperation, "an operation was not made by CachedApi")
    operation = validating._operation
    _expect(isinstance(operation, AbstractOperation), "RequestValidationOperation._operation is no operation")
    return OperationParts(
        operation=operation,
        verify=security.verification_fn if security.security else None,
        handler=routed._fn,
        jsonifier=routed.jsonifier,
    )


# ---- per request, on the direct path ---------------------------------------------------------------


def enter_operation(context: dict, operation: AbstractOperation, receive: Receive, scope: Scope) -> None:
    """What Connexion's ContextMiddleware sets for `connexion.request`, `connexion.context` and the
    decorators; the direct path runs no ContextMiddleware."""
    _set_context(context)
    _set_operation(operation)
    _set_receive(receive)
    _set_scope(scope)


_set_context = connexion_context._context.set
_set_operation = connexion_context._operation.set
_set_receive = connexion_context._receive.set
_set_scope = connexion_context._scope.set


def response_builder(jsonifier: t.Any) -> t.Callable[[t.Any], ASGIApp]:
    """A handler's return value → the ASGI response Connexion's response decorator would make."""
    decorator = AsyncResponseDecorator(framework=StarletteFramework, jsonifier=jsonifier)

    def build(result: t.Any) -> ASGIApp:
        if isinstance(result, ConnexionResponse):
            result = StarletteFramework.connexion_to_framework_response(result)
        if not StarletteFramework.is_framework_response(result):
            result = decorator.build_framework_response(result)
        return result

    return build


def validating_responses(reply: ASGIApp, operation: AbstractOperation) -> ASGIApp:
    """`reply`, checked against the operation's responses by Connexion's own response validation."""
    return ResponseValidationOperation(reply, operation=operation, validator_map=VALIDATORS)
