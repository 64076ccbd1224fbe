"""Per-request context for handlers: which core serves this request, and who is asking.

Set by the outermost ASGI layer (`handlers.app.TokensmithApp`) for each request, so several app
instances can live in one process (the tests build two on one database) without module globals.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from tokensmith.config import Settings
from tokensmith.core import Core

_core: ContextVar[Core] = ContextVar("tokensmith_core")
_settings: ContextVar[Settings] = ContextVar("tokensmith_settings")
_client: ContextVar[str | None] = ContextVar("tokensmith_client", default=None)
_metrics: ContextVar[Any] = ContextVar("tokensmith_metrics")

T = TypeVar("T")


def core() -> Core:
    return _core.get()


def settings() -> Settings:
    return _settings.get()


def client_address() -> str | None:
    return _client.get()


def metrics() -> Any:
    """This app's metrics registry (`handlers.observability.Metrics`)."""
    return _metrics.get()


async def core_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a core function from the event loop. On PostgreSQL its database round trips then suspend
    only this request (`Database.run`); a synchronous call would stall the whole worker for each."""
    return await _core.get().db.run(fn, *args, **kwargs)


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a slow core call (Argon2id, above all) in a worker thread so the event loop keeps serving."""
    return await run_in_threadpool(fn, *args, **kwargs)
