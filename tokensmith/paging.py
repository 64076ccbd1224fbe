"""Cursor pagination: newest first, by row id. The cursor is the id the next page starts below, so it
survives inserts and every well-formed cursor means something (a client may also start anywhere)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from tokensmith.errors import InvalidValue

T = TypeVar("T")
MAX_ID = 2**31 - 1  # row ids are INTEGER columns


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode(last_id: int) -> str:
    return str(last_id)


def decode(cursor: str | None) -> int | None:
    """The id below which the next page starts; anything but a positive number is a clear 400."""
    if not cursor:
        return None
    if cursor.isascii() and cursor.isdigit() and 0 < int(cursor) < 2**63:
        return int(cursor) if int(cursor) <= MAX_ID else None  # beyond any id: from the top
    raise InvalidValue("cursor", "A cursor is the next_cursor of a previous page (a positive number).")


def page(rows: list[T], limit: int, id_of: callable) -> Page[T]:  # type: ignore[valid-type]
    """`rows` were fetched with limit + 1: the extra row only says whether another page exists."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode(id_of(rows[-1])) if more and rows else None)
