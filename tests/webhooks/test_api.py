"""The webhook subscription API: create, list, look up, delete, deliveries; the secret shown once."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from tests.webhooks.conftest import BASE, subscribe
from tokensmith import runtime
from tokensmith.webhooks import events


def test_creating_answers_the_subscription_and_its_secret_once(client, alice_headers, core):
    created = subscribe(
        client,
        alice_headers,
        "https://hooks.example.com/a",
        ["token.revoked", "token.expiring"],
        description="ops",
    )
    assert created["id"].startswith("wh_") and created["url"] == "https://hooks.example.com/a"
    assert created["events"] == ["token.revoked", "token.expiring"] and created["description"] == "ops"
    assert created["owner"]["username"] == "alice" and created["owner"]["tenant"] is None
    secret = created["secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret[6:])) <= 32
    shown = client.get(f"{BASE}/{created['id']}", headers=alice_headers)
    assert shown.status_code == 200 and "secret" not in shown.json() and secret not in shown.text
    assert {k: v for k, v in created.items() if k != "secret"} == shown.json()
    listing = client.get(BASE, headers=alice_headers)
    assert [item["id"] for item in listing.json()["items"]] == [created["id"]]
    assert secret not in listing.text


def test_the_secret_is_stored_only_sealed_and_never_audited(client, alice_headers, core):
    created = subscribe(client, alice_headers, "https://hooks.example.com/a?key=s3cret", ["token.revoked"])
    raw_secret = created["secret"][6:]
    with core.db.engine.connect() as connection:
        dump = "\n".join(
            str(row)
            for table in ("webhooks", "audit_events", "jobs")
            for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
        )
        audit = connection.execute(
            sa.text("SELECT detail FROM audit_events WHERE action = 'webhook.create'")
        ).scalar_one()
    assert created["secret"] not in dump and raw_secret not in dump
    assert "s3cret" not in str(audit) and "hooks.example.com" in str(audit)  # the host, not the query


def test_listing_pages_newest_first(client, alice_headers):
    ids = [
        subscribe(client, alice_headers, f"https://h.example.com/{n}", ["token.revoked"])["id"]
        for n in range(5)
    ]
    seen, cursor = [], None
    while True:
        page = client.get(
            BASE, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=alice_headers
        )
        assert page.status_code == 200
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_deleting_removes_it_and_its_deliveries(client, alice_headers):
    created = subscribe(client, alice_headers, "https://hooks.example.com/a", ["token.revoked"])
    assert client.delete(f"{BASE}/{created['id']}", headers=alice_headers).status_code == 204
    assert client.get(f"{BASE}/{created['id']}", headers=alice_headers).status_code == 404
    assert client.get(f"{BASE}/{created['id']}/deliveries", headers=alice_headers).status_code == 404
    assert client.delete(f"{BASE}/{created['id']}", headers=alice_headers).status_code == 404


def test_an_unknown_id_is_a_native_api_problem(client, alice_headers):
    response = client.get(f"{BASE}/wh_nosuchthing", headers=alice_headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "No such webhook."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example.com/", "events": ["token.revoked"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/", "events": ["token.revoked"]}, "url"),
        ({"url": "https://hooks.example.com/#frag", "events": ["token.revoked"]}, "url"),
        ({"url": "https://hooks.example.com:99999/", "events": ["token.revoked"]}, "url"),
        ({"url": "https://" + "a" * 2050, "events": ["token.revoked"]}, "url"),
        ({"url": "https://hooks.example.com/", "events": []}, "events"),
        ({"url": "https://hooks.example.com/", "events": ["token.exploded"]}, "events"),
        ({"url": "https://hooks.example.com/", "events": ["token.revoked", "token.revoked"]}, "events"),
        ({"url": "https://hooks.example.com/"}, "events"),
        ({"events": ["token.revoked"]}, "url"),
        ({"url": "https://hooks.example.com/", "events": ["token.revoked"], "secret": "mine"}, None),
    ],
)
def test_invalid_subscriptions_are_refused_with_the_field_named(client, alice_headers, body, field):
    response = client.post(BASE, json=body, headers=alice_headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in str(response.json().get("errors", {})) or field in response.json()["detail"]
    assert client.get(BASE, headers=alice_headers).json()["items"] == []


def test_private_addresses_are_allowed_until_the_setting_forbids_them(client, alice_headers, core):
    subscribe(client, alice_headers, "http://127.0.0.1:9/hook", ["token.revoked"])
    subscribe(client, alice_headers, "http://localhost:9/hook", ["token.revoked"])
    runtime.change(core, ".webhooks.allow_private_addresses", "False", actor="test")
    for url in (
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://169.254.1.1/",
    ):
        response = client.post(BASE, json={"url": url, "events": ["token.revoked"]}, headers=alice_headers)
        assert response.status_code == 400, url
        assert "public addresses only" in response.json()["errors"]["url"][0]
    subscribe(client, alice_headers, "https://hooks.example.com/", ["token.revoked"])


def test_the_spec_lists_exactly_the_event_types_the_core_sends():
    from handlers import routes

    schema = routes.spec("admin")["components"]["schemas"]["WebhookEventType"]
    assert tuple(schema["enum"]) == events.EVENT_TYPES


def test_an_owner_has_at_most_a_hundred_subscriptions(client, alice_headers, core, monkeypatch):
    from tokensmith.webhooks import subscriptions

    monkeypatch.setattr(subscriptions, "MAX_PER_OWNER", 2)
    subscribe(client, alice_headers, "https://h.example.com/1", ["token.revoked"])
    subscribe(client, alice_headers, "https://h.example.com/2", ["token.revoked"])
    response = client.post(
        BASE, json={"url": "https://h.example.com/3", "events": ["token.revoked"]}, headers=alice_headers
    )
    assert response.status_code == 409


def _webhook_examples() -> list[tuple[str, object, dict]]:
    """(where, example, schema) for every request body and response example of the webhook operations."""
    from handlers import routes

    spec = routes.spec("admin")
    found = []
    for path, item in spec["paths"].items():
        if not path.startswith("/webhooks"):
            continue
        for method, operation in item.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            bodies = [("request", operation["requestBody"])] if "requestBody" in operation else []
            bodies += [(status, response) for status, response in operation["responses"].items()]
            for where, part in bodies:
                for media in part.get("content", {}).values():
                    if "example" in media:
                        found.append((f"{method.upper()} {path} {where}", media["example"], media["schema"]))
    return found


def test_every_webhook_operation_has_examples_that_validate_against_their_schemas():
    from openapi_schema_validator import OAS30Validator

    from handlers import routes

    components = routes.spec("admin")["components"]
    examples = _webhook_examples()
    operations = {where.rsplit(" ", 1)[0] for where, _e, _s in examples}
    assert operations == {
        "GET /webhooks",
        "POST /webhooks",
        "GET /webhooks/{webhook_id}",
        "DELETE /webhooks/{webhook_id}",
        "GET /webhooks/{webhook_id}/deliveries",
    }
    for where, example, schema in examples:
        # `#/components/...` references resolve against a root that carries the spec's components.
        errors = list(OAS30Validator({"allOf": [schema], "components": components}).iter_errors(example))
        assert not errors, (where, [error.message for error in errors])


def test_every_webhook_operation_is_tagged_described_and_declared():
    from handlers import routes

    for path, item in routes.spec("admin")["paths"].items():
        if path.startswith("/webhooks"):
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    assert operation["tags"] == ["Webhooks"], (method, path)
                    assert operation["description"].strip() and operation["x-tokensmith-access"], (
                        method,
                        path,
                    )
