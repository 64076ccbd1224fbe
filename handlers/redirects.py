"""Redirects that point within the site, never at the `Host` a client sent.

Starlette's router answers a path missing (or carrying) a trailing slash with a 307 whose `Location`
is an absolute URL built from the request's `Host` header, so any client (or a cache in front of
tokensmith) can be handed a redirect to a host of the sender's choosing. Every redirect tokensmith
makes stays on the same site, so `Location` is cut down to its path and query: RFC 9110 allows a
relative reference, and every HTTP client resolves it against the URL it asked for.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import Message, Send


def relative_location(send: Send) -> Send:
    """`send`, with the `Location` of any redirect reduced to a path (and query) on this site."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
            headers = [
                (key, _relative(value)) if key.lower() == b"location" else (key, value)
                for key, value in message.get("headers", [])
            ]
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _relative(location: bytes) -> bytes:
    parts = urlsplit(location.decode("latin-1"))
    path = "/" + parts.path.lstrip("/")  # never `//host`, which a client would read as another site
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")
