"""Token format, keyed hashing and constant-time comparison: every secret tokensmith mints passes here.

A token looks like `tsa_` + 12-character public id + 32-character secret + 6-character checksum, all
base62. The prefix names the kind (so leaked tokens are easy to scan for, and a session token is told
from an access token without a lookup); the checksum (CRC32) lets a mistyped or made-up token be refused
before any database read; the public id is the row's non-secret handle; only HMAC-SHA256(server key,
token) is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib
from dataclasses import dataclass

ALPHABET = string.digits + string.ascii_letters  # base62
PUBLIC_LEN = 12  # ~71 bits: a handle, not a secret
SECRET_LEN = 32  # ~190 bits from `secrets`
CHECKSUM_LEN = 6

PREFIXES: dict[str, str] = {
    "refresh": "tsr",
    "access": "tsa",
    "session": "tss",
}
KIND_BY_PREFIX = {prefix: kind for kind, prefix in PREFIXES.items()}
TOKEN_LEN = 3 + 1 + PUBLIC_LEN + SECRET_LEN + CHECKSUM_LEN
_ALPHABET_SET = frozenset(ALPHABET)


@dataclass(frozen=True, slots=True)
class ParsedToken:
    kind: str
    public_id: str


@dataclass(frozen=True, slots=True)
class MintedToken:
    """A fresh secret: `value` is shown to the client once; only `secret_hash` is stored."""

    value: str
    public_id: str
    secret_hash: str


def random_base62(length: int) -> str:
    """Uniform base62 from `secrets`: a byte below 248 (4 × 62) maps evenly onto the alphabet, the rest
    are dropped. One call to the OS, where `secrets.choice` per character made 44 (~60 µs a token)."""
    chosen: list[str] = []
    while len(chosen) < length:
        chosen += [ALPHABET[byte % 62] for byte in secrets.token_bytes(length + 8) if byte < 248]
    return "".join(chosen[:length])


def _checksum(text: str) -> str:
    number = zlib.crc32(text.encode())
    digits = []
    for _ in range(CHECKSUM_LEN):
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits))


def keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def hash_matches(key: bytes, value: str, stored_hash: str) -> bool:
    """Constant-time: the comparison takes as long for a near miss as for a far one."""
    return hmac.compare_digest(keyed_hash(key, value), stored_hash)


def mint(kind: str, key: bytes) -> MintedToken:
    prefix = PREFIXES[kind]
    public = random_base62(PUBLIC_LEN)
    body = f"{prefix}_{public}{random_base62(SECRET_LEN)}"
    value = body + _checksum(body)
    return MintedToken(value=value, public_id=f"{prefix}_{public}", secret_hash=keyed_hash(key, value))


def parse(value: str) -> ParsedToken | None:
    """The token's kind and public id, or None when it cannot be one of ours (no database read needed)."""
    if len(value) != TOKEN_LEN or value[3] != "_":
        return None
    kind = KIND_BY_PREFIX.get(value[:3])
    if kind is None or not _ALPHABET_SET.issuperset(value[4:]):
        return None
    body, checksum = value[:-CHECKSUM_LEN], value[-CHECKSUM_LEN:]
    if not hmac.compare_digest(_checksum(body), checksum):
        return None
    return ParsedToken(kind=kind, public_id=value[: 4 + PUBLIC_LEN])


def display_prefix(public_id: str) -> str:
    """What an inventory may show of a token: its public id, which is where every token starts."""
    return public_id
