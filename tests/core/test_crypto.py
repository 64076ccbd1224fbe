"""The token format: prefixed, checksummed, high-entropy, stored only as a keyed hash."""

import string
from collections import Counter

from tokensmith import crypto

KEY = b"k" * 32


def test_minted_token_has_prefix_public_id_and_valid_checksum():
    token = crypto.mint("access", KEY)
    assert token.value.startswith("tsa_") and len(token.value) == crypto.TOKEN_LEN
    assert token.public_id == token.value[:16]
    assert crypto.parse(token.value) == crypto.ParsedToken(kind="access", public_id=token.public_id)


def test_secret_part_carries_at_least_128_bits():
    import math

    assert crypto.SECRET_LEN * math.log2(62) >= 128


def test_every_single_character_typo_is_caught_by_the_checksum():
    value = crypto.mint("refresh", KEY).value
    caught = 0
    positions = range(4, len(value))
    for position in positions:
        replacement = "a" if value[position] != "a" else "b"
        typo = value[:position] + replacement + value[position + 1 :]
        caught += crypto.parse(typo) is None
    assert caught == len(positions)


def test_malformed_tokens_are_refused_without_any_lookup():
    value = crypto.mint("session", KEY).value
    for bad in (
        "",
        "tsa_",
        value[:-1],
        value + "x",
        "xyz_" + value[4:],
        value.replace("_", "-"),
        value[:10] + "!" + value[11:],
    ):
        assert crypto.parse(bad) is None


def test_only_the_keyed_hash_is_kept_and_it_depends_on_the_key():
    token = crypto.mint("access", KEY)
    assert token.value not in token.secret_hash
    assert crypto.hash_matches(KEY, token.value, token.secret_hash)
    assert not crypto.hash_matches(b"other-key" * 4, token.value, token.secret_hash)
    assert set(token.secret_hash) <= set(string.hexdigits.lower()) and len(token.secret_hash) == 64


def test_two_tokens_never_share_a_public_id():
    ids = {crypto.mint("access", KEY).public_id for _ in range(2000)}
    assert len(ids) == 2000


def test_random_characters_are_spread_evenly_over_the_whole_alphabet():
    drawn = "".join(crypto.random_base62(62) for _ in range(2000))  # 2,000 draws per character expected
    counts = Counter(drawn)
    assert set(counts) == set(crypto.ALPHABET)
    # A byte-modulo bias (256 % 62) would put the first eight characters ~25% above the rest.
    assert all(1700 < count < 2300 for count in counts.values()), counts.most_common(3)
