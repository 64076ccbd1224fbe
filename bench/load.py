"""Driving a server with wrk (Debian's `wrk` package): one measured run, parsed into a `Sample`.

wrk is C with an event loop per thread: one thread on its own core saturates one uvicorn worker with
room to spare, which a Python load generator on a two-core machine would not. The request pool goes
through `bench/wrk_script.lua`, which formats every request once and cycles through them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.servers import Server, pinned

SCRIPT = Path(__file__).with_name("wrk_script.lua")
INSTALL_HINT = "wrk is not installed. Install it with: apt-get update && apt-get install -y wrk"
RESULT_MARK = "BENCH_RESULT "


@dataclass(frozen=True)
class Request:
    """What one scenario sends: the request line, and per pool entry a JSON body or a header value."""

    method: str
    path: str
    lines: list[str]
    header: str | None = None


@dataclass(frozen=True)
class Sample:
    """One measured run of one app on one scenario. `errors` counts every failed request: `timeouts`
    (no answer within wrk's 5 s), `status_errors` (an answer that was not 2xx/3xx) and socket errors."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    timeouts: int
    status_errors: int

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


def write_lines(request: Request, directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.lines"
    path.write_text("\n".join(request.lines) + "\n")
    return path


def run(
    base_url: str,
    request: Request,
    lines_file: Path,
    *,
    seconds: float,
    connections: int,
    core: int | None,
) -> Sample:
    """One wrk run of `seconds` against `base_url`; bounded by wrk's own duration plus a margin."""
    command = [
        require_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(SCRIPT),
        base_url,
    ]
    env = {
        **os.environ,
        "BENCH_METHOD": request.method,
        "BENCH_PATH": request.path,
        "BENCH_LINES": str(lines_file),
        "BENCH_HEADER": request.header or "",
    }
    done = subprocess.run(
        pinned(command, core), env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            data = json.loads(line.removeprefix(RESULT_MARK))
            break
    else:
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    elapsed = data["duration_us"] / 1e6
    errors = sum(
        data[key] for key in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return Sample(
        requests=data["requests"],
        seconds=round(elapsed, 3),
        rps=round(data["requests"] / elapsed, 1) if elapsed else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        timeouts=data["timeouts"],
        status_errors=data["status_errors"],
    )


def measured(
    server: Server, request: Request, lines_file: Path, *, seconds: float, connections: int, core: int | None
) -> tuple[Sample, float]:
    """One run against `server`, and the server's CPU per request during it (µs)."""
    cpu_before = server.cpu_seconds()
    sample = run(server.base_url, request, lines_file, seconds=seconds, connections=connections, core=core)
    cpu = server.cpu_seconds() - cpu_before
    return sample, round(cpu / sample.requests * 1e6, 1) if sample.requests else 0.0
