"""The bench's reference apps do tokensmith's work: for the same request they answer the same status,
media type and JSON body (a correctness check of `bench/`, never a timing assertion).

Without the bench extra (FastAPI; `pip install -e '.[bench]'`) the test skips and says so.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing

import pytest

pytest.importorskip("fastapi", reason="the bench extra is not installed: pip install -e '.[bench]'")

from starlette.testclient import TestClient  # noqa: E402

from bench import checks, dataset, scenarios, seed_tokensmith  # noqa: E402
from bench.apps import environment, fastapi_twin, floor  # noqa: E402
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
