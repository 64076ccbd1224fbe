"""Typed, scoped, rotating access tokens that their owner manages from a login session.

One *entry* is what the owner sees in a list and edits or deletes by id: a chain of credentials sharing a
family. A renewable type holds a short-lived access token plus a refresh token; renewing presents the
latest pair and rotates both (same family, same entry). A fixed type holds one access token with a
chosen expiry and no refresh token. A scoped type reaches only the API endpoints listed on it.

The rooms, each importing only those before it:

- `model`   — the token types, what a caller asks for (`Changes`), what an owner sees (`Entry`);
- `rules`   — who may manage tokens, names, endpoints and time bounds, pure;
- `chains`  — an entry's credentials: minting a link, finding an entry, reading entries back;
- `manage`  — create, list, edit and delete from a login session;
- `renewal` — renewing a pair, and revoking the chain when an old pair is replayed.

Times are the core's datetimes; the dialect decides their encoding. Callers use the names below.
"""

from tokensmith.scoped_tokens.chains import adopt
from tokensmith.scoped_tokens.manage import create, delete, list_for, update
from tokensmith.scoped_tokens.model import (
    TYPES,
    ChainRevoked,
    Changes,
    Entry,
    IssuedPair,
    RenewRefused,
    TokenType,
)
from tokensmith.scoped_tokens.renewal import renew

__all__ = [
    "TYPES",
    "ChainRevoked",
    "Changes",
    "Entry",
    "IssuedPair",
    "RenewRefused",
    "TokenType",
    "adopt",
    "create",
    "delete",
    "list_for",
    "renew",
    "update",
]
