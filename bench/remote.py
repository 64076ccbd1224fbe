"""The remote-database run: `.venv/bin/python -m bench.remote [--quick]`.

The same scenarios as `bench.run` on PostgreSQL, with every app served twice from the same schema —
once connected to PostgreSQL directly (local, ≈ 0.1 ms away) and once through `bench.latency_proxy`
(remote, ≈ 2 ms of round trip) — at 32 and 256 wrk connections. The apps: tokensmith, the FastAPI
twin (its ordinary sync endpoints in the thread pool), the asynchronous floor (psycopg's async pool)
and, locally, the sync floor that `bench.run`'s local targets are measured against. It measures the
proxy's real round trip with a `SELECT 1` loop before and after, and beside every run; prints a table
per scenario and issue 16's ratios marked met or missed; writes `bench/results/remote-<sha>-<time>.json`.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import checks, dataset, load, machine, postgres, remote_report, report, scenarios, seeding
from bench.apps.environment import libpq_url
from bench.latency_proxy import DEFAULT_DELAY_MS, LatencyProxy, RoundTrip, RttProbe, measure_rtt
from bench.remote_report import LOCAL, PLACEMENTS, REMOTE
from bench.run import delete_issued, elapsed, freshen_last_used, log
from bench.servers import Cores, Server, app_server, running

LOCAL_APPS = (scenarios.TOKENSMITH, scenarios.FASTAPI, scenarios.FLOOR, scenarios.ASYNC_FLOOR)
# The sync floor is left out remotely: it blocks its event loop on each query by design, so through
# the proxy it only shows the 1 ÷ round-trip ceiling that the issue is about.
REMOTE_APPS = (scenarios.TOKENSMITH, scenarios.FASTAPI, scenarios.ASYNC_FLOOR)
SCENARIOS = (scenarios.VALIDATE, scenarios.WHOAMI, scenarios.ISSUE)
SETTLE_TIMEOUT_S = 120.0
WRK_OVERHEAD_S = 0.7  # start-up and parsing around each wrk run, measured


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.remote", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, shorter RTT loops (~1.5 min)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--seconds", type=float, help="length of one measured run (default 4, quick 2)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds per run (default 1, quick 1)")
    parser.add_argument("--connections", default="32,256", help="wrk connection counts (default 32,256)")
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=DEFAULT_DELAY_MS,
        help="proxy delay per direction (default %(default)s)",
    )
    parser.add_argument(
        "--rtt-queries", type=int, help="SELECT 1 per round-trip loop (default 500, quick 100)"
    )
    parser.add_argument("--tokens", type=int, default=1000, help="live tokens in the data set (default 1000)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="which scenarios")
    parser.add_argument(
        "--local-apps", default=",".join(LOCAL_APPS), help="apps served with PostgreSQL local"
    )
    parser.add_argument("--remote-apps", default=",".join(REMOTE_APPS), help="apps served through the proxy")
    parser.add_argument(
        "--pg-url", help=f"PostgreSQL server URL (default ${postgres.URL_ENV} or {postgres.DEFAULT_URL})"
    )
    parser.add_argument(
        "--out", type=Path, help="result file (default bench/results/remote-<sha>-<time>.json)"
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.seconds = args.seconds or (2.0 if args.quick else 4.0)
    args.warmup = args.warmup if args.warmup is not None else 1.0
    args.rtt_queries = args.rtt_queries or (100 if args.quick else 500)
    args.connections = [int(c) for c in args.connections.split(",") if c]
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.apps = {
        LOCAL: [a for a in args.local_apps.split(",") if a],
        REMOTE: [a for a in args.remote_apps.split(",") if a],
    }
    for name in args.scenarios:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r} (choose from {', '.join(SCENARIOS)})")
    for name in args.apps[LOCAL] + args.apps[REMOTE]:
        if name not in LOCAL_APPS:
            parser.error(f"unknown app {name!r} (choose from {', '.join(LOCAL_APPS)})")
    if args.rounds < 1 or args.seconds < 1 or args.tokens < 1 or not args.connections or args.rtt_queries < 1:
        parser.error("rounds, seconds, tokens, connections and RTT queries must be positive")
    return args


@dataclass(frozen=True)
class Job:
    """One measured cell: a scenario, an app, where its database is, how many connections load it."""

    scenario: str
    app: str
    placement: str
    connections: int
    request: load.Request
    lines: Path


def jobs_for(args: argparse.Namespace, pool: dataset.Pool, run_dir: Path) -> list[Job]:
    """Every cell, ordered so that runs divided by each other run back to back: per scenario and
    connection count, each app local then remote, tokensmith first."""
    jobs = []
    order = {app: index for index, app in enumerate(LOCAL_APPS)}
    for scenario in args.scenarios:
        builders = scenarios.SCENARIOS[scenario]
        for connections in args.connections:
            cells = [
                (app, placement)
                for placement in PLACEMENTS
                for app in args.apps[placement]
                if app in builders
            ]
            for app, placement in sorted(cells, key=lambda cell: (order[cell[0]], PLACEMENTS.index(cell[1]))):
                request = builders[app](pool)
                lines = load.write_lines(request, run_dir / "requests", f"{scenario}-{app}")
                jobs.append(Job(scenario, app, placement, connections, request, lines))
    return jobs


def estimate_seconds(args: argparse.Namespace) -> float:
    cells = sum(
        1
        for scenario in args.scenarios
        for placement in PLACEMENTS
        for app in args.apps[placement]
        if app in scenarios.SCENARIOS[scenario]
    ) * len(args.connections)
    per_cell = args.rounds * (args.seconds + WRK_OVERHEAD_S) + args.warmup + WRK_OVERHEAD_S
    return cells * per_cell + 30


@contextmanager
def servers(
    urls: dict[str, str], args: argparse.Namespace, cores: Cores, run_dir: Path
) -> Iterator[dict[tuple[str, str], Server]]:
    """Every app at each placement, started and ready; all stopped on the way out."""
    planned = {
        (placement, name): app_server(
            scenarios.APPS[name],
            f"{name}@{placement}",
            urls[placement],
            run_dir / "logs" / f"{placement}-{name}.log",
        )
        for placement in PLACEMENTS
        for name in args.apps[placement]
    }
    with running(planned, cores.server) as started:
        yield started


def preflight(
    args: argparse.Namespace, pool: dataset.Pool, live: dict[tuple[str, str], Server], url: str
) -> None:
    """Every app answers 200 at each placement, and the twins answer tokensmith's bytes there."""
    problems = []
    for scenario in args.scenarios:
        for placement in PLACEMENTS:
            senders = {
                app: checks.http_sender(live[(placement, app)].base_url)
                for app in args.apps[placement]
                if app in scenarios.SCENARIOS[scenario]
            }
            problems += [f"{placement}: {p}" for p in checks.check_scenario(scenario, pool, senders)]
            if scenario in scenarios.WRITES_ROWS:
                delete_issued(url, args.tokens)
    if problems:
        raise SystemExit("pre-flight check failed:\n" + "\n".join(problems))


