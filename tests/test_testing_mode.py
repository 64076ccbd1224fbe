"""Testing mode off and on, in-process: the testing API exists only in testing mode, serve refuses to
expose it beyond loopback, and reset keeps the audit table's append-only guard."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from handlers import access, routes
from handlers.app import create_app
from tokensmith.testing import mode
from tokensmith.testing.clock import ControlledClock

TESTING_PATHS = [
    ("GET", "/clock"),
    ("PUT", "/clock"),
    ("POST", "/clock/advance"),
    ("POST", "/seed"),
    ("POST", "/reset"),
    ("GET", "/faults"),
    ("POST", "/faults"),
    ("DELETE", "/faults"),
    ("GET", "/requests"),
    ("DELETE", "/requests"),
]


def test_every_testing_operation_is_404_outside_testing_mode(client):
    for method, path in TESTING_PATHS:
        reply = client.request(method, "/api/v1/testing" + path, json={})
        assert reply.status_code == 404, (method, path)


def test_the_testing_spec_lists_exactly_these_operations_and_all_are_anonymous():
    spec = routes.spec("testing")
    found = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    assert found == set(TESTING_PATHS)
    access.check_declarations(routes.mounted(True))
    assert all(row[0] != "testing" for row in access.operations())  # the matrix covers DIALECTS only


@pytest.fixture
def testing_client(settings):
    app = create_app(dataclasses.replace(settings, testing=True), clock=ControlledClock(), migrate=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.core.db.dispose()


def test_reset_restores_the_audit_table_and_its_append_only_guard_stays(testing_client):
    core = testing_client.app.core
    with core.db.engine.connect() as connection:
        before = connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar()
    seeded = testing_client.post(
        "/api/v1/testing/seed", json={"users": [{"username": "alice", "password": "correct horse battery"}]}
    )
    assert seeded.status_code == 200, seeded.text
    assert testing_client.post("/api/v1/testing/reset", json={"fresh": True}).json()["rows"] >= 0
    with core.db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == before
        assert (
            connection.execute(sa.text("SELECT count(*) FROM users WHERE username = 'alice'")).scalar() == 0
        )
    core.db.dispose()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), core.db.engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO audit_events (at, action, detail) VALUES (:at, 'x', '{}')"),
            {"at": datetime.now(UTC)},
        )
        connection.execute(sa.text("DELETE FROM audit_events"))


def test_a_seeded_token_must_be_in_tokensmiths_format(testing_client):
    testing_client.post(
        "/api/v1/testing/seed", json={"users": [{"username": "bob", "password": "correct horse battery"}]}
    )
    reply = testing_client.post(
        "/api/v1/testing/seed", json={"tokens": [{"user": "bob", "value": "tsr_madeup"}]}
    )
    assert reply.status_code == 400 and "tokens[0]" in reply.json()["detail"]


def test_the_clock_only_moves_forward_and_sets_to_the_moment_given():
    clock = ControlledClock()
    clock.freeze()
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    clock.set(moment)
    assert clock.now() == moment and clock.advance(60).timestamp() == moment.timestamp() + 60
    with pytest.raises(ValueError):
        clock.advance(-1)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "example.com"])
def test_testing_mode_refuses_to_listen_beyond_loopback_unless_allowed(host):
    with pytest.raises(ValueError, match="loopback only"):
        mode.announce(host, 1, allow_remote=False)
    assert "reachable from other machines" in mode.announce(host, 1, allow_remote=True)


def test_testing_mode_says_so_on_loopback_and_runs_one_worker():
    assert "TESTING MODE (on loopback only)" in mode.announce("127.0.0.1", 1, allow_remote=False)
    assert mode.is_loopback("::1") and mode.is_loopback("localhost")
    with pytest.raises(ValueError, match="one worker"):
        mode.announce("127.0.0.1", 2, allow_remote=False)
