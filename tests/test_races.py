"""Concurrency: two requests racing to rotate the same token can never both succeed."""

from handlers.integration.wire import CHAIN
from tests import racing
from tests.integration.helpers import access_token, refresh_token
from tokensmith import refresh_tokens, tokens
from tokensmith.errors import TokenInvalid


def race(n: int, fn) -> list:
    return racing.race(n, fn, TokenInvalid)


def test_racing_regenerations_of_one_refresh_token_yield_exactly_one_new_token(client, core, alice):
    refresh = refresh_token(client)
    results = race(
        6,
        lambda: refresh_tokens.regenerate_refresh_token(
            core, refresh["refresh_token"], alice.id, chain=CHAIN
        ),
    )
    winners = [r for r in results if isinstance(r, tokens.Issued)]
    assert len(results) == 6 and len(winners) == 1
    assert (
        refresh_tokens.validate_refresh_token(core, winners[0].value, alice.id, chain=CHAIN).revoked_at
        is None
    )


def test_racing_access_token_creation_all_succeed_and_all_are_distinct(client, core, alice):
    refresh = refresh_token(client)
    results = race(
        6, lambda: refresh_tokens.create_access_token(core, refresh["refresh_token"], alice.id, chain=CHAIN)
    )
    assert len({r.value for r in results}) == 6


def test_revoke_racing_with_use_never_leaves_a_live_token(client, core, alice):
    refresh = refresh_token(client)
    minted = [access_token(client, refresh)["api_access_token"] for _ in range(5)]
    race(
        2, lambda: refresh_tokens.revoke_access_tokens(core, refresh["refresh_token"], alice.id, chain=CHAIN)
    )
    for value in minted:
        assert refresh_tokens.validate_access_token(core, value, alice.id, chain=CHAIN).revoked_at is not None
