"""The one command: `.venv/bin/python -m bench.run [--quick] [--db sqlite|postgresql|both] [--tokens N,M]`.

For each database it prepares one data set per token count (a copy of the cached SQLite file, or a
PostgreSQL schema loaded from it), starts every app on every data set (one uvicorn worker each, pinned
to one core; wrk pinned to the other), checks that they answer correctly and alike, warms them up, then
runs the rounds: in each round every (token count, scenario, app) once, in an order rotated per round.
It prints the table and the issue's ratios and writes `bench/results/<git sha>-<timestamp>.json`.
`--compare OLD.json NEW.json` prints two such files side by side. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import checks, dataset, load, machine, postgres, report, scenarios, seeding
from bench.apps import environment
from bench.apps.environment import libpq_url
from bench.seed_tokensmith import seeded_max_id
from bench.servers import Cores, Server, app_server, running
from tokensmith import crypto

SQLITE, POSTGRESQL = "sqlite", "postgresql"
REFERENCE_MODULES = {
    scenarios.FASTAPI: "fastapi",
    scenarios.SIMPLEJWT: "rest_framework_simplejwt",
}
INSTALL_HINT = "install the reference apps with: .venv/bin/pip install -e '.[bench]'"


_STARTED = time.monotonic()


def elapsed() -> str:
    seconds = int(time.monotonic() - _STARTED)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def log(message: str) -> None:
    print(message, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="SQLite, 1,000 tokens, 2 short rounds (~1 min)")
    parser.add_argument("--db", choices=[SQLITE, POSTGRESQL, "both"], help="default: both (quick: sqlite)")
    parser.add_argument("--tokens", help="live token counts, comma-separated (default 1000,1000000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 2)")
    parser.add_argument("--seconds", type=float, help="length of one measured run (default 6, quick 3)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds per app and scenario (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--scenarios", default=",".join(scenarios.SCENARIOS), help="which scenarios")
    parser.add_argument("--apps", default=",".join(scenarios.RUN_APPS), help="which apps")
    parser.add_argument(
        "--pg-url", help=f"PostgreSQL server URL (default ${postgres.URL_ENV} or {postgres.DEFAULT_URL})"
    )
    parser.add_argument(
        "--validate-responses", action="store_true", help="tokensmith with response validation"
    )
    parser.add_argument("--out", type=Path, help="result file (default bench/results/<sha>-<time>.json)")
    parser.add_argument(
        "--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="compare two result files"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.db = args.db or (SQLITE if quick else "both")
    args.tokens = [int(x) for x in (args.tokens or ("1000" if quick else "1000,1000000")).split(",")]
    args.rounds = args.rounds or (2 if quick else 3)
    args.seconds = args.seconds or (3.0 if quick else 6.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.apps = [a for a in args.apps.split(",") if a]
    for name in args.scenarios:
        if name not in scenarios.SCENARIOS:
            parser.error(f"unknown scenario {name!r}")
    for name in args.apps:
        if name not in scenarios.APPS:
            parser.error(f"unknown app {name!r}")
    if scenarios.ASYNC_FLOOR in args.apps and args.db != POSTGRESQL:
        parser.error(f"{scenarios.ASYNC_FLOOR} serves PostgreSQL only: add --db postgresql")
    if args.rounds < 1 or args.seconds < 1 or min(args.tokens) < 1:
        parser.error("rounds, seconds and token counts must be positive")
    return args


def check_tools(apps: list[str]) -> None:
    load.require_wrk()
    missing = [m for app, m in REFERENCE_MODULES.items() if app in apps and not importlib.util.find_spec(m)]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: {INSTALL_HINT}")


def delete_issued(url: str, tokens: int) -> None:
    """Remove the access tokens a run of `issue` created, so every run sees the seeded table size."""
    path = environment.sqlite_path(url)
    sql = "DELETE FROM credentials WHERE id > {p}"
    if path:
        with closing(sqlite3.connect(path, timeout=30)) as conn, conn:
            conn.execute(sql.format(p="?"), (seeded_max_id(tokens),))
    else:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(sql.format(p="%s"), (seeded_max_id(tokens),))


def freshen_last_used(url: str, pool: dataset.Pool) -> None:
    """Mark every pool token used just now, before a run of a scenario that records use (`whoami`).

    The app writes `last_used_at` at most once a minute per token, so whichever app ran such a scenario
    first after a minute had passed would pay a write for every token in the pool (1,000 commits; on
    PostgreSQL each waits for a WAL flush) and the apps after it none. Fresh marks before every run
    treat every app alike; the write path itself is still exercised by the pre-flight.
    """
    ids = [parsed.public_id for token, _owner in pool.access if (parsed := crypto.parse(token))]
    path = environment.sqlite_path(url)
    if path:
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        with closing(sqlite3.connect(path, timeout=30)) as conn, conn:
            conn.executemany(
                "UPDATE credentials SET last_used_at = ? WHERE public_id = ?", [(now, i) for i in ids]
            )
    else:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("UPDATE credentials SET last_used_at = now() WHERE public_id = ANY(%s)", (ids,))


@contextmanager
def data_sets(
    db: str, counts: list[int], args: argparse.Namespace, run_dir: Path
) -> Iterator[dict[int, str]]:
    """URL per token count for this database; everything made here is removed on the way out."""
    urls: dict[int, str] = {}
    with ExitStack() as stack:
        for n in counts:
            if db == SQLITE:
                path = seeding.working_copy(n, run_dir)
                stack.callback(seeding.remove_working_copy, path)
                urls[n] = dataset.sqlite_url(path)
            else:
                base = postgres.base_url(args.pg_url)
                schema, urls[n] = postgres.create(base, n, log)
                stack.callback(postgres.drop, base, schema)
        yield urls


@contextmanager
def servers(
    db: str, urls: dict[int, str], args: argparse.Namespace, cores: Cores, run_dir: Path
) -> Iterator[dict[tuple[int, str], Server]]:
    """Every app on every data set, started and ready; all stopped on the way out."""
    planned = {
        (n, name): app_server(
            scenarios.APPS[name],
            f"{name}@{db}/{n}",
            url,
            run_dir / "logs" / f"{db}-{n}-{name}.log",
            args.validate_responses,
        )
        for n, url in urls.items()
        for name in args.apps
    }
    with running(planned, cores.server) as started:
        yield started


def run_database(
    db: str, args: argparse.Namespace, pools: dict[int, dataset.Pool], cores: Cores, run_dir: Path
) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = []
    log(f"\n== {elapsed()} {db}: preparing {', '.join(f'{n:,}' for n in args.tokens)} tokens")
    with data_sets(db, args.tokens, args, run_dir) as urls, servers(db, urls, args, cores, run_dir) as live:
        jobs: list[tuple[int, str, str, load.Request, Path]] = []
        for n in args.tokens:
            for scenario in args.scenarios:
                senders = {
                    app: checks.http_sender(live[(n, app)].base_url)
                    for app in scenarios.SCENARIOS[scenario]
                    if app in args.apps
                }
                problems = checks.check_scenario(scenario, pools[n], senders)
                if scenario in scenarios.WRITES_ROWS:
                    delete_issued(urls[n], n)
                if problems:
                    raise SystemExit("pre-flight check failed:\n" + "\n".join(problems))
                for app in senders:
                    request = scenarios.SCENARIOS[scenario][app](pools[n])
                    lines = load.write_lines(request, run_dir / "requests", f"{db}-{n}-{scenario}-{app}")
                    jobs.append((n, scenario, app, request, lines))
        # Runs whose figures are divided by each other sit next to each other (same scenario and app at
        # each token count, then the next app), and odd rounds run in reverse (A B B A …), so a drift
        # in the machine's other load between two paired runs cancels out over the rounds.
        jobs.sort(key=lambda job: (args.scenarios.index(job[1]), args.apps.index(job[2]), job[0]))
        log(f"   pre-flight: every app answers 200, the twins answer tokensmith's bodies ({len(jobs)} runs)")
        if args.warmup > 0:
            for n, scenario, app, request, lines in jobs:
                if scenario in scenarios.RECORDS_USE:
                    freshen_last_used(urls[n], pools[n])
                load.run(
                    live[(n, app)].base_url,
                    request,
                    lines,
                    seconds=args.warmup,
                    connections=args.connections,
                    core=cores.load,
                )
                if scenario in scenarios.WRITES_ROWS:
                    delete_issued(urls[n], n)
        for round_index in range(args.rounds):
            for n, scenario, app, request, lines in jobs if round_index % 2 == 0 else jobs[::-1]:
                if scenario in scenarios.RECORDS_USE:
                    freshen_last_used(urls[n], pools[n])
                sample, cpu_us = load.measured(
                    live[(n, app)],
                    request,
                    lines,
                    seconds=args.seconds,
                    connections=args.connections,
                    core=cores.load,
                )
                if scenario in scenarios.WRITES_ROWS:
                    delete_issued(urls[n], n)
                samples.append(
                    {"db": db, "tokens": n, "scenario": scenario, "app": app, "round": round_index}
                    | sample.to_json()
                    | {"cpu_us": cpu_us}
                )
                flag = f"  ERRORS {sample.errors}" if sample.errors else ""
                log(
                    f"   {elapsed()} round {round_index + 1}/{args.rounds} {n:>9,} {scenario:<8} {app:<10} "
                    f"{sample.rps:>7,.0f} req/s  p50 {sample.p50_ms:6.2f} ms  "
                    f"p99 {sample.p99_ms:7.2f} ms  cpu {cpu_us:6.0f} µs/req{flag}"
                )
    return samples


def estimate_seconds(args: argparse.Namespace) -> float:
    per_count = sum(
        len([a for a in apps if a in args.apps])
        for s, apps in scenarios.SCENARIOS.items()
        if s in args.scenarios
    )
    dbs = 2 if args.db == "both" else 1
    runs = dbs * len(args.tokens) * per_count
    return runs * (args.rounds * (args.seconds + 0.5) + args.warmup + 0.5) + dbs * 15


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.compare:
        print(report.compare(*args.compare))
        return 0
    check_tools(args.apps)
    signal.signal(signal.SIGTERM, _interrupt)
    dbs = [SQLITE, POSTGRESQL] if args.db == "both" else [args.db]
    if POSTGRESQL in dbs:
        problem = postgres.available(postgres.base_url(args.pg_url))
        if problem:
            raise SystemExit(f"PostgreSQL is not reachable ({problem}); run with --db sqlite or set --pg-url")
        postgres.drop_stale_schemas(postgres.base_url(args.pg_url), log)
    cores = Cores.detect()
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    run_dir = dataset.RESULTS_DIR / f"run-{stamp}"
    git = machine.git()
    log(
        f"tokensmith bench at {git['sha']}{' (+uncommitted changes)' if git['dirty'] else ''}; "
        f"{cores.describe()}; wrk -t1 -c{args.connections}; {args.rounds} rounds of {args.seconds:g} s"
    )
    log(
        f"estimated time without seeding: {estimate_seconds(args) / 60:.1f} min; "
        f"load average {machine.load_average()}"
    )
    load_before = machine.load_average()
    pools = {}
    for n in args.tokens:
        _path, pools[n] = seeding.ensure_cache(n, log)
    samples: list[dict[str, Any]] = []
    try:
        for db in dbs:
            samples += run_database(db, args, pools, cores, run_dir)
    except KeyboardInterrupt:
        log("interrupted: servers stopped and data sets removed")
        return 130
    finally:
        shutil.rmtree(run_dir / "requests", ignore_errors=True)
    summary = report.summarise(samples)
    ratio_rows = report.ratios(samples)
    document = {
        "schema": 1,
        "git": git,
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": machine.describe() | {"pinning": cores.describe()},
        "load_average": {"before": load_before, "after": machine.load_average()},
        "config": {
            "databases": dbs,
            "tokens": args.tokens,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "connections": args.connections,
            "pool_size": dataset.POOL_SIZE,
            "validate_responses": args.validate_responses,
            "apps": {name: scenarios.APPS[name].description for name in args.apps},
        },
        "samples": samples,
        "summary": summary,
        "ratios": ratio_rows,
    }
    out = args.out or dataset.RESULTS_DIR / f"{git['sha']}-{stamp}.json"
    report.save(out, document)
    log("\n" + report.table(summary))
    log("\n" + report.ratio_table(ratio_rows))
    log(f"\nload average before {load_before}, after {machine.load_average()}; results: {out}")
    log(f"server logs: {run_dir / 'logs'}")
    return 0


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
