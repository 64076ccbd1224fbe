"""The one clock of a server in testing mode: real time plus an offset, or frozen at a moment.

Every time rule reads `Core.clock`; in testing mode that clock is a `ControlledClock`, and the testing
API is the only thing that moves it. Running (not frozen), it follows the system's time from wherever it
was last set, so a server left alone still ages its tokens; frozen, it stands still until advanced.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from tokensmith.clock import Clock, SystemClock


@dataclass(frozen=True)
class ClockState:
    """What `reset` puts back: the offset from system time, or the frozen moment."""

    offset: timedelta
    frozen_at: datetime | None


class ControlledClock:
    """Set, freeze, unfreeze and advance; thread-safe (handlers call `now()` from worker threads)."""

    def __init__(self, source: Clock | None = None) -> None:
        self._source = source or SystemClock()
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        frozen = self._frozen_at
        return frozen if frozen is not None else self._source.now() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def set(self, moment: datetime) -> datetime:
        """Jump to `moment` (an aware datetime); a frozen clock stays frozen there."""
        if moment.tzinfo is None:
            raise ValueError("the clock is set to an aware moment (with a UTC offset)")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = moment
            else:
                self._offset = moment - self._source.now()
        return moment

    def freeze(self, frozen: bool = True) -> None:
        """Stop the clock where it stands (or let it run on from where it stands)."""
        with self._lock:
            if frozen and self._frozen_at is None:
                self._frozen_at = self._source.now() + self._offset
            elif not frozen and self._frozen_at is not None:
                self._offset = self._frozen_at - self._source.now()
                self._frozen_at = None

    def advance(self, seconds: float) -> datetime:
        """Move forward (never back: a rule that saw a moment must not see an earlier one after it)."""
        if not seconds >= 0:  # also refuses nan
            raise ValueError("the clock only moves forward")
        step = timedelta(seconds=seconds)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += step
            else:
                self._offset += step
        return self.now()

    def state(self) -> ClockState:
        with self._lock:
            return ClockState(self._offset, self._frozen_at)

    def restore(self, state: ClockState) -> None:
        with self._lock:
            self._offset, self._frozen_at = state.offset, state.frozen_at
