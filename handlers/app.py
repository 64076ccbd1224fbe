"""`create_app()`: the one factory that builds tokensmith's HTTP app, for `serve`, the tests and the bench.

Every spec in `openapi/` is mounted on one Connexion `AsyncApp`; a dialect is added by dropping in
its YAML, its handler module and one line in `DIALECTS`. Around Connexion sits one thin ASGI layer
(`TokensmithApp`) for what must happen before routing: collapsing `//` (Commvault's SDK sends it),
the body size limit and read deadline (chunked bodies made whole: `handlers.bodies`), the client
address (through trusted proxies only), the Swagger UI feature flag, the Alation spec URL, and the
per-request context. A deployment's own ASGI middleware (CORS, say) goes in `create_app(middleware=...)`
and wraps both roads a request may take (direct dispatch and Connexion's chain) alike.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.jsonifier import Jsonifier
from connexion.options import SwaggerUIOptions
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers import (
    access,
    bodies,
    connexion_adapter,
    context,
    direct,
    errors,
    observability,
    redirects,
    resolution,
    routes,
    testing_layer,
    validation,
)
from handlers.bodies import BodyTimeout, BodyTooLarge
from handlers.connexion_adapter import VALIDATORS
from handlers.direct import DirectRoutes
from handlers.routes import DIALECTS
from handlers.validation import URIParser
from tokensmith import jobs, runtime
from tokensmith.clock import Clock
from tokensmith.config import Settings
from tokensmith.core import Core
from tokensmith.errors import TokensmithError
from tokensmith.networks import TrustedProxies

SWAGGER_UI_PATH = "/ui"
STOP_WORKERS_SECONDS = 30.0  # at shutdown, how long the job workers get to finish the jobs in hand

# Extra public URLs of a spec's JSON (Alation serves its token API's spec here).
SPEC_ALIASES = {"/openapi/api_authentication/": "integration"}

# Connexion warns on every request to an operation that accepts several media types; that is by design here.
logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)


class _OrJson:
    """orjson in the shape Connexion's Jsonifier expects (it passes json.dumps keyword arguments)."""

    @staticmethod
    def dumps(data: Any, **_kwargs: Any) -> str:
        return orjson.dumps(data).decode()

    @staticmethod
    def dumps_bytes(data: Any) -> bytes:
        """What Connexion's Jsonifier makes of `dumps` (the text and a newline), as bytes."""
        return orjson.dumps(data) + b"\n"

    loads = staticmethod(orjson.loads)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    core: Core | None = None,
    migrate: bool = True,
    direct_dispatch: bool = True,
    middleware: Sequence[Middleware] = (),
) -> TokensmithApp:
    """`middleware`: Starlette `Middleware(cls, **options)` entries (e.g. CORS) wrapped, first one
    outermost, around every HTTP request, whether direct dispatch or Connexion serves it (see
    `TokensmithApp`). `direct_dispatch=False` sends every request through Connexion's whole
    middleware chain (the tests compare the two; see `handlers.direct`)."""
    settings = settings or Settings.from_env()
    dialects = routes.mounted(settings.testing)
    access.check_declarations(dialects)  # no operation is served whose callers are not declared
    if settings.testing:
        clock = testing_layer.controlled_clock(core.clock if core is not None else clock)
    core = core or Core.open(settings, clock)
    routes.register_settings()
    if migrate:
        core.db.upgrade()
    app = AsyncApp(
        __name__,
        specification_dir=str(routes.OPENAPI_DIR),
        jsonifier=Jsonifier(_OrJson),
        validator_map=VALIDATORS,
        uri_parser_class=URIParser,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True, swagger_ui_path=SWAGGER_UI_PATH),
        validate_responses=settings.validate_responses,
    )
    known = connexion_adapter.prepare(app)  # False: Connexion is not the one the fast paths know
    for stem, base, _wire in dialects:
        # An explicit base path lets Connexion order its mounts most-specific first; left to the spec,
        # every API sorts as "/" and the root-mounted ops API could shadow the others.
        spec = copy.deepcopy(routes.spec(stem))
        app.add_api(spec, name=stem, base_path=base, resolver=resolution.SpecResolver(spec))
    for exc_class in (ProblemException, HTTPException, TokensmithError, Exception):
        app.add_error_handler(exc_class, errors.connexion_handler)
    routes_direct = (
        DirectRoutes.build(app, operation_routes(), settings.validate_responses)
        if direct_dispatch and known
        else DirectRoutes({})
    )
    testing = testing_layer.TestingState.start(core, dialects) if settings.testing else None
    core.db.guard_event_loop()  # serving from here: no synchronous round trip on the loop
    return TokensmithApp(app, core, settings, routes_direct, testing, middleware)


