"""A tenant token only ever sees its own tenant's definitions, runs and steps: another tenant's ids,
like made-up ones, answer 404."""

import random
import uuid

import pytest

from handlers.gateway import wire
from tests.gateway.conftest import BASE, import_examples, key, triggered
from tests.gateway.test_cli import one_workflow
from tokensmith import workflows


@pytest.fixture
def two_tenants(core, make_tenant):
    first, second = make_tenant("first"), make_tenant("second")
    import_examples(core, first["tenantExternalId"])
    import_examples(core, second["tenantExternalId"])
    workflows.import_definitions(
        core, first["tenantExternalId"], wire.definitions_from_document([one_workflow()])
    )
    return key(first["tenantAccessToken"]), key(second["tenantAccessToken"])


def test_another_tenants_runs_and_made_up_ids_are_all_not_found(client, two_tenants):
    first, second = two_tenants
    runs = [
        triggered(client, first, "sample_workflow", sample_workflow_input_parameter1=str(n)) for n in range(3)
    ]
    numeric = [
        str(client.get(f"{BASE}/workflowhistory/{run}", headers=first).json()["resultData"]["id"])
        for run in runs
    ]
    rng = random.Random(4)
    made_up = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(25)]
    made_up += [str(rng.randrange(1, 10**12)) for _ in range(25)]
    for run_id in runs + numeric + made_up:
        for path in (f"/workflowhistory/{run_id}", f"/workflowhistory/{run_id}/stephistory"):
            response = client.get(BASE + path, headers=second)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["statusLine"] == "No workflow run has this trigger id."
    for run_id in runs + numeric:  # while the owner still reads them
        assert client.get(f"{BASE}/workflowhistory/{run_id}", headers=first).status_code == 200


def test_a_tenant_lists_only_its_own_definitions(client, two_tenants):
    first, second = two_tenants

    def names(headers):
        listed = client.get(f"{BASE}/workflowdefinition", headers=headers).json()["resultData"]
        return sorted(d["identifier"] for d in listed)

    assert names(first) == ["greet", "provision_vm", "reset_user_password", "sample_workflow"]
    assert names(second) == ["provision_vm", "reset_user_password", "sample_workflow"]


def test_a_tenant_cannot_trigger_another_tenants_workflow(client, two_tenants):
    first, second = two_tenants
    response = client.post(
        f"{BASE}/workflow/trigger",
        json={"workflowIdentifier": "greet", "variables": {"who": "x"}},
        headers=second,
    )
    assert response.status_code == 404


def test_same_identifier_runs_the_callers_own_definition(client, two_tenants, core):
    first, second = two_tenants
    run = triggered(client, second, "sample_workflow", sample_workflow_input_parameter1="mine")
    assert (
        client.get(f"{BASE}/workflowhistory/{run}", headers=second).json()["resultData"]["status"]
        == "COMPLETED"
    )
    assert client.get(f"{BASE}/workflowhistory/{run}", headers=first).status_code == 404
