"""What `serve --testing` checks and says before it starts: loopback only (unless told), one worker."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def announce(host: str, workers: int, allow_remote: bool) -> str:
    """The start-up notice, or ValueError saying why testing mode will not start this way."""
    if workers != 1:
        raise ValueError(
            "Testing mode runs one worker: its clock, faults and request journal live in that process."
        )
    if not is_loopback(host) and not allow_remote:
        raise ValueError(
            f"Testing mode listens on loopback only, not {host!r}: its API takes no token and lets anyone "
            "set the clock, replace the data and inject faults. Add --allow-remote "
            "(or TOKENSMITH_TESTING_ALLOW_REMOTE=1) if this is really wanted."
        )
    where = "on loopback only" if is_loopback(host) else f"on {host}, reachable from other machines"
    return (
        f"TESTING MODE ({where}): /api/v1/testing takes no token and controls the clock, the data, "
        "faults and the request journal. Never run it in front of real users."
    )
