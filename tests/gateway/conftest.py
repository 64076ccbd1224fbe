"""Fixtures of the gateway dialect: a superadmin and their token, tenants made through the API, and
the example workflows imported into a tenant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers.gateway import wire
from tests.conftest import PASSWORD
from tokensmith import jobs, workflows
from tokensmith.models import User

BASE = "/gateway/api/v1"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows.yaml"
ADMIN_PASSWORD = "tenant admin password"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def key(token: str) -> dict[str, str]:
    return {"itas-api-access-key": token}


def tenant_body(sub_domain: str = "tenant1", **overrides: Any) -> dict[str, Any]:
    body = {
        "name": f"test {sub_domain}",
        "description": None,
        "subDomain": sub_domain,
        "tenantAdmin": {
            "username": f"admin@{sub_domain}.com",
            "email": f"admin@{sub_domain}.com",
            "firstName": "admin",
            "lastName": sub_domain,
            "password": ADMIN_PASSWORD,
        },
    }
    body.update(overrides)
    return body


def login(client: Any, username: str = "root", password: str = PASSWORD) -> Any:
    return client.post(f"{BASE}/auth/login", json={"username": username, "password": password})


@pytest.fixture
def superadmin(make_user: Callable[..., User]) -> User:
    return make_user("root", role="superadmin")


@pytest.fixture
def superadmin_token(client: Any, superadmin: User) -> str:
    response = login(client)
    assert response.status_code == 200, response.text
    return response.json()["resultData"]["accessToken"]


@pytest.fixture
def make_tenant(client: Any, superadmin_token: str) -> Callable[..., dict[str, Any]]:
    """Create a tenant through the API; returns `resultData` (tenantId, tenantExternalId, token)."""

    def make(sub_domain: str = "tenant1", **overrides: Any) -> dict[str, Any]:
        response = client.post(
            f"{BASE}/platform/tenants",
            json=tenant_body(sub_domain, **overrides),
            headers=bearer(superadmin_token),
        )
        assert response.status_code == 200, response.text
        return response.json()["resultData"]

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return make_tenant("tenant1")


@pytest.fixture
def tenant_key(tenant: dict[str, Any]) -> dict[str, str]:
    return key(tenant["tenantAccessToken"])


def import_examples(core: Any, tenant_external_id: str) -> list[workflows.Definition]:
    document = yaml.safe_load(EXAMPLES.read_text())
    return workflows.import_definitions(core, tenant_external_id, wire.definitions_from_document(document))


@pytest.fixture
def examples(core: Any, tenant: dict[str, Any]) -> list[workflows.Definition]:
    """The shipped example workflows, imported into `tenant`."""
    return import_examples(core, tenant["tenantExternalId"])


def trigger(client: Any, headers: dict[str, str], identifier: str, **variables: Any) -> Any:
    return client.post(
        f"{BASE}/workflow/trigger",
        json={
            "workflowIdentifier": identifier,
            "variables": variables,
            "initiatorContactId": 1,
            "initiatorApplicationId": -2,
        },
        headers=headers,
    )


def triggered(client: Any, headers: dict[str, str], identifier: str, **variables: Any) -> str:
    """Trigger a run and run the jobs that are due, here, as a worker would (the app the tests build
    starts no worker threads); returns the trigger id."""
    response = trigger(client, headers, identifier, **variables)
    assert response.status_code == 200, response.text
    assert response.json()["resultData"]["status"] == "ACTIVATED"
    jobs.run_due(client.app.core)
    return response.json()["resultData"]["triggerId"]
