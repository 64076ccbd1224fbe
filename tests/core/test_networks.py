"""Address allow-lists (tokensmith.networks): checked and normalised when set, enforced on every use."""

import pytest

from tokensmith.errors import InvalidValue
from tokensmith.networks import MAX_ENTRIES, allows, normalise, normalise_entry


@pytest.mark.parametrize(
    ("entry", "spelled"),
    [
        (" 192.168.1.1 ", "192.168.1.1"),
        ("2001:DB8::0:1", "2001:db8::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),  # an IPv4-mapped address is the IPv4 address
        ("10.0.0.7/24", "10.0.0.0/24"),  # host bits are dropped, not refused
        ("2001:db8::/32", "2001:db8::/32"),
        ("10.0.0.1-10.0.0.9", "10.0.0.1-10.0.0.9"),
        ("10.0.0.5-10.0.0.5", "10.0.0.5-10.0.0.5"),
    ],
)
def test_each_form_is_stored_in_one_spelling(entry, spelled):
    assert normalise_entry(entry) == spelled


@pytest.mark.parametrize(
    "entry", ["", "localhost", "10.0.0.256", "10.0.0.9-10.0.0.1", "10.0.0.1-2001:db8::1", "10.0.0.0/33", 5]
)
def test_anything_else_is_refused_naming_the_entry(entry):
    with pytest.raises(InvalidValue) as caught:
        normalise_entry(entry)
    assert caught.value.field == "allowed_ips" and repr(entry) in caught.value.message


def test_a_list_is_deduplicated_in_its_spelling_keeping_order_and_bounded():
    assert normalise(["10.0.0.2", "10.0.0.1", "::ffff:10.0.0.2"]) == ["10.0.0.2", "10.0.0.1"]
    assert len(normalise(["10.0.0.1"] * (MAX_ENTRIES + 5))) == 1
    with pytest.raises(InvalidValue, match=f"At most {MAX_ENTRIES}"):
        normalise([f"10.0.{i // 256}.{i % 256}" for i in range(MAX_ENTRIES + 1)])


def test_an_empty_list_allows_everyone_even_an_unknown_address():
    assert allows(None, None) and allows([], "not an address")


@pytest.mark.parametrize(
    ("client", "allowed"),
    [
        ("10.0.0.1", True),
        ("10.1.2.3", True),
        ("::ffff:10.1.2.3", True),
        ("192.168.5.9", True),
        ("192.168.5.10", False),
        ("2001:db8::42", True),
        ("2001:db9::1", False),
        ("11.0.0.1", False),
        (None, False),  # a list cannot vouch for an address it does not know
        ("unknown", False),
    ],
)
def test_a_list_admits_exactly_the_addresses_its_entries_cover(client, allowed):
    entries = normalise(["10.0.0.1", "10.1.0.0/16", "192.168.5.1-192.168.5.9", "2001:db8::/32"])
    assert allows(entries, client) is allowed


def test_a_range_or_network_of_one_version_never_covers_the_other():
    assert not allows(["0.0.0.0/0"], "::1")
    assert not allows(["::/0"], "127.0.0.1")
    assert not allows(["0.0.0.0-255.255.255.255"], "::1")
