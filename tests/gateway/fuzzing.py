"""Credentials for fuzzing the gateway dialect (used by tests/test_fuzz.py): a superadmin token for
`/platform/...` and a tenant token, of a tenant with the example workflows, for the workflow APIs."""

from __future__ import annotations

import itertools
from typing import Any

from tests.gateway.conftest import BASE, import_examples, login, tenant_body
from tokensmith import users
from tokensmith.core import Core

FUZZ_SUPERADMIN = "fuzz-superadmin"
# The body of a trigger that runs (a random workflowIdentifier would never get past a 404).
TRIGGER_SEED = {
    "workflowIdentifier": "sample_workflow",
    "variables": {"sample_workflow_input_parameter1": "fuzzed"},
}


def gateway_headers(client: Any, core: Core, password: str) -> dict[str, str]:
    users.create_user(core, FUZZ_SUPERADMIN, password, role="superadmin")
    superadmin = login(client, FUZZ_SUPERADMIN, password).json()["resultData"]["accessToken"]
    # The first tenant listed is what the list -> regenerate link regenerates: let it not be ours.
    client.post(
        f"{BASE}/platform/tenants",
        json=tenant_body("fuzz-decoy"),
        headers={"Authorization": f"Bearer {superadmin}"},
    )
    response = client.post(
        f"{BASE}/platform/tenants",
        json=tenant_body("fuzz-tenant"),
        headers={"Authorization": f"Bearer {superadmin}"},
    )
    tenant = response.json()["resultData"]
    import_examples(core, tenant["tenantExternalId"])
    return {"Authorization": f"Bearer {superadmin}", "itas-api-access-key": tenant["tenantAccessToken"]}


_tenants = itertools.count(1)


def new_tenant_seed() -> dict[str, Any]:
    """A sub-domain and admin username no earlier call used, so a replayed create never meets a 409."""
    number = next(_tenants)
    return {
        "subDomain": f"fuzz-{number}",
        "tenantAdmin": {"username": f"fuzz-admin-{number}", "password": "fuzz tenant admin password"},
    }
