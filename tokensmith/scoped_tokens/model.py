"""The vocabulary of scoped tokens: the token types, what a caller asks for, what an owner sees.

A room of its own because every other part (the rules, the chains, the operations and renewal) and the
dialect that presents them speak these values, and they hold no behaviour beyond being read: no rows,
no clock. Type names here are the core's own; a dialect maps them to its words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tokensmith.errors import TokensmithError


@dataclass(frozen=True)
class TokenType:
    """How a type of token lives: renewable (access + refresh pair) or fixed (one token, chosen expiry)."""

    name: str
    renewable: bool
    scoped: bool = False
    default_lifetime: timedelta | None = None  # fixed types only
    max_lifetime: timedelta | None = None  # fixed types only


ALL = TokenType("all", renewable=True)
CUSTOM = TokenType("custom", renewable=True, scoped=True)
APPLIANCE = TokenType("appliance", renewable=True)
PROVISIONING = TokenType("provisioning", False, False, timedelta(days=30), timedelta(days=365))
RECOVERY = TokenType("recovery", False, False, timedelta(days=7), timedelta(days=14))
TYPES: dict[str, TokenType] = {t.name: t for t in (ALL, CUSTOM, APPLIANCE, PROVISIONING, RECOVERY)}


class RenewRefused(TokensmithError):
    """The presented pair cannot be renewed: unknown, not a pair, deleted, expired, or a lost race."""


class ChainRevoked(RenewRefused):
    """An older pair of a chain was presented: every credential of the chain has been revoked."""


@dataclass(frozen=True)
class Changes:
    """What a caller asks for at create (unset fields take defaults) or edit (unset fields stay)."""

    name: str | None = None
    type: str | None = None
    renewable_until: datetime | None = None
    expires_at: datetime | None = None
    endpoints: Sequence[str] | None = None
    allowed_ips: Sequence[str] | None = None


@dataclass(frozen=True)
class Entry:
    """One token as its owner sees it; never holds a secret."""

    id: int
    user_id: int
    name: str
    type: TokenType
    created_at: datetime
    expires_at: datetime | None
    renewable_until: datetime | None
    refresh_expires_at: datetime | None
    last_used_at: datetime | None
    endpoints: tuple[str, ...] = ()
    allowed_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssuedPair:
    """A new access token (and refresh token, for renewable types): shown to the client this once."""

    entry: Entry
    access: str
    refresh: str | None = field(default=None)
