"""The listing language (tokensmith.listing: filter / orderBy / skip / top), as the core parses it."""

import pytest

from tokensmith.errors import InvalidValue
from tokensmith.listing import Term, make, parse_filter, parse_order

FIELDS = {"name": "name", "subDomain": "sub_domain"}


def test_and_binds_tighter_than_or():
    assert parse_filter("name==a;subDomain!=b,name=='c;d'", FIELDS) == (
        (Term("name", False, "a"), Term("sub_domain", True, "b")),
        (Term("name", False, "c;d"),),
    )


def test_values_may_be_quoted_either_way_and_keep_the_other_quote():
    assert parse_filter("""name=="it's" , name=='say "hi"'""", FIELDS) == (
        (Term("name", False, "it's"),),
        (Term("name", False, 'say "hi"'),),
    )


def test_a_bare_value_may_hold_equals_signs_and_spaces_inside():
    assert parse_filter("name==a==b c ", FIELDS) == ((Term("name", False, "a==b c"),),)


@pytest.mark.parametrize(
    "text", ["name", "name=x", "colour==red", "name=='open", "name==a'b", "==x", "name==x;", "name==\x00"]
)
def test_a_malformed_filter_is_refused(text):
    with pytest.raises(InvalidValue) as caught:
        parse_filter(text, FIELDS)
    assert caught.value.field == "filter"


def test_order_takes_several_fields_and_directions():
    assert parse_order("name DESC, subDomain", FIELDS) == (("name", True), ("sub_domain", False))


@pytest.mark.parametrize("text", ["colour", "name up", "name asc desc", "name,"])
def test_a_malformed_order_is_refused(text):
    with pytest.raises(InvalidValue):
        parse_order(text, FIELDS)


def test_empty_parameters_mean_no_filter_no_order_and_the_default_page():
    listing = make(
        filter_text="  ", order_text="", skip=None, top=None, filter_fields=FIELDS, order_fields=FIELDS
    )
    assert (listing.groups, listing.order, listing.skip, listing.top) == ((), (), 0, 100)


@pytest.mark.parametrize(("skip", "top"), [(-1, 10), (0, 0), (0, 1001)])
def test_paging_bounds_are_enforced(skip, top):
    with pytest.raises(InvalidValue):
        make(filter_text=None, order_text=None, skip=skip, top=top, filter_fields=FIELDS, order_fields=FIELDS)