def settle(server: Server, job: Job) -> float:
    """Wait until the server has worked off what the last run left queued; returns the seconds waited.

    wrk stops at its deadline and closes its connections, but a server keeps working through the
    requests it had accepted (a blocking server through the proxy can hold hundreds: seconds of work),
    which would be charged to the next run. One more request of the same kind, on a new connection,
    queues behind them — on the event loop, in the pool's or the thread pool's FIFO — so its answer
    means the backlog is gone.
    """
    started = time.monotonic()
    try:
        checks.send_line(
            checks.http_sender(server.base_url, SETTLE_TIMEOUT_S), job.request, job.request.lines[0]
        )
    except OSError as exc:
        log(f"   {server.label} did not settle within {SETTLE_TIMEOUT_S:.0f} s ({exc}); going on")
    return time.monotonic() - started


def rtt_pair(direct_url: str, proxied_url: str, queries: int) -> dict[str, dict[str, Any]]:
    return {
        "direct": measure_rtt(direct_url, queries).to_json(),
        "proxy": measure_rtt(proxied_url, queries).to_json(),
    }


def measure(
    args: argparse.Namespace,
    pool: dataset.Pool,
    jobs: list[Job],
    live: dict[tuple[str, str], Server],
    urls: dict[str, str],
    cores: Cores,
) -> list[dict[str, Any]]:
    """The warm-up, then the rounds (odd rounds in reverse: A B B A), each run beside an RTT probe."""
    for job in jobs:
        if job.scenario in scenarios.RECORDS_USE:
            freshen_last_used(urls[LOCAL], pool)
        load.run(
            live[(job.placement, job.app)].base_url,
            job.request,
            job.lines,
            seconds=args.warmup,
            connections=job.connections,
            core=cores.load,
        )
        settle(live[(job.placement, job.app)], job)
        if job.scenario in scenarios.WRITES_ROWS:
            delete_issued(urls[LOCAL], args.tokens)
    samples: list[dict[str, Any]] = []
    for round_index in range(args.rounds):
        for job in jobs if round_index % 2 == 0 else jobs[::-1]:
            server = live[(job.placement, job.app)]
            if job.scenario in scenarios.RECORDS_USE:
                freshen_last_used(urls[LOCAL], pool)
            probe = RttProbe(urls[job.placement])
            with probe.running():
                sample, cpu_us = load.measured(
                    server,
                    job.request,
                    job.lines,
                    seconds=args.seconds,
                    connections=job.connections,
                    core=cores.load,
                )
            backlog_s = settle(server, job)
            if job.scenario in scenarios.WRITES_ROWS:
                delete_issued(urls[LOCAL], args.tokens)
            rtt: RoundTrip | None = probe.result()
            samples.append(
                {
                    "placement": job.placement,
                    "connections": job.connections,
                    "scenario": job.scenario,
                    "app": job.app,
                    "round": round_index,
                }
                | sample.to_json()
                | {
                    "cpu_us": cpu_us,
                    "db_rtt_median_ms": rtt.median_ms if rtt else None,
                    "db_rtt_p90_ms": rtt.p90_ms if rtt else None,
                    "backlog_s": round(backlog_s, 3),
                }
            )
            flag = f"  ERRORS {sample.errors}" if sample.errors else ""
            log(
                f"   {elapsed()} round {round_index + 1}/{args.rounds} {job.scenario:<8} {job.app:<11} "
                f"{job.placement:<6} c{job.connections:<4} {sample.rps:>7,.0f} req/s  "
                f"p50 {sample.p50_ms:7.2f} ms  p99 {sample.p99_ms:8.2f} ms  "
                f"DB RTT {rtt.median_ms if rtt else float('nan'):5.2f} ms  backlog {backlog_s:5.2f} s{flag}"
            )
    return samples


