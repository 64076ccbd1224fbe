"""Where a webhook may be sent: the URL rules a subscription is checked against, and the address check
made before each delivery.

tokensmith is self-hosted, and contract testers run their receivers on the same machine, so by default a
webhook may go to any http or https URL, `localhost` and private networks included. Where the people
who may subscribe should not reach the server's own network through it (server-side request forgery),
an operator turns `.webhooks.allow_private_addresses` off: a URL naming a loopback, private, link-local
or otherwise non-public address is then refused when subscribing, and a host name is resolved before
every delivery and the attempt refused when any of its addresses is not public. (A name that resolves
differently between that check and the connection itself is not caught; an egress proxy is the
complete answer.)
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from tokensmith.errors import InvalidValue
from tokensmith.text import require_storable

MAX_URL_LENGTH = 2048
SCHEMES = ("http", "https")
PRIVATE_SETTING = ".webhooks.allow_private_addresses"


def check_url(url: object, *, allow_private: bool) -> str:
    """The URL as stored, or InvalidValue("url") saying what is wrong with it."""
    text = url.strip() if isinstance(url, str) else ""
    if not text or len(text) > MAX_URL_LENGTH:
        raise InvalidValue("url", f"A webhook URL is 1 to {MAX_URL_LENGTH} characters.")
    require_storable("url", text)
    if any(ord(char) < 33 or ord(char) == 127 for char in text):
        raise InvalidValue("url", "A webhook URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number in range
    except ValueError:
        raise InvalidValue("url", "The webhook URL is not a well-formed URL.") from None
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidValue("url", "A webhook URL starts with http:// or https://.")
    if not parts.hostname:
        raise InvalidValue("url", "A webhook URL names a host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidValue("url", "A webhook URL may not carry a user name or password.")
    if parts.fragment or text.endswith("#"):
        raise InvalidValue("url", "A webhook URL has no fragment (#...): it is never sent.")
    if not allow_private and not _public_name(parts.hostname):
        raise InvalidValue(
            "url", "This server delivers webhooks to public addresses only (not loopback or private ones)."
        )
    return text


def host_of(url: str) -> str:
    """What the audit log and the logs may show of a URL: its host (a path or query may hold a secret)."""
    return urlsplit(url).hostname or ""


def _public_address(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.is_global and not parsed.is_multicast


def _public_name(host: str) -> bool:
    """A literal address that is public, or a name that is not `localhost` (names are resolved, and
    checked again, at each delivery)."""
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(lowered.split("%", 1)[0])
    except ValueError:
        return True
    return _public_address(lowered)


def refusal(url: str, *, allow_private: bool) -> str | None:
    """Why a delivery to `url` must not be attempted now, or None. With private addresses allowed,
    nothing is checked; otherwise every address the host resolves to must be public."""
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not _public_name(host):
        return "Refused: the URL names a loopback or private address; this server does not send there."
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        return f"Could not resolve the host: {exc}"
    if not infos or not all(_public_address(str(info[4][0])) for info in infos):
        return "Refused: the host resolves to a loopback or private address; this server does not send there."
    return None
