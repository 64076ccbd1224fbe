"""Text that can be stored (tokensmith.text): NUL and lone surrogates never reach the database."""

import pytest

from tokensmith.errors import InvalidValue
from tokensmith.text import require_storable, safe_key, storable, tidy


@pytest.mark.parametrize("value", [None, "", "plain", "naïve ✓", "emoji 😀"])
def test_ordinary_text_is_storable(value):
    assert storable(value)
    assert require_storable("name", value) == value


@pytest.mark.parametrize("value", ["a\x00b", "\x00", "ü\x00", "lone \ud800 surrogate", "\udcff"])
def test_nul_or_a_lone_surrogate_is_not(value):
    assert not storable(value)
    with pytest.raises(InvalidValue) as caught:
        require_storable("name", value)
    assert caught.value.field == "name"


def test_tidy_trims_ascii_whitespace_only():
    assert tidy(" \t\r\n\f\vname \n") == "name"
    assert tidy("\u00a0name\u2003") == "\u00a0name\u2003"  # a no-break or em space is part of the name


def test_a_key_built_from_client_text_spells_nul_out():
    assert safe_key("a\x00b") == "a\\0b"
    assert "\x00" not in safe_key("\x00\x00")
