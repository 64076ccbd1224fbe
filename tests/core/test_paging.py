"""Cursor pagination (tokensmith.paging): what a cursor may be, and when there is a next page."""

import pytest

from tokensmith.errors import InvalidValue
from tokensmith.paging import MAX_ID, Page, decode, encode, page


def test_a_cursor_is_the_id_the_next_page_starts_below():
    assert decode(encode(42)) == 42
    assert decode(None) is None and decode("") is None


def test_a_cursor_beyond_any_row_id_starts_from_the_top():
    assert decode(str(MAX_ID)) == MAX_ID
    assert decode(str(MAX_ID + 1)) is None
    assert decode(str(2**63 - 1)) is None


@pytest.mark.parametrize("cursor", ["0", "-1", "abc", "1.5", " 7", "٣", str(2**63)])
def test_anything_but_a_positive_number_is_a_clear_error(cursor):
    with pytest.raises(InvalidValue) as caught:
        decode(cursor)
    assert caught.value.field == "cursor"


def test_the_extra_row_fetched_only_says_that_another_page_exists():
    rows = [{"id": 9}, {"id": 8}, {"id": 7}]
    assert page(rows, 2, lambda row: row["id"]) == Page(items=rows[:2], next_cursor="8")
    assert page(rows[:2], 2, lambda row: row["id"]) == Page(items=rows[:2], next_cursor=None)
    assert page([], 2, lambda row: row["id"]) == Page(items=[], next_cursor=None)
