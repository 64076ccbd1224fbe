"""The workflow APIs behind the tenant token: list definitions, trigger with validated variables, a run
that really executes its steps, its history and its step history; paths match in any case."""

import json
import uuid
from datetime import timedelta

from handlers.gateway import wire
from tests.gateway.conftest import BASE, trigger, triggered
from tokensmith import jobs, listing, workflows
from tokensmith.clock import MovableClock


class TickingClock(MovableClock):
    """Moves 5 ms every time it is read, so every recorded moment is distinct (and no test sleeps)."""

    def now(self):
        return self.advance(timedelta(milliseconds=5))


def history(client, headers, trigger_id):
    return client.get(f"{BASE}/workflowhistory/{trigger_id}", headers=headers)


def steps(client, headers, trigger_id, **params):
    return client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory", params=params, headers=headers)


def listed(client, headers, **params):
    response = client.get(f"{BASE}/workflowdefinition", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [d["identifier"] for d in response.json()["resultData"]]


# --- definitions -----------------------------------------------------------------------------------


def test_definitions_list_with_input_parameters_as_json_text_in_lumas_names(client, tenant_key, examples):
    body = client.get(f"{BASE}/workflowdefinition", headers=tenant_key).json()
    assert body["statusLine"] == "Successfully retrieved Workflow definition."
    sample = next(d for d in body["resultData"] if d["identifier"] == "sample_workflow")
    assert (
        sample["name"] == "Sample workflow"
        and sample["description"] == "Echoes its input and upper-cases it."
    )
    assert json.loads(sample["inputParameters"]) == {
        "parameters": [
            {
                "parameter": "sample_workflow_input_parameter1",
                "dataType": "TEXT",
                "required": True,
                "validations": [
                    {
                        "constraintType": "MAXIMUM_LENGTH",
                        "enforcementValue": 100,
                        "errorMessage": "The input may have at most 100 characters.",
                    }
                ],
            }
        ]
    }


def test_the_seeds_filter_finds_definitions_by_wildcard_ignoring_case(client, tenant_key, examples):
    assert listed(client, tenant_key, filter="name=='*password*'") == ["reset_user_password"]
    assert listed(client, tenant_key, filter='name=="*PASSWORD*"') == ["reset_user_password"]
    assert listed(client, tenant_key, filter="identifier==sample_workflow") == ["sample_workflow"]


def test_filters_combine_with_and_or_and_not(client, tenant_key, examples):
    assert listed(
        client, tenant_key, filter="name==*a*;identifier!=sample_workflow", orderBy="identifier"
    ) == [
        "provision_vm",
        "reset_user_password",
    ]
    assert listed(
        client, tenant_key, filter="identifier==provision_vm,identifier==sample*", orderBy="name"
    ) == [
        "provision_vm",
        "sample_workflow",
    ]
    assert listed(client, tenant_key, filter="name=='a;b,c'") == []


def test_order_by_skip_and_top_page_the_definitions(client, tenant_key, examples):
    assert listed(client, tenant_key, orderBy="name asc") == [
        "provision_vm",
        "reset_user_password",
        "sample_workflow",
    ]
    assert listed(client, tenant_key, orderBy="name desc") == [
        "sample_workflow",
        "reset_user_password",
        "provision_vm",
    ]
    assert listed(client, tenant_key, orderBy="name desc", skip=1, top=1) == ["reset_user_password"]
    assert listed(client, tenant_key, skip=3) == []


BAD_LISTING_PARAMETERS = [
    {"filter": "owner==x"},
    {"filter": "name~=x"},
    {"filter": "name=='x"},
    {"orderBy": "name sideways"},
    {"orderBy": "createdTime"},
    {"top": 0},
    {"top": 1001},
    {"skip": -1},
    {"skip": "many"},
]


def test_a_bad_listing_parameter_is_a_400_envelope(client, tenant_key):
    for params in BAD_LISTING_PARAMETERS:
        response = client.get(f"{BASE}/workflowdefinition", params=params, headers=tenant_key)
        assert response.status_code == 400 and response.json()["status"] == "Failure", params


def test_paths_match_in_any_case(client, tenant_key, examples):
    trigger_id = triggered(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="x")
    assert client.get(f"{BASE}/WorkflowDefinition", headers=tenant_key).status_code == 200
    assert client.get(f"{BASE}/workflowHistory/{trigger_id}", headers=tenant_key).status_code == 200
    assert (
        client.get(f"{BASE}/WORKFLOWHISTORY/{trigger_id.upper()}/stepHistory", headers=tenant_key).status_code
        == 200
    )
    assert (
        client.post(
            "/Gateway/API/v1/Workflow/Trigger", headers=tenant_key, json={"workflowIdentifier": "nope"}
        ).status_code
        == 404
    )


# --- trigger and the runner --------------------------------------------------------------------------


def test_trigger_answers_at_once_with_the_run_activated_and_a_worker_completes_it(
    client, tenant_key, examples, core
):
    response = trigger(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="hello")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "Success"
    assert body["statusLine"] == "Successfully submitted the workflow for execution."
    result = body["resultData"]
    assert str(uuid.UUID(result["triggerId"])) == result["triggerId"]
    assert result["status"] == "ACTIVATED" and result["href"] == f"/api/v1/workflowHistory/{result['id']}"
    queued = history(client, tenant_key, result["triggerId"]).json()["resultData"]
    assert queued["status"] == "ACTIVATED" and queued["endTime"] is None
    assert [s["status"] for s in steps(client, tenant_key, result["triggerId"]).json()["resultData"]] == [
        "PENDING",
        "PENDING",
    ]
    assert jobs.run_due(core) == 1
    done = history(client, tenant_key, result["triggerId"]).json()["resultData"]
    assert done["status"] == "COMPLETED" and done["endTime"] is not None


def test_history_reports_the_run_in_lumas_fields(client, tenant_key, examples, core):
    core.clock = TickingClock()
    trigger_id = triggered(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="hello")
    body = history(client, tenant_key, trigger_id).json()
    assert body["statusLine"] == "Successfully retrieved workflow history record."
    run = body["resultData"]
    assert run["triggerId"] == trigger_id and run["workflowIdentifier"] == "sample_workflow"
    assert (run["initiatorContactId"], run["initiatorApplicationId"]) == (1, -2)
    assert json.loads(run["inputParameters"]) == {"sample_workflow_input_parameter1": "hello"}
    assert run["status"] == "COMPLETED" and run["errorMessage"] is None
    assert run["endTime"] > run["startTime"] and run["timeSpent"] == run["endTime"] - run["startTime"]
    assert run["href"] == f"/api/v1/workflowHistory/{run['id']}"


def test_the_href_leads_back_to_the_same_record(client, tenant_key, examples):
    trigger_id = triggered(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="hello")
    run = history(client, tenant_key, trigger_id).json()["resultData"]
    again = client.get("/gateway" + run["href"], headers=tenant_key).json()["resultData"]
    assert again == run


def test_every_step_records_its_start_end_and_output(client, tenant_key, examples, core):
    core.clock = TickingClock()
    trigger_id = triggered(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="hello")
    run = history(client, tenant_key, trigger_id).json()["resultData"]
    body = steps(client, tenant_key, trigger_id).json()
    assert body["statusLine"] == "Successfully retrieved workflow step history records."
    echo, shout = body["resultData"]
    assert (echo["stepId"], echo["activityName"], echo["sequence"]) == ("echo", "Echo the input", 1)
    assert (shout["stepId"], shout["activityName"], shout["sequence"]) == ("shout", "Upper-case the input", 2)
    assert echo["historyId"] == shout["historyId"] == run["id"]
    assert [echo["status"], shout["status"]] == ["COMPLETED", "COMPLETED"]
    assert json.loads(echo["outputParameters"]) == {"echoed": "You sent: hello"}
    assert json.loads(shout["outputParameters"]) == {"shouted": "HELLO"}
    moments = [
        run["startTime"],
        echo["startTime"],
        echo["endTime"],
        shout["startTime"],
        shout["endTime"],
        run["endTime"],
    ]
    assert moments == sorted(moments) and len(set(moments)) == len(moments)
    assert echo["timeSpent"] == echo["endTime"] - echo["startTime"] > 0


def test_a_step_whose_condition_holds_fails_the_run_and_skips_the_rest(client, tenant_key, examples):
    trigger_id = triggered(
        client, tenant_key, "provision_vm", hostname="web-1", cpus=8, memory_gb_per_cpu="4", quota_gb=16
    )
    run = history(client, tenant_key, trigger_id).json()["resultData"]
    assert run["status"] == "FAILED"
    assert run["errorMessage"] == "Step 2 (quota) failed: 32 GB exceeds the quota of 16 GB."
    size, quota, name = steps(client, tenant_key, trigger_id).json()["resultData"]
    assert (size["status"], json.loads(size["outputParameters"])) == ("COMPLETED", {"memory_gb": 32})
    assert (quota["status"], quota["errorMessage"]) == ("FAILED", "32 GB exceeds the quota of 16 GB.")
    assert name["status"] == "SKIPPED" and name["startTime"] is None and name["outputParameters"] is None


def test_the_same_workflow_completes_within_quota(client, tenant_key, examples):
    trigger_id = triggered(
        client, tenant_key, "provision_vm", hostname="web-1", cpus="2", memory_gb_per_cpu=1.5, quota_gb=16
    )
    assert history(client, tenant_key, trigger_id).json()["resultData"]["status"] == "COMPLETED"
    last = steps(client, tenant_key, trigger_id).json()["resultData"][-1]
    assert json.loads(last["outputParameters"]) == {"fqdn": "web-1.example.internal"}


def test_step_history_filters_orders_and_pages(client, tenant_key, examples, core):
    core.clock = TickingClock()
    trigger_id = triggered(
        client, tenant_key, "provision_vm", hostname="db", cpus=64, memory_gb_per_cpu=8, quota_gb=1
    )

    def ids(**params):
        return [s["stepId"] for s in steps(client, tenant_key, trigger_id, **params).json()["resultData"]]

    assert ids(filter="status==FAILED") == ["quota"]
    assert ids(filter="status!=failed", orderBy="stepId desc") == ["size", "name"]
    assert ids(orderBy="startTime desc") == ["quota", "size", "name"]  # the skipped step never started: last
    assert ids(filter="activityName=='*the*'", skip=1, top=1) == ["quota"]


def test_a_concurrent_reader_sees_the_run_and_step_running_while_a_step_works(
    client, tenant_key, examples, core, monkeypatch
):
    seen = []
    original = workflows.STEP_RUNNERS["set"]

    def watching(config, scope):
        run = workflows.list_steps(core, core_tenant(core), latest_trigger(core), listing.Listing())
        seen.append([step.status for step in run])
        return original(config, scope)

    monkeypatch.setitem(workflows.STEP_RUNNERS, "set", watching)
    triggered(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="x")
    assert seen == [["running", "pending"]]


def core_tenant(core):
    from sqlalchemy import select

    from tokensmith.models import Tenant

    with core.db.read() as session:
        return session.scalar(select(Tenant.id))


def latest_trigger(core):
    from sqlalchemy import select

    from tokensmith.models import WorkflowRun

    with core.db.read() as session:
        return session.scalar(select(WorkflowRun.trigger_id).order_by(WorkflowRun.id.desc()))


def test_an_unexpected_error_in_a_step_fails_the_run_instead_of_leaving_it_running(
    client, tenant_key, examples, monkeypatch
):
    def broken(config, scope):
        raise RuntimeError("bug")

    monkeypatch.setitem(workflows.STEP_RUNNERS, "compute", broken)
    trigger_id = triggered(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="x")
    run = history(client, tenant_key, trigger_id).json()["resultData"]
    assert run["status"] == "FAILED" and "internal error (RuntimeError)" in run["errorMessage"]


# --- trigger validation -----------------------------------------------------------------------------


def errors_of(response):
    assert response.status_code == 400, response.text
    return {error["field"]: error["message"] for error in response.json()["errors"]}


def test_trigger_reports_every_variable_problem_at_once_with_the_definitions_messages(
    client, tenant_key, examples
):
    response = trigger(
        client, tenant_key, "reset_user_password", username="Bad Name", new_password_length=8, colour="red"
    )
    assert errors_of(response) == {
        "variables.username": "username must be 3-32 lower-case letters, digits, '.', '_' or '-', "
        "starting with a letter.",
        "variables.new_password_length": "New passwords need at least 12 characters.",
        "variables.colour": "colour is not an input parameter of this workflow.",
    }
    assert response.json()["errors"][0]["code"] == "VALIDATION_ERROR"


def test_trigger_refuses_a_missing_required_variable(client, tenant_key, examples):
    assert errors_of(trigger(client, tenant_key, "sample_workflow")) == {
        "variables.sample_workflow_input_parameter1": "sample_workflow_input_parameter1 is required."
    }


def test_trigger_refuses_the_wrong_type_and_an_out_of_range_value(client, tenant_key, examples):
    response = trigger(
        client,
        tenant_key,
        "provision_vm",
        hostname="web",
        cpus="two",
        memory_gb_per_cpu=0.25,
        quota_gb=True,
        ip="300.1.1.1",
    )
    assert errors_of(response) == {
        "variables.cpus": "cpus must be a whole number.",
        "variables.memory_gb_per_cpu": "memory_gb_per_cpu must be at least 0.5.",
        "variables.quota_gb": "quota_gb must be a whole number.",
        "variables.ip": "ip must be an IPv4 or IPv6 address.",
    }


def test_a_refused_trigger_records_no_run(client, tenant_key, examples, core):
    trigger(client, tenant_key, "sample_workflow")
    assert latest_trigger(core) is None


def test_trigger_of_an_unknown_workflow_is_a_404_envelope(client, tenant_key, examples):
    response = trigger(client, tenant_key, "no_such_workflow")
    assert (
        response.status_code == 404
        and response.json()["statusLine"] == "No workflow definition has this identifier."
    )


MALFORMED_TRIGGERS = [
    {},
    {"workflowIdentifier": "has space"},
    {"workflowIdentifier": "x", "variables": []},
    {"workflowIdentifier": "x", "initiatorContactId": "1"},
    {"workflowIdentifier": "x", "initiatorContactId": 2**31},
]


def test_a_malformed_trigger_body_is_a_400_envelope(client, tenant_key):
    for body in MALFORMED_TRIGGERS:
        response = client.post(f"{BASE}/workflow/trigger", json=body, headers=tenant_key)
        assert response.status_code == 400 and response.json()["status"] == "Failure", body


def test_history_of_an_unknown_run_is_a_404_envelope(client, tenant_key):
    assert history(client, tenant_key, str(uuid.uuid4())).status_code == 404
    assert history(client, tenant_key, "123").status_code == 404
    assert steps(client, tenant_key, str(uuid.uuid4())).status_code == 404
    assert history(client, tenant_key, "not-an-id").status_code == 400


def test_a_nul_character_in_a_variable_never_breaks_a_run(client, tenant_key, tenant, core):
    shout = {
        "identifier": "shout",
        "name": "Shout",
        "inputParameters": {"parameters": [{"parameter": "who", "dataType": "TEXT", "required": True}]},
        "steps": [
            {
                "id": "refuse",
                "name": "Refuse",
                "kind": "fail_if",
                "left": "${who}",
                "op": "!=",
                "right": "",
                "message": "Refused ${who}",
            }
        ],
    }
    workflows.import_definitions(core, tenant["tenantExternalId"], wire.definitions_from_document([shout]))
    trigger_id = triggered(client, tenant_key, "shout", who="a\x00b")
    run = history(client, tenant_key, trigger_id).json()["resultData"]
    assert run["status"] == "FAILED" and run["errorMessage"] == "Step 1 (refuse) failed: Refused a\ufffdb"
    assert json.loads(run["inputParameters"]) == {"who": "a\x00b"}
