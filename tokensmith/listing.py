"""Filtered, ordered, paged listings: one small query language for every list a dialect serves.

A filter is an RSQL-style expression: `field==value` and `field!=value` terms, `;` between terms for
AND, `,` between groups for OR (AND binds tighter). A value is bare or quoted with `'` or `"`; `*` in
it is a wildcard; matching ignores case. An order is `field [asc|desc]`, several separated by `,`.

The caller names the fields it allows, mapping each name a client writes to a core field; a listing
then becomes SQL through the caller's column table, so filtering and paging happen in the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_

from tokensmith.errors import InvalidValue

DEFAULT_TOP = 100
MAX_TOP = 1000
_TERM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=)(.*)", re.DOTALL)


@dataclass(frozen=True)
class Term:
    field: str
    negate: bool
    value: str


@dataclass(frozen=True)
class Listing:
    """`groups` is an OR of AND-groups of terms; `order` is (field, descending) pairs."""

    groups: tuple[tuple[Term, ...], ...] = ()
    order: tuple[tuple[str, bool], ...] = ()
    skip: int = 0
    top: int = DEFAULT_TOP


def _split(text: str, separators: str) -> list[tuple[str, str]]:
    """Split `text` at any of `separators` outside quotes: (piece, separator that ended it)."""
    pieces: list[tuple[str, str]] = []
    quote = ""
    start = 0
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in separators:
            pieces.append((text[start:index], char))
            start = index + 1
    if quote:
        raise InvalidValue("filter", "A quoted value in the filter is not closed.")
    pieces.append((text[start:], ""))
    return pieces


def _term(text: str, fields: Mapping[str, str]) -> Term:
    match = _TERM.fullmatch(text)
    if match is None:
        raise InvalidValue("filter", f"Filter term {text.strip()!r} is not of the form field==value.")
    name, operator, value = match.group(1), match.group(2), match.group(3).strip()
    if name not in fields:
        known = ", ".join(fields)
        raise InvalidValue("filter", f"Cannot filter on {name!r}; filterable fields: {known}.")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    elif any(quote in value for quote in "'\""):
        raise InvalidValue("filter", f"Filter value {value!r} has a stray quote.")
    if "\x00" in value:
        raise InvalidValue("filter", "Filter values may not contain NUL characters.")
    return Term(field=fields[name], negate=operator == "!=", value=value)


def parse_filter(text: str | None, fields: Mapping[str, str]) -> tuple[tuple[Term, ...], ...]:
    if text is None or not text.strip():
        return ()
    groups: list[tuple[Term, ...]] = []
    current: list[Term] = []
    for piece, separator in _split(text.strip(), ";,"):
        current.append(_term(piece, fields))
        if separator != ";":
            groups.append(tuple(current))
            current = []
    return tuple(groups)


def parse_order(text: str | None, fields: Mapping[str, str]) -> tuple[tuple[str, bool], ...]:
    if text is None or not text.strip():
        return ()
    order = []
    for piece in text.split(","):
        words = piece.split()
        if not words or len(words) > 2 or words[0] not in fields:
            known = ", ".join(fields)
            raise InvalidValue(
                "order_by", f"Cannot order by {piece.strip()!r}; use one of {known} [asc|desc]."
            )
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise InvalidValue("order_by", f"Order direction must be asc or desc, not {words[1]!r}.")
        order.append((fields[words[0]], direction == "desc"))
    return tuple(order)


def make(
    *,
    filter_text: str | None,
    order_text: str | None,
    skip: int | None,
    top: int | None,
    filter_fields: Mapping[str, str],
    order_fields: Mapping[str, str],
) -> Listing:
    skip = 0 if skip is None else skip
    top = DEFAULT_TOP if top is None else top
    if skip < 0:
        raise InvalidValue("skip", "skip must be 0 or more.")
    if not 0 < top <= MAX_TOP:
        raise InvalidValue("top", f"top must be between 1 and {MAX_TOP}.")
    return Listing(
        groups=parse_filter(filter_text, filter_fields),
        order=parse_order(order_text, order_fields),
        skip=skip,
        top=top,
    )


def _like_pattern(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _condition(term: Term, columns: Mapping[str, Any]) -> ColumnElement[bool]:
    column = columns[term.field]
    matches = func.lower(column).like(_like_pattern(term.value), escape="\\")
    return or_(column.is_(None), not_(matches)) if term.negate else matches


def apply(statement: Select[Any], listing: Listing, columns: Mapping[str, Any], tiebreak: Any) -> Select[Any]:
    """`statement` filtered, ordered (then by `tiebreak`, so pages are stable) and paged."""
    if listing.groups:
        statement = statement.where(
            or_(*(and_(*(_condition(term, columns) for term in group)) for group in listing.groups))
        )
    for field, descending in listing.order:
        column = columns[field]
        ordered = column.desc() if descending else column.asc()
        statement = statement.order_by(ordered.nulls_last())
    return statement.order_by(tiebreak).offset(listing.skip).limit(listing.top)
