"""Health, readiness, Prometheus metrics, request ids and JSON access logs."""

import json
import logging

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from handlers.app import create_app
from tests.integration.helpers import access_token, create_refresh, refresh_token
from tokensmith import crypto
from tokensmith.config import Settings


def test_healthz_and_readyz_answer_on_a_migrated_database(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_is_503_when_migrations_are_not_current(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", secret_key=b"s" * 32)
    app = create_app(settings, migrate=False)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and "migrations" in response.json()["reason"]


def _samples(client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_parse_and_move_when_tokens_are_issued(client, alice):
    before = _samples(client)
    access_token(client, refresh_token(client))
    create_refresh(client, password="wrong-password")
    after = _samples(client)
    issued = ("tokensmith_tokens_issued_total", (("kind", "access"),))
    assert after[issued] == before.get(issued, 0) + 1
    assert (
        after[("tokensmith_failed_logins_total", ())]
        == before.get(("tokensmith_failed_logins_total", ()), 0) + 1
    )
    assert after[("tokensmith_tokens_live", (("kind", "refresh"),))] == 1
    requests = [
        v
        for (name, labels), v in after.items()
        if name == "tokensmith_http_requests_total"
        and dict(labels)["operation"] == "POST /integration/v1/createAPIAccessToken/"
    ]
    assert requests == [1.0]


def test_metrics_count_validations_by_outcome(client, alice):
    token = access_token(client, refresh_token(client))["api_access_token"]
    client.get("/api/v1/whoami", headers={"TOKEN": token})
    client.get("/api/v1/whoami", headers={"TOKEN": crypto.mint("access", b"k" * 32).value})  # unknown
    client.get("/api/v1/whoami", headers={"TOKEN": "tsa_" + "x" * 50})  # malformed
    samples = _samples(client)
    assert samples[("tokensmith_tokens_validated_total", (("kind", "access"), ("outcome", "valid")))] >= 1
    assert samples[("tokensmith_tokens_validated_total", (("kind", "access"), ("outcome", "invalid")))] >= 1
    assert samples[("tokensmith_tokens_validated_total", (("kind", "unknown"), ("outcome", "invalid")))] >= 1


def test_every_reply_carries_a_request_id_and_keeps_a_sane_incoming_one(client):
    replies = [
        client.get("/healthz"),
        client.get("/integration/v1/ui/"),
        client.post("/nope"),
        client.post(
            "/integration/v1/createRefreshToken/",
            content=b"x" * 2_000_000,
            headers={"content-type": "application/json"},
        ),
    ]
    assert all(len(reply.headers["x-request-id"]) == 32 for reply in replies)
    assert client.get("/healthz", headers={"X-Request-Id": "edge-42"}).headers["x-request-id"] == "edge-42"
    assert client.get("/healthz", headers={"X-Request-Id": "bad id\n"}).headers["x-request-id"] != "bad id\n"


def test_access_log_is_one_json_line_per_request_without_secrets(client, alice, caplog):
    token = access_token(client, refresh_token(client))["api_access_token"]
    with caplog.at_level(logging.INFO, logger="tokensmith.access"):
        client.get("/api/v1/whoami", headers={"TOKEN": token, "X-Request-Id": "req-1"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tokensmith.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["path"] == "GET /api/v1/whoami" and line["status"] == 200 and line["request_id"] == "req-1"
    assert line["token_id"] == token[:16] and token not in json.dumps(line)
    assert set(line) == {"time", "method", "path", "status", "latency_ms", "request_id", "token_id"}
