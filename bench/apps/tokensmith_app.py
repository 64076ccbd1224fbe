"""tokensmith as it ships: `handlers.app.create_app` with a `Settings` pointing at the bench database,
made ready to serve as `tokensmith serve` does (access log on, start-up heap frozen).

Served with `uvicorn bench.apps.tokensmith_app:create --factory`. The harness migrates the database
before it starts any server, so the factory does not (several servers start at once).
"""

from __future__ import annotations

from bench.apps import environment
from handlers.app import TokensmithApp, create_app, ready_to_serve
from tokensmith.config import Settings


def create() -> TokensmithApp:
    settings = Settings(
        database_url=environment.database_url(),
        secret_key=environment.secret_key(),
        validate_responses=environment.validate_responses(),
    )
    return ready_to_serve(create_app(settings, migrate=False))