def operation_routes() -> dict[str, list[tuple[str, str, str]]]:
    """base path → (method, path, operationId) of every operation in every spec."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for stem, base, _wire in DIALECTS:
        for path, item in routes.spec(stem)["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    found.setdefault(base, []).append((method, path, operation["operationId"]))
    return found


def operation_templates() -> dict[tuple[str, str], str]:
    """(base path, operationId) → "METHOD /base/path/{param}": how logs and metrics name an operation.
    operationIds are unique within a spec only (`whoAmI` is the admin API's and Commvault's)."""
    return {
        (base, operation_id): f"{method.upper()} {base}{path}"
        for base, found in operation_routes().items()
        for method, path, operation_id in found
    }


def load_spec_json(stem: str) -> bytes:
    return orjson.dumps(routes.spec(stem))


class TokensmithApp:
    """The outermost ASGI layer: path hygiene, size limits and feature flags before Connexion routes."""

    def __init__(
        self,
        app: AsyncApp,
        core: Core,
        settings: Settings,
        direct: DirectRoutes,
        testing: testing_layer.TestingState | None = None,
        middleware: Sequence[Middleware] = (),
    ) -> None:
        self.connexion = app
        # The user's middleware sits inside the request id, access log and metrics (so its own
        # replies, a CORS preflight say, carry an id and are counted) and outside everything that
        # chooses between direct dispatch and Connexion, so both paths get it alike.
        self._entry: ASGIApp = self._dispatch
        for cls, args, options in reversed(middleware):
            self._entry = cls(self._entry, *args, **options)
        self.testing = testing  # testing mode: faults and the journal around every request
        # Job worker threads (tokensmith.jobs): started and stopped with the server's lifespan, only in
        # a serving process (`app_from_env`); an app a test builds runs its jobs with `jobs.run_due`.
        self.workers: jobs.Workers | None = None
        self.direct = direct
        self.core = core
        self.settings = settings
        self._specs = {alias: load_spec_json(stem) for alias, stem in SPEC_ALIASES.items()}
        self._templates = operation_templates()
        self.metrics = observability.Metrics(core, settings.metrics_token)
        self.proxies = TrustedProxies(settings.trusted_proxies)
        self._ui_prefixes = tuple(f"{base}{SWAGGER_UI_PATH}".lower() for _, base, _ in DIALECTS)
        # Dialects whose paths match case-insensitively (their specs' paths are all lower-case).
        self._any_case = tuple(
            f"{base}/".lower() for _, base, wire in DIALECTS if getattr(wire, "CASE_INSENSITIVE_PATHS", False)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Every HTTP request gets an X-Request-Id, one JSON access-log line and its metrics."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.workers is not None:
                receive = self._with_workers(receive, self.workers)
            await self.connexion(scope, receive, send)
            return
        raw_send = send  # the server's own: testing mode's connection faults need it
        send = redirects.relative_location(send)  # Starlette builds a redirect's Location from Host
        started = time.perf_counter()
        request_id = observability.request_id_from(_header(scope, b"x-request-id"))
        observability._token_id.set(None)
        context._metrics.set(self.metrics)
        scope.setdefault("extensions", {})
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = dict(
                    message, headers=[*message.get("headers", []), (b"x-request-id", request_id.encode())]
                )
            await send(message)

        try:
            if self.testing is None:
                await self._entry(scope, receive, send_with_id)
            else:
                await self.testing.serve(
                    scope,
                    receive,
                    send_with_id,
                    raw_send=raw_send,
                    request_id=request_id,
                    dispatch=self._entry,
                )
        finally:
            routing = scope["extensions"].get("connexion_routing", {})
            operation = self._templates.get(
                (routing.get("api_base_path"), routing.get("operation_id")), "unmatched"
            )
            seconds = time.perf_counter() - started
            self.metrics.observe(operation, status, seconds)
            observability.log_request(
                method=scope["method"],
                operation=operation,
                status=status,
                seconds=seconds,
                request_id=request_id,
            )

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if "//" in path:
            path = _collapse_slashes(path)
            scope = dict(scope, path=path, raw_path=path.encode())
        context._core.set(self.core)
        context._settings.set(self.settings)
        context._client.set(self._client(scope))

        lowered = path.lower()
        if lowered != path and lowered.startswith(self._any_case):
            path = lowered
            scope = dict(scope, path=path, raw_path=path.encode())
        if lowered.startswith(self._ui_prefixes) and not await self.core.db.run(self._swagger_enabled):
            await self._error(send, path, HTTPException(404, "Not found."))
            return
        if path in self._specs and scope["method"] in ("GET", "HEAD"):
            await _send_bytes(send, 200, self._specs[path], "application/json")
            return

        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            status_exc = (
                BodyTooLarge(limit)
                if declared.isdigit()
                else HTTPException(400, "Malformed Content-Length header.")
            )
            await self._error(send, path, status_exc)
            return
        if validation.malformed_content_type(scope):
            await self._error(send, path, HTTPException(400, "Malformed Content-Type header."))
            return
        seconds = self.settings.body_timeout
        receive = bodies.limited(receive, limit, asyncio.get_running_loop().time() + seconds, seconds)
        try:
            if bodies.unframed(scope, declared is not None):
                scope, receive = await bodies.read_whole(scope, receive)
            scope = _lower_media_type(scope)
            operation = self.direct.get(scope["method"], path)
            if operation is not None:
                receive = await direct.serve(operation, scope, receive, send)
                if receive is None:
                    return
        except (BodyTooLarge, BodyTimeout) as exc:  # raised while the body is read, before any reply
            await self._error(send, path, exc)
            return
        await self.connexion(scope, receive, send)

    @staticmethod
    def _with_workers(receive: Receive, workers: jobs.Workers) -> Receive:
        """The lifespan's messages, passed on after starting the workers at startup and stopping them
        (each finishes the job in hand, in a thread so the loop keeps serving meanwhile) at shutdown."""

        async def receive_and_act() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                workers.start()
            elif message["type"] == "lifespan.shutdown":
                await asyncio.to_thread(workers.stop, STOP_WORKERS_SECONDS)
            return message

        return receive_and_act

    def _client(self, scope: Scope) -> str | None:
        """The peer's address, or, when the peer is a trusted proxy, the address it forwards for."""
        client = scope.get("client")
        peer = client[0] if client else None
        if not self.proxies:
            return peer
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        return self.proxies.client(peer, forwarded)

    def _swagger_enabled(self) -> bool:
        with self.core.db.read() as session:
            return bool(runtime.get_value(session, ".feature_flags.enable_swagger"))

    async def _error(self, send: Send, path: str, exc: Exception) -> None:
        status, headers, body, media_type = errors.render(path, exc)
        await _send_bytes(send, status, body, media_type, headers)


