"""Run one call from several threads at the same instant, to test that the database decides races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def race(n: int, fn: Callable[[], Any], refused: type[Exception]) -> list:
    """Each thread's result, or the `refused` exception it raised; any other exception is a bug and is
    left to the thread (so the list comes back short)."""
    barrier = threading.Barrier(n)
    results: list = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(fn())
        except refused as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
