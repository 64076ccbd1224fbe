"""Address allow-lists: a credential may be limited to the client addresses it is used from.

An entry is one address (`192.168.1.1`, `2001:db8::1`), a CIDR network (`10.0.0.0/24`, `2001:db8::/32`) or
an inclusive range (`192.168.1.1-192.168.1.255`). Lists are checked when a credential is created or edited
(so a typo is a clear error then, not a silent lock-out later) and stored in a normalised spelling; they
are enforced on every use of the credential, in every dialect.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from tokensmith.errors import InvalidValue

FIELD = "allowed_ips"
MAX_ENTRIES = 100

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address:
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalise_entry(entry: str) -> str:
    """The canonical spelling of one entry; InvalidValue naming it when it is none of the three forms."""
    text = entry.strip() if isinstance(entry, str) else ""
    try:
        if "-" in text:
            first_text, last_text = text.split("-", 1)
            first, last = _address(first_text), _address(last_text)
            if first.version != last.version or int(first) > int(last):
                raise ValueError("reversed or mixed range")
            return f"{first}-{last}"
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(_address(text))
    except ValueError:
        raise InvalidValue(
            FIELD,
            f"{entry!r} is not an IP address, a CIDR network (10.0.0.0/24) "
            "or an address range (10.0.0.1-10.0.0.9).",
        ) from None


def normalise(entries: Iterable[str]) -> list[str]:
    """A checked, de-duplicated allow-list in the order given."""
    result: list[str] = []
    for entry in entries:
        spelled = normalise_entry(entry)
        if spelled not in result:
            result.append(spelled)
    if len(result) > MAX_ENTRIES:
        raise InvalidValue(FIELD, f"At most {MAX_ENTRIES} entries are allowed.")
    return result


def _matches(entry: str, address: Address) -> bool:
    if "-" in entry:
        first_text, last_text = entry.split("-", 1)
        first, last = _address(first_text), _address(last_text)
        return first.version == address.version and int(first) <= int(address) <= int(last)
    if "/" in entry:
        network = ipaddress.ip_network(entry, strict=False)
        return network.version == address.version and address in network
    return _address(entry) == address


def allows(entries: Iterable[str] | None, client: str | None) -> bool:
    """True when the list is empty, or when `client` is an address one of its entries covers.

    A client whose address is unknown or not an IP address is refused by a non-empty list: the list is a
    restriction, so anything it cannot vouch for stays out.
    """
    entries = list(entries or ())
    if not entries:
        return True
    try:
        address = _address(client or "")
    except ValueError:
        return False
    return any(_matches(entry, address) for entry in entries)