def _collapse_slashes(path: str) -> str:
    while "//" in path:
        path = path.replace("//", "/")
    return path


def _lower_media_type(scope: Scope) -> Scope:
    """Media types are case-insensitive (RFC 9110), but Connexion hands a handler the raw bytes of an
    `Application/JSON` body (a 500); so the media type is lower-cased before Connexion sees it."""
    headers = scope["headers"]
    for index, (key, value) in enumerate(headers):
        if key == b"content-type":
            media, separator, parameters = value.partition(b";")
            if media != media.lower():
                headers = list(headers)
                headers[index] = (key, media.lower() + separator + parameters)
                return dict(scope, headers=headers)
            break
    return scope


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1").strip()
    return None


async def _send_bytes(
    send: Send, status: int, body: bytes, media_type: str, headers: dict[str, str] | None = None
) -> None:
    raw_headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def app_from_env() -> TokensmithApp:
    """uvicorn's factory for `tokensmith serve` (each worker process builds its own app), with
    `TOKENSMITH_WORKERS` job worker threads that live as long as the server (docs/workers.md)."""
    app = create_app(Settings.from_env())
    if app.settings.workers:
        app.workers = jobs.Workers(
            app.core,
            app.settings.workers,
            poll=app.settings.job_poll_interval,
            lease=timedelta(seconds=app.settings.job_lease),
        )
    return ready_to_serve(app)


def ready_to_serve(app: TokensmithApp) -> TokensmithApp:
    """What a serving process does once its app is built: access log on standard output, and the
    start-up heap moved out of the collector's sight. Everything built so far lives as long as the
    process; a full collection of it takes ~120 ms, a pause every request in flight would wait out
    (it was the p99 of every scenario in bench/)."""
    observability.log_to_stdout()
    gc.collect()
    gc.freeze()
    return app
