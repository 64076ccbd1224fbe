"""Every error, whatever raised it, leaves through here in the wire format of the dialect that owns
the request path (see `handlers.routes`)."""

from __future__ import annotations

import orjson
from connexion.lifecycle import ConnexionRequest, ConnexionResponse

from handlers import routes
from handlers.failure import describe


def render(path: str, exc: Exception) -> tuple[int, dict[str, str], bytes, str]:
    """(status, headers, body, media type) of the error reply for a request to `path`."""
    dialect = routes.wire_for(path)
    failure = describe(exc, dialect.CORE_ERRORS)
    if failure.status == 405:
        failure.headers["Allow"] = ", ".join(routes.allowed_methods(path))
    body = orjson.dumps(dialect.error_body(failure, path))
    return failure.status, failure.headers, body, dialect.MEDIA_TYPE


async def connexion_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    status, headers, body, media_type = render(request.url.path, exc)
    return ConnexionResponse(
        status_code=status, body=body, headers=headers, mimetype=media_type, content_type=media_type
    )
