"""Operations of `openapi/ops.yaml`: health, readiness and metrics."""

from __future__ import annotations

from typing import Any

from connexion import request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from handlers.context import core, core_call, metrics

JSON = {"Content-Type": "application/json"}


async def healthz() -> tuple[dict[str, Any], int, dict[str, str]]:
    return {"status": "ok"}, 200, JSON


async def readyz() -> tuple[dict[str, Any], int, dict[str, str]]:
    try:
        current = await core_call(core().db.is_current)
    except Exception as exc:  # any driver error means "not ready", never a 500
        return {"status": "not ready", "reason": f"database unreachable: {type(exc).__name__}"}, 503, JSON
    if not current:
        return {"status": "not ready", "reason": "database migrations are not current"}, 503, JSON
    return {"status": "ready"}, 200, JSON


async def get_metrics() -> Response:
    if not metrics().allows(request.headers.get("authorization")):
        raise HTTPException(
            401,
            "The metrics need the scrape token (TOKENSMITH_METRICS_TOKEN) as a bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    # A ready response: the exposition format's parameters stay on the header, while the spec (and
    # response validation) name the media type alone, `text/plain`.
    return Response(await core_call(metrics().render), media_type="text/plain; version=0.0.4; charset=utf-8")
