"""Per-operation work that Connexion 3 redoes on every request, done once instead.

Connexion's `AsyncOperation.fn` is a property: each request builds a new `StarletteDecorator`, whose
wrapper decorates the handler again (signature inspection, parameter and response decorators) and
makes a new URI parser. All of that depends only on the operation, so it is built on the operation's
first request and reused. Behaviour is unchanged: the same decorators run in the same order, reading
the request from Connexion's per-request context as before. Worth offering upstream as a cached `fn`.
"""

from __future__ import annotations

import functools
import typing as t

from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.lifecycle import ConnexionRequest


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
    def __call__(self, function: t.Callable) -> t.Callable:
        decorated = self.decorate(function)
        parser: list[t.Any] = []  # the operation's URI parser, made on its first request

        @functools.wraps(function)
        async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            if not parser:
                parser.append(self.uri_parser)  # reads the operation from Connexion's context
            request = _Request(scope, receive, uri_parser=parser[0])  # what the framework's get_request makes
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
