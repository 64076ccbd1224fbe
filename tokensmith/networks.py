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


# --- trusted proxies -------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_FORWARDED_ENTRIES = 64  # a longer X-Forwarded-For chain is read from its right end only
MAX_ADDRESS_TEXT = 64


def parse_networks(text: str) -> tuple[str, ...]:
    """`TOKENSMITH_TRUSTED_PROXIES`: comma-separated addresses and CIDR networks, IPv4 or IPv6, in their
    normalised spelling (a bare address is its /32 or /128); ValueError naming a bad entry."""
    found: list[str] = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            if "/" in entry:
                network = ipaddress.ip_network(entry, strict=False)
            else:
                network = ipaddress.ip_network(_address(entry))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or a CIDR network (10.0.0.0/8, 2001:db8::/32)"
            ) from None
        if str(network) not in found:
            found.append(str(network))
    return tuple(found)


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` is believed, and the client address that follows from it.

    A proxy appends the address it received the request from to `X-Forwarded-For`; everything to the
    left of that was written by whoever sent the request, so it proves nothing. Reading from the right,
    each entry is believed only while the hop that wrote it is a trusted proxy: the client is the
    rightmost entry that is not one of ours (as nginx's `real_ip_recursive`, Apache's `mod_remoteip` and
    uvicorn's own proxy headers do). A direct peer that is not a trusted proxy is the client, whatever
    it sends.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(e, strict=False) for e in entries)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: Address) -> bool:
        return any(address.version == network.version and address in network for network in self.networks)

    def client(self, peer: str | None, forwarded: list[str]) -> str | None:
        """The client's address, given the direct peer's and the `X-Forwarded-For` header values in
        the order received."""
        if not self.networks or peer is None:
            return peer
        try:
            hop = _address(peer)
        except ValueError:
            return peer  # not an IP peer (a Unix socket): nothing to trust
        entries = [entry.strip() for value in forwarded for entry in value.split(",") if entry.strip()]
        for entry in reversed(entries[-MAX_FORWARDED_ENTRIES:]):
            if not self.trusts(hop):
                break
            try:
                hop = _address(_without_port(entry))
            except ValueError:
                return entry[:MAX_ADDRESS_TEXT] or None  # what our proxy wrote, though not an address
        return str(hop)


def _without_port(entry: str) -> str:
    """`[2001:db8::1]:443` → `2001:db8::1`, `192.0.2.1:443` → `192.0.2.1` (some proxies add the port)."""
    if entry.startswith("[") and "]" in entry:
        return entry[1 : entry.index("]")]
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry
