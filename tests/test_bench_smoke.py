"""The bench's reference apps do tokensmith's work: for the same request they answer the same status,
media type and JSON body (a correctness check of `bench/`, never a timing assertion). The remote-database
scenario's pieces work: the latency proxy really adds a round trip, every app answers through it, the
report marks the targets (these skip, saying so, when PostgreSQL is not reachable).

Without the bench extra (FastAPI; `pip install -e '.[bench]'`) the test skips and says so.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing

import pytest

pytest.importorskip("fastapi", reason="the bench extra is not installed: pip install -e '.[bench]'")

import psycopg  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from bench import checks, dataset, postgres, remote_report, scenarios, seed_tokensmith  # noqa: E402
from bench.apps import async_floor, environment, fastapi_twin, floor  # noqa: E402
from bench.latency_proxy import LatencyProxy, measure_rtt  # noqa: E402
from bench.run import freshen_last_used  # noqa: E402
from handlers.app import create_app  # noqa: E402
from tokensmith.config import Settings  # noqa: E402

TOKENS = 12


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dataset.Pool]]:
    """One seeded database for the module (seeding and building three apps is most of the test's time)."""
    url = dataset.sqlite_url(tmp_path_factory.mktemp("bench") / "bench.db")
    access, refresh = seed_tokensmith.seed(url, TOKENS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(environment.DATABASE_URL, url)
        patch.setenv(environment.SECRET_KEY, dataset.SECRET_KEY.decode())
        yield url, dataset.Pool(access=access, refresh=refresh, jwt=[])


def _sender(client: TestClient) -> checks.Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> checks.Reply:
        response = client.request(method, path, headers=headers, content=body)
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return checks.Reply(response.status_code, media_type, response.json() if response.content else None)

    return send


@pytest.fixture(scope="module")
def senders(bench_db: tuple[str, dataset.Pool]) -> Iterator[dict[str, checks.Send]]:
    url, _pool = bench_db
    app = create_app(Settings(database_url=url, secret_key=dataset.SECRET_KEY), migrate=False)
    clients = {
        scenarios.TOKENSMITH: TestClient(app, raise_server_exceptions=False),
        scenarios.FLOOR: TestClient(floor.create(), raise_server_exceptions=False),
        scenarios.FASTAPI: TestClient(fastapi_twin.create(), raise_server_exceptions=False),
    }
    with ExitStack() as stack:
        for client in clients.values():
            stack.enter_context(client)  # runs each app's lifespan, as uvicorn would
        yield {name: _sender(client) for name, client in clients.items()}
    app.core.db.dispose()


def test_reference_apps_answer_like_tokensmith(bench_db, senders) -> None:
    _url, pool = bench_db
    for scenario in (scenarios.VALIDATE, scenarios.WHOAMI):
        assert checks.check_scenario(scenario, pool, senders) == []


def test_revoked_expired_and_foreign_tokens_answer_alike(bench_db, senders) -> None:
    url, pool = bench_db
    # The last three tokens: `check_scenario` (the other test) relies on the first one staying valid.
    (revoked, owner), (expired, expired_owner), (foreign, foreign_owner) = pool.access[-3:]
    with closing(sqlite3.connect(environment.sqlite_path(url))) as conn, conn:
        conn.execute(
            "UPDATE credentials SET revoked_at = '2026-01-01 00:00:00.000000' WHERE public_id = ?",
            (revoked[:16],),
        )
        conn.execute(
            "UPDATE credentials SET expires_at = '2020-01-01 00:00:00.000000' WHERE public_id = ?",
            (expired[:16],),
        )
    validate = scenarios.SCENARIOS[scenarios.VALIDATE][scenarios.TOKENSMITH](pool)
    whoami = scenarios.SCENARIOS[scenarios.WHOAMI][scenarios.TOKENSMITH](pool)
    cases = [
        (validate, json.dumps({"api_access_token": revoked, "user_id": owner}), scenarios.FASTAPI),
        (
            validate,
            json.dumps({"api_access_token": expired, "user_id": str(expired_owner)}),
            scenarios.FASTAPI,
        ),
        (
            validate,
            json.dumps({"api_access_token": foreign, "user_id": foreign_owner + 1}),
            scenarios.FASTAPI,
        ),
        (whoami, revoked, None),
        (whoami, expired, None),
    ]
    for request, line, twin in cases:
        expected = checks.send_line(senders[scenarios.TOKENSMITH], request, line)
        for other in (scenarios.FLOOR, twin):
            if other is not None:
                assert checks.send_line(senders[other], request, line) == expected, (other, line)
    statuses = [checks.send_line(senders[scenarios.TOKENSMITH], r, line).body for r, line, _ in cases[:2]]
    assert [body["token_status"] for body in statuses] == ["REVOKED", "EXPIRED"]


# The remote-database scenario (`bench.remote`): the latency proxy adds a measured round trip, every app
# answers through it as it does directly, and the report marks each target from the figures.

REMOTE_TOKENS = 12


@pytest.fixture(scope="module")
def remote_db() -> Iterator[tuple[str, str, dataset.Pool]]:
    """A seeded PostgreSQL schema: (server URL, URL selecting the schema, pool); dropped afterwards."""
    base = postgres.base_url(None)
    problem = postgres.available(base)
    if problem:
        reason = problem.splitlines()[0]
        pytest.skip(f"PostgreSQL is not reachable at {base} ({reason}); the remote-database smoke needs it")
    schema, url, pool = postgres.create_small(base, REMOTE_TOKENS)
    try:
        yield base, url, pool
    finally:
        postgres.drop(base, schema)


@pytest.fixture(scope="module")
def proxy(remote_db: tuple[str, str, dataset.Pool]) -> Iterator[LatencyProxy]:
    with LatencyProxy.for_url(remote_db[0]) as running:
        yield running


def test_the_proxy_adds_at_least_its_two_delays_to_a_round_trip(remote_db, proxy) -> None:
    _base, url, _pool = remote_db
    direct = measure_rtt(url, 20)
    through = measure_rtt(proxy.url(url), 20)
    assert through.median_ms > direct.median_ms
    # A chunk is never forwarded before its delay (less the 50 µs a due timer may round), each way.
    assert through.median_ms >= 2 * (proxy.delay_ms - 0.05)
    assert through.p90_ms >= through.median_ms


def test_the_proxy_forwards_large_answers_whole_and_in_order(remote_db, proxy) -> None:
    _base, url, _pool = remote_db
    sql = "SELECT string_agg(i::text, ',') FROM generate_series(1, 200000) AS i"
    with psycopg.connect(environment.libpq_url(proxy.url(url)), autocommit=True) as conn:
        through = conn.execute(sql).fetchone()
    assert through is not None
    assert through[0] == ",".join(str(i) for i in range(1, 200001))


@pytest.fixture(scope="module")
def remote_senders(remote_db, proxy) -> Iterator[dict[str, checks.Send]]:
    """Every app of the remote run, in process, connected to PostgreSQL through the proxy."""
    _base, url, _pool = remote_db
    remote_url = proxy.url(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(environment.DATABASE_URL, remote_url)
        patch.setenv(environment.SECRET_KEY, dataset.SECRET_KEY.decode())
        app = create_app(Settings(database_url=remote_url, secret_key=dataset.SECRET_KEY), migrate=False)
        clients = {
            scenarios.TOKENSMITH: TestClient(app, raise_server_exceptions=False),
            scenarios.FLOOR: TestClient(floor.create(), raise_server_exceptions=False),
            scenarios.ASYNC_FLOOR: TestClient(async_floor.create(), raise_server_exceptions=False),
            scenarios.FASTAPI: TestClient(fastapi_twin.create(), raise_server_exceptions=False),
        }
        with ExitStack() as stack:
            for client in clients.values():
                stack.enter_context(client)
            yield {name: _sender(client) for name, client in clients.items()}
        app.core.db.dispose()


def test_every_app_answers_through_the_proxy_like_tokensmith(remote_db, remote_senders) -> None:
    _base, _url, pool = remote_db
    for scenario in (scenarios.VALIDATE, scenarios.WHOAMI, scenarios.ISSUE):
        assert checks.check_scenario(scenario, pool, remote_senders) == [], scenario


def _samples(values: dict[tuple[str, str, str], tuple[float, float, float]]) -> list[dict[str, object]]:
    """Two rounds per (placement, scenario, app) at 32 connections, from (req/s, p50, p99)."""
    return [
        {
            "placement": placement,
            "connections": 32,
            "scenario": scenario,
            "app": app,
            "round": round_index,
            "rps": rps,
            "p50_ms": p50,
            "p99_ms": p99,
            "errors": 0,
            "db_rtt_median_ms": 2.1 if placement == remote_report.REMOTE else 0.1,
        }
        for (placement, scenario, app), (rps, p50, p99) in values.items()
        for round_index in range(2)
    ]


def test_the_remote_report_marks_each_target_from_the_figures() -> None:
    local, remote = remote_report.LOCAL, remote_report.REMOTE
    v, w, i = scenarios.VALIDATE, scenarios.WHOAMI, scenarios.ISSUE
    samples = _samples(
        {
            (local, v, scenarios.TOKENSMITH): (1000.0, 10.0, 20.0),
            (remote, v, scenarios.TOKENSMITH): (
                900.0,
                12.0,
                100.0,
            ),  # 0.9 × local: met; p99 8.3 × p50: missed
            (remote, v, scenarios.FASTAPI): (1000.0, 11.0, 30.0),  # tokensmith 0.9 × the twin: missed
            (local, v, scenarios.FLOOR): (1500.0, 7.0, 12.0),  # 0.67: met
            (local, w, scenarios.TOKENSMITH): (500.0, 20.0, 40.0),
            (local, w, scenarios.FLOOR): (1000.0, 10.0, 20.0),  # 0.5: missed
            (local, i, scenarios.TOKENSMITH): (300.0, 40.0, 80.0),  # p50 4 × validate: missed
            (remote, i, scenarios.TOKENSMITH): (200.0, 60.0, 90.0),  # 0.67 × local: met
        }
    )
    rows = {row["name"]: row for row in remote_report.ratios(samples)}
    met = {name: row["met"] for name, row in rows.items() if row["target"]}
    assert met == {
        "validate req/s: remote ÷ local (tokensmith)": True,
        "remote validate req/s: tokensmith ÷ FastAPI twin": False,
        "remote validate: p99 ÷ p50 (tokensmith)": False,
        "issue req/s: remote ÷ local (tokensmith)": True,
        "local validate req/s: tokensmith ÷ floor": True,
        "local whoami req/s: tokensmith ÷ floor": False,
        "local p50: issue ÷ validate (tokensmith)": False,
    }
    assert rows["validate req/s: remote ÷ local (tokensmith)"]["value"] == 0.9
    summary = remote_report.summarise(samples)
    document = {
        "git": {"sha": "abc", "dirty": False},
        "started_at": "start",
        "finished_at": "end",
        "machine": {
            "cores": 2,
            "cpu": "cpu",
            "memory_gib": 1,
            "os": "os",
            "python": "3",
            "packages": {},
            "pinning": "pins",
        },
        "load_average": {"before": [1.0], "after": [1.0]},
        "config": {"rounds": 2, "seconds": 5, "connections": [32], "tokens": 1000, "delay_ms": 0.9},
        "rtt": {
            "before": {
                "direct": {"queries": 5, "median_ms": 0.1, "p90_ms": 0.2},
                "proxy": {"queries": 5, "median_ms": 2.2, "p90_ms": 2.5},
            }
        },
        "summary": summary,
        "ratios": list(rows.values()),
    }
    text = remote_report.render(document)
    assert "adds 2.10 ms" in text
    assert "| tokensmith | remote | 900 | 12.00 | 100.00 | 2.10 | 0 |" in text
    assert "| remote validate req/s: tokensmith ÷ FastAPI twin | 32 | 0.90 | >= 1 | **missed** |" in text
    assert "| validate req/s: remote ÷ local (tokensmith) | 32 | 0.90 | >= 0.8 | met |" in text


def test_every_ratio_names_a_measured_app_scenario_and_figure() -> None:
    figures = {"rps", "p50_ms", "p99_ms"}
    for ratio in remote_report.RATIOS:
        for side in (ratio.top, ratio.bottom):
            assert side.placement in remote_report.PLACEMENTS, ratio.name
            assert side.app in scenarios.SCENARIOS[side.scenario], ratio.name
            assert side.field in figures, ratio.name


def test_freshly_marked_tokens_are_not_written_again_by_a_whoami_run(bench_db, senders) -> None:
    url, pool = bench_db
    token, _owner = pool.access[1]

    def last_used() -> str | None:
        with closing(sqlite3.connect(environment.sqlite_path(url))) as conn:
            row = conn.execute(
                "SELECT last_used_at FROM credentials WHERE public_id = ?", (token[:16],)
            ).fetchone()
        return row[0]

    freshen_last_used(url, pool)
    marked = last_used()
    assert marked is not None
    whoami = scenarios.SCENARIOS[scenarios.WHOAMI][scenarios.TOKENSMITH](pool)
    for app in (scenarios.TOKENSMITH, scenarios.FLOOR):
        assert checks.send_line(senders[app], whoami, token).status == 200
    assert last_used() == marked
