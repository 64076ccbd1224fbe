"""The one clock (tokensmith.clock): the system's in production, a movable one in tests."""

from datetime import UTC, datetime, timedelta

from tokensmith.clock import MovableClock, SystemClock


def test_a_movable_clock_stands_still_until_told_to_move():
    clock = MovableClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_it_moves_by_a_delta_or_by_keywords_and_returns_the_new_time():
    clock = MovableClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.advance(timedelta(hours=1)) == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert clock.advance(minutes=30, seconds=1) == datetime(2026, 1, 1, 1, 30, 1, tzinfo=UTC)
    clock.set(datetime(2030, 6, 1, tzinfo=UTC))
    assert clock.now() == datetime(2030, 6, 1, tzinfo=UTC)


def test_its_default_start_is_aware_and_has_microseconds_so_encodings_are_exercised():
    start = MovableClock().now()
    assert start.tzinfo is UTC and start.microsecond != 0


def test_the_system_clock_is_aware_utc():
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.tzinfo is UTC and before <= now <= datetime.now(UTC)