def postgres_version(url: str) -> str:
    with psycopg.connect(libpq_url(url), connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load.require_wrk()
    base = postgres.base_url(args.pg_url)
    problem = postgres.available(base)
    if problem:
        raise SystemExit(f"PostgreSQL is not reachable ({problem}); start it or pass --pg-url")
    signal.signal(signal.SIGTERM, _interrupt)
    postgres.drop_stale_schemas(base, log)
    cores = Cores.detect()
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    run_dir = dataset.RESULTS_DIR / f"remote-run-{stamp}"
    git = machine.git()
    log(
        f"tokensmith remote-database bench at {git['sha']}{' (+uncommitted)' if git['dirty'] else ''}; "
        f"{cores.describe()}, latency proxy on the load core; {args.rounds} rounds of {args.seconds:g} s; "
        f"connections {', '.join(map(str, args.connections))}"
    )
    log(f"estimated time: {estimate_seconds(args) / 60:.1f} min; load average {machine.load_average()}")
    load_before = machine.load_average()
    _path, pool = seeding.ensure_cache(args.tokens, log)
    try:
        with ExitStack() as stack:
            schema, local_url = postgres.create(base, args.tokens, log)
            stack.callback(postgres.drop, base, schema)
            proxy = stack.enter_context(LatencyProxy.for_url(base, args.delay_ms, cores.load))
            urls = {LOCAL: local_url, REMOTE: proxy.url(local_url)}
            rtt = {"before": rtt_pair(urls[LOCAL], urls[REMOTE], args.rtt_queries)}
            log(f"   {elapsed()} SELECT 1 round trip: {remote_report.describe_rtt(rtt['before'])}")
            live = stack.enter_context(servers(urls, args, cores, run_dir))
            preflight(args, pool, live, urls[LOCAL])
            jobs = jobs_for(args, pool, run_dir)
            log(
                f"   {elapsed()} pre-flight: every app answers 200 at both placements and the twins answer "
                f"tokensmith's bodies ({len(jobs)} runs)"
            )
            samples = measure(args, pool, jobs, live, urls, cores)
            rtt["after"] = rtt_pair(urls[LOCAL], urls[REMOTE], args.rtt_queries)
    except KeyboardInterrupt:
        log("interrupted: servers and proxy stopped, schema dropped")
        return 130
    finally:
        shutil.rmtree(run_dir / "requests", ignore_errors=True)
    document = {
        "schema": "remote-1",
        "git": git,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe()
        | {
            "pinning": cores.describe()
            + ("" if cores.load is None else f", latency proxy on core {cores.load}"),
            "postgresql": postgres_version(base),
        },
        "load_average": {"before": load_before, "after": machine.load_average()},
        "config": {
            "tokens": args.tokens,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "connections": args.connections,
            "delay_ms": args.delay_ms,
            "rtt_queries": args.rtt_queries,
            "apps": {placement: args.apps[placement] for placement in PLACEMENTS},
            "descriptions": {name: scenarios.APPS[name].description for name in LOCAL_APPS},
        },
        "rtt": rtt,
        "samples": samples,
    }
    document["summary"] = remote_report.summarise(samples)
    document["ratios"] = remote_report.ratios(samples)
    out = args.out or dataset.RESULTS_DIR / f"remote-{git['sha']}-{stamp}.json"
    report.save(out, document)
    log("\n" + remote_report.render(document))
    log(f"\nresults: {out}; server logs: {run_dir / 'logs'}")
    return 0


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
