"""`bench/measure_app_build.py` runs and reports both figures (a check that the script works, never a timing
assertion: docs/performance.md quotes what it prints)."""

from __future__ import annotations

import re

import pytest

from bench import measure_app_build


def test_the_app_build_measurement_reports_the_first_and_the_later_builds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["measure_app_build.py", "2"])
    measure_app_build.main()
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"first build in this process: \d+ ms", lines[0])
    for line, cost in zip(lines[1:], ("the served", "the test suite's"), strict=True):
        assert re.fullmatch(
            rf"later builds at {cost} Argon2 cost: median \d+ ms, min \d+ ms, max \d+ ms \(of 2\)", line
        )
