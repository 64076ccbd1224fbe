"""How long building the app takes, first in a process and after (figures: docs/performance.md).

The test suite builds one app per test, so this is most of a test's fixed cost. The first build in a
process also checks every spec against the OpenAPI meta-schema; later builds skip that check for a
spec already found valid (`handlers.connexion_adapter`). Every build hashes one dummy password at its
Argon2 cost (`tokensmith.passwords`), so builds are measured at `tokensmith serve`'s cost and at the
test suite's cheap one (`tests.conftest.TEST_ARGON2`).

Run: .venv/bin/python -m bench.measure_app_build [BUILDS]
"""

import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from handlers.app import create_app
from tests.conftest import TEST_ARGON2
from tokensmith.config import Settings
from tokensmith.core import Core


def build_seconds(settings: Settings) -> float:
    began = time.perf_counter()
    app = create_app(settings, migrate=False)
    elapsed = time.perf_counter() - began
    app.core.db.dispose()
    return elapsed


def milliseconds(seconds: list[float]) -> str:
    return (
        f"median {statistics.median(seconds) * 1000:.0f} ms, min {min(seconds) * 1000:.0f} ms, "
        f"max {max(seconds) * 1000:.0f} ms (of {len(seconds)})"
    )


def main() -> None:
    builds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(database_url=f"sqlite:///{Path(directory) / 'build.db'}", secret_key=b"b" * 32)
        core = Core.open(settings)  # migrated here, so no build below includes the migration
        core.db.upgrade()
        core.db.dispose()
        first = build_seconds(settings)
        served = [build_seconds(settings) for _ in range(builds)]
        cheap = replace(settings, argon2=TEST_ARGON2)
        tested = [build_seconds(cheap) for _ in range(builds)]
    print(f"first build in this process: {first * 1000:.0f} ms")
    print(f"later builds at the served Argon2 cost: {milliseconds(served)}")
    print(f"later builds at the test suite's Argon2 cost: {milliseconds(tested)}")


if __name__ == "__main__":
    main()
