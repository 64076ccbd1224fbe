"""What is measured: the apps, the scenarios, and which app answers which scenario with which request.

Scenario names are the issue's: `validate` (POST validateAPIAccessToken/; for simplejwt its own
`TokenVerifyView`, the peer's equivalent), `whoami` (GET /api/v1/whoami authenticated by the `TOKEN`
header) and `issue` (POST createAPIAccessToken/). Every app sends from the same pool of tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from bench.dataset import Pool
from bench.load import Request

TOKENSMITH, FLOOR, FASTAPI, SIMPLEJWT = "tokensmith", "floor", "fastapi", "simplejwt"
ASYNC_FLOOR = "async-floor"
VALIDATE, WHOAMI, ISSUE = "validate", "whoami", "issue"

VALIDATE_PATH = "/integration/v1/validateAPIAccessToken/"
WHOAMI_PATH = "/api/v1/whoami"
ISSUE_PATH = "/integration/v1/createAPIAccessToken/"
VERIFY_PATH = "/api/token/verify/"


@dataclass(frozen=True)
class App:
    """How uvicorn serves an app: `module:attribute`, whether that is a factory, and lifespan support."""

    name: str
    target: str
    factory: bool = True
    lifespan: str = "auto"
    description: str = ""


APPS: dict[str, App] = {
    TOKENSMITH: App(
        TOKENSMITH,
        "bench.apps.tokensmith_app:create",
        description="handlers.app:ready_to_serve(create_app())",
    ),
    FLOOR: App(FLOOR, "bench.apps.floor:create", description="hand-written Starlette + DB-API"),
    ASYNC_FLOOR: App(
        ASYNC_FLOOR,
        "bench.apps.async_floor:create",
        description="hand-written Starlette + psycopg AsyncConnectionPool (PostgreSQL only)",
    ),
    FASTAPI: App(FASTAPI, "bench.apps.fastapi_twin:create", description="FastAPI + SQLAlchemy ORM"),
    SIMPLEJWT: App(
        SIMPLEJWT,
        "bench.apps.simplejwt_project.asgi:application",
        factory=False,
        lifespan="off",
        description="DRF simplejwt TokenVerifyView + blacklist",
    ),
}


def _validate(pool: Pool) -> Request:
    lines = [orjson.dumps({"api_access_token": t, "user_id": u}).decode() for t, u in pool.access]
    return Request("POST", VALIDATE_PATH, lines)


def _verify(pool: Pool) -> Request:
    return Request("POST", VERIFY_PATH, [orjson.dumps({"token": token}).decode() for token in pool.jwt])


def _whoami(pool: Pool) -> Request:
    return Request("GET", WHOAMI_PATH, [token for token, _ in pool.access], header="TOKEN")


def _issue(pool: Pool) -> Request:
    lines = [orjson.dumps({"refresh_token": t, "user_id": u}).decode() for t, u in pool.refresh]
    return Request("POST", ISSUE_PATH, lines)


# scenario -> app -> how that app is asked (apps absent from a scenario are not run on it)
SCENARIOS: dict[str, dict[str, Callable[[Pool], Request]]] = {
    VALIDATE: {
        TOKENSMITH: _validate,
        FLOOR: _validate,
        ASYNC_FLOOR: _validate,
        FASTAPI: _validate,
        SIMPLEJWT: _verify,
    },
    WHOAMI: {TOKENSMITH: _whoami, FLOOR: _whoami, ASYNC_FLOOR: _whoami},
    ISSUE: {TOKENSMITH: _issue},
}
# Scenarios whose requests write rows that must be removed after each run (see `bench.run`).
WRITES_ROWS = {ISSUE}
# Scenarios whose requests record a token's last use (at most once a minute per token): every pool token
# is marked used just before each run, so no app pays for writes the app before it was spared.
RECORDS_USE = {WHOAMI}
# Pairs whose answers must be identical, byte for byte after JSON parsing (`bench.checks`).
SAME_WIRE = {VALIDATE: (FLOOR, ASYNC_FLOOR, FASTAPI), WHOAMI: (FLOOR, ASYNC_FLOOR)}
# What `python -m bench.run` serves unless told otherwise (the async floor needs PostgreSQL; it is
# measured by `python -m bench.remote`).
RUN_APPS = (TOKENSMITH, FLOOR, FASTAPI, SIMPLEJWT)
