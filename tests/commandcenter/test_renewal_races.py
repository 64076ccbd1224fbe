"""Racing renewals on the real clock: exactly one wins, the winner's pair keeps working, and no loser is
mistaken for a replay (which would revoke the winner's new pair with the rest of the chain)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

from handlers.commandcenter.wire import ACCESS_LIFESPAN
from tests import racing
from tests.commandcenter.helpers import bearer, created, renew, session, who_am_i
from tokensmith import scoped_tokens
from tokensmith.clock import SystemClock

RACERS = 6
ROUNDS = 8


class StartingLine:
    """The real clock, except that each thread's first reading waits until all racers have taken
    theirs: every racer has begun its request before any of them gets further, the situation a
    "concurrent renewal" names, made certain instead of left to the thread scheduler."""

    def __init__(self, racers: int) -> None:
        self._barrier = threading.Barrier(racers)
        self._seen = threading.local()

    def now(self) -> datetime:
        moment = SystemClock().now()
        if not getattr(self._seen, "flag", False):
            self._seen.flag = True
            self._barrier.wait(timeout=30)
        return moment


def test_racing_renewals_on_the_real_clock_keep_the_winners_pair(client, core, clock, alice):
    clock.set(datetime.now(UTC))
    pair = created(client, session(client))
    access, refresh = pair["accessToken"], pair["refreshToken"]
    for _ in range(ROUNDS):
        real = dataclasses.replace(core, clock=StartingLine(RACERS))
        results = racing.race(
            RACERS,
            lambda c=real, a=access, r=refresh: scoped_tokens.renew(
                c, a, r, dialect="commandcenter", access_lifespan_setting=ACCESS_LIFESPAN, client=None
            ),
            scoped_tokens.RenewRefused,
        )
        winners = [r for r in results if isinstance(r, scoped_tokens.IssuedPair)]
        assert len(results) == RACERS and len(winners) == 1
        assert not any(isinstance(r, scoped_tokens.ChainRevoked) for r in results)
        access, refresh = winners[0].access, winners[0].refresh
        clock.set(datetime.now(UTC))
        assert who_am_i(client, bearer(access)).status_code == 200


def test_a_pair_superseded_before_the_request_began_is_a_replay_even_in_the_same_clock_tick(
    client, core, alice
):
    """The movable clock stands still: the replay and the renewal it replays share one timestamp."""
    first = created(client, session(client))
    second = renew(client, first["accessToken"], first["refreshToken"]).json()
    replay = renew(client, first["accessToken"], first["refreshToken"]).json()
    assert replay["errorCode"] == 7 and "chain has been revoked" in replay["errorMessage"]
    assert who_am_i(client, bearer(second["accessToken"])).status_code == 401
