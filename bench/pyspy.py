"""Where a tokensmith request spends its time: `python -m bench.pyspy [--scenario validate]`.

Starts tokensmith alone on a bench data set (SQLite by default), drives it with wrk exactly as
`bench.run` does, and samples the server with py-spy (`pip install py-spy`) for the middle of the run.
Writes the collapsed stacks (`*.folded`: open them in speedscope or feed them to flamegraph.pl) and
prints where the on-CPU samples fall: by area (self time, sums to 100 %) and by function (inclusive: the
share of samples with that function anywhere on the stack). py-spy samples without pausing the server
(`--nonblocking`), so the figures under the profiler stay close to the real ones.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench import dataset, load, postgres, scenarios, seeding
from bench.apps import environment
from bench.servers import Cores, Server

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]+)(?::\d+)?\)$")
AREAS = (
    # (label, substring of the frame's file) — first match wins; the project's own code first.
    ("tokensmith (core)", "tokensmith/"),
    ("handlers", "handlers/"),
    ("connexion", "connexion/"),
    ("jsonschema", "jsonschema"),
    ("sqlalchemy", "sqlalchemy/"),
    ("starlette", "starlette/"),
    ("uvicorn", "uvicorn/"),
    ("alembic", "alembic/"),
    ("referencing", "referencing/"),
    ("python stdlib", "python3."),
)


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for part in stack.split(";"):
        match = FRAME.match(part.strip())
        if match:
            out.append((match["func"], match["file"]))
    return out


def _area(file: str) -> str:
    for label, needle in AREAS:
        if needle in file:
            return label
    return file.split("/")[0] or file


def summarise(folded: Path, top: int) -> str:
    """Self time by area and inclusive time by function, from py-spy's raw (collapsed) output."""
    by_area: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        func, file = frames[-1]
        by_area[_area(file)] += count
        self_time[f"{func} ({file})"] += count
        for name in {f"{f} ({p})" for f, p in frames}:
            inclusive[name] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "self time by area:"]
    lines += [f"  {100 * n / total:5.1f} %  {area}" for area, n in by_area.most_common()]
    lines += ["", f"inclusive time, top {top} functions:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", f"self time, top {top} functions:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in self_time.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pyspy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default=scenarios.VALIDATE, choices=list(scenarios.SCENARIOS))
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0, help="sampling time")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--pg-url")
    parser.add_argument(
        "--idle",
        action="store_true",
        help="also sample while the server waits (shows blocking database round trips on the event loop)",
    )
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    load.require_wrk()
    cores = Cores.detect()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = dataset.RESULTS_DIR / f"pyspy-{stamp}"
    _path, pool = seeding.ensure_cache(args.tokens, print)
    schema = None
    base = postgres.base_url(args.pg_url)
    if args.db == "sqlite":
        work = seeding.working_copy(args.tokens, out_dir)
        url = dataset.sqlite_url(work)
    else:
        schema, url = postgres.create(base, args.tokens, print)
    server = Server(
        label="tokensmith",
        target=scenarios.APPS[scenarios.TOKENSMITH].target,
        env={environment.DATABASE_URL: url, environment.SECRET_KEY: dataset.SECRET_KEY.decode()},
        log_path=out_dir / "server.log",
    )
    request = scenarios.SCENARIOS[args.scenario][scenarios.TOKENSMITH](pool)
    lines = load.write_lines(request, out_dir, args.scenario)
    folded = out_dir / f"{args.scenario}.folded"
    try:
        server.start(cores.server)
        server.wait_ready()
        assert server.process is not None
        load.run(server.base_url, request, lines, seconds=2, connections=args.connections, core=cores.load)
        results: list[load.Sample] = []
        driver = threading.Thread(
            target=lambda: results.append(
                load.run(
                    server.base_url,
                    request,
                    lines,
                    seconds=args.seconds + 4,
                    connections=args.connections,
                    core=cores.load,
                )
            )
        )
        driver.start()
        time.sleep(2)
        record = [py_spy, "record", "--pid", str(server.process.pid), "--duration", str(round(args.seconds))]
        record += ["--rate", str(args.rate), "--nonblocking", *(["--idle"] if args.idle else [])]
        subprocess.run(
            [*record, "--format", "raw", "--output", str(folded)],
            check=True,
            timeout=args.seconds + 60,
            capture_output=True,
        )
        driver.join(timeout=args.seconds + 70)
        if results:
            sample = results[0]
            print(
                f"under py-spy: {sample.rps:,.0f} req/s, p50 {sample.p50_ms:.2f} ms, errors {sample.errors}"
            )
    finally:
        server.stop()
        if schema:
            postgres.drop(base, schema)
        if args.db == "sqlite":
            seeding.remove_working_copy(out_dir / f"work-{args.tokens}.db")
    print(summarise(folded, args.top))
    print(f"\ncollapsed stacks: {folded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
