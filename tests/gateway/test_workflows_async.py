"""Runs in the background: the `wait` step (no worker held, the core clock decides), a run whose worker
died taken over after the lease, a run whose job dies failed with the reason, a run unaffected by a
re-import, and W5 (one step's record in detail)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from handlers.gateway import wire
from tests.gateway.conftest import BASE, trigger
from tokensmith import jobs, workflows
from tokensmith.errors import InvalidValue
from tokensmith.models import Job as JobRow
from tokensmith.models import WorkflowRun, WorkflowStep
from tokensmith.workflows import runs

NAP = {
    "identifier": "nap",
    "name": "Nap",
    "inputParameters": {"parameters": [{"parameter": "who", "dataType": "TEXT", "required": True}]},
    "steps": [
        {"id": "hello", "name": "Say hello", "kind": "set", "values": {"greeting": "Hello ${who}"}},
        {"id": "nap", "name": "Nap", "kind": "wait", "seconds": 90},
        {
            "id": "bye",
            "name": "Say bye",
            "kind": "compute",
            "op": "concat",
            "args": ["${greeting}", "!"],
            "into": "x",
        },
    ],
}


@pytest.fixture
def nap(core, tenant):
    workflows.import_definitions(core, tenant["tenantExternalId"], wire.definitions_from_document([NAP]))


def start(client, tenant_key, who="you"):
    response = trigger(client, tenant_key, "nap", who=who)
    assert response.status_code == 200, response.text
    return response.json()["resultData"]["triggerId"]


def history(client, tenant_key, trigger_id):
    return client.get(f"{BASE}/workflowhistory/{trigger_id}", headers=tenant_key).json()["resultData"]


def step_statuses(client, tenant_key, trigger_id):
    found = client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory", headers=tenant_key).json()
    return [s["status"] for s in found["resultData"]]


def job_row(core):
    with core.db.read() as session:
        return session.scalar(select(JobRow).where(JobRow.kind == runs.RUN_JOB))


def test_a_wait_step_pauses_the_run_by_the_core_clock_without_holding_a_worker(
    client, tenant_key, nap, core, clock
):
    trigger_id = start(client, tenant_key)
    assert jobs.run_due(core) == 1  # ran up to the wait and returned: no worker is held for 90 s
    assert history(client, tenant_key, trigger_id)["status"] == "RUNNING"
    assert step_statuses(client, tenant_key, trigger_id) == ["COMPLETED", "RUNNING", "PENDING"]
    row = job_row(core)
    assert row.status == jobs.QUEUED and row.run_at == clock.now() + timedelta(seconds=90)
    assert row.failures == 0 and "waits until" in row.note
    clock.advance(seconds=89)
    assert jobs.run_due(core) == 0
    clock.advance(seconds=1)
    assert jobs.run_due(core) == 1
    run = history(client, tenant_key, trigger_id)
    assert run["status"] == "COMPLETED" and run["timeSpent"] >= 90_000
    assert step_statuses(client, tenant_key, trigger_id) == ["COMPLETED"] * 3
    records = client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory", headers=tenant_key).json()
    hello, waited, bye = records["resultData"]
    assert waited["timeSpent"] == 90_000 and json.loads(waited["outputParameters"]) == {"waited": 90}
    assert json.loads(bye["outputParameters"]) == {"x": "Hello you!"}  # the scope survived the pause


def test_a_run_whose_worker_died_mid_step_is_taken_over_after_the_lease_and_completes(
    client, tenant_key, examples, core, clock
):
    response = trigger(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="hi")
    trigger_id = response.json()["resultData"]["triggerId"]
    lease = timedelta(seconds=60)
    (job,) = jobs.claim(core, "doomed", lease=lease)
    started = clock.now()
    with core.db.write() as session:  # the worker got as far as starting the first step, then died
        run = session.scalar(select(WorkflowRun).where(WorkflowRun.trigger_id == trigger_id))
        run.status = runs.RUNNING
        session.execute(
            update(WorkflowStep)
            .where(WorkflowStep.run_id == run.id, WorkflowStep.position == 0)
            .values(status=runs.RUNNING, start_time=started)
        )
    assert jobs.run_due(core, lease=lease) == 0  # the lease still holds
    clock.advance(seconds=61)
    assert jobs.run_due(core, lease=lease) == 1
    found = history(client, tenant_key, trigger_id)
    assert found["status"] == "COMPLETED"
    echo = client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory", headers=tenant_key).json()
    assert echo["resultData"][0]["startTime"] == wire.millis(started)  # resumed, not started anew
    assert job_row(core).last_error == jobs.LOST and job_row(core).attempts == 2


def test_a_run_whose_job_dies_is_failed_with_the_reason_never_left_running(
    client, tenant_key, examples, core, clock
):
    response = trigger(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="hi")
    trigger_id = response.json()["resultData"]["triggerId"]
    lease = timedelta(seconds=10)
    for _ in range(runs.RUN_ATTEMPTS):  # every worker that takes it dies
        assert jobs.claim(core, "doomed", lease=lease)
        clock.advance(seconds=11)
    jobs.run_due(core, lease=lease)
    found = history(client, tenant_key, trigger_id)
    assert found["status"] == "FAILED" and found["endTime"] is not None
    assert found["errorMessage"].startswith("The run could not be completed: Gave up after 5 failures")
    assert step_statuses(client, tenant_key, trigger_id) == ["SKIPPED", "SKIPPED"]
    assert job_row(core).status == jobs.DEAD


def test_a_run_keeps_the_steps_it_was_triggered_with_when_the_definition_is_reimported(
    client, tenant_key, tenant, nap, core
):
    trigger_id = start(client, tenant_key)
    changed = dict(NAP, steps=[{"id": "only", "name": "Only", "kind": "set", "values": {"a": "b"}}])
    workflows.import_definitions(core, tenant["tenantExternalId"], wire.definitions_from_document([changed]))
    jobs.run_due(core)
    assert step_statuses(client, tenant_key, trigger_id) == ["COMPLETED", "RUNNING", "PENDING"]


def test_a_run_is_triggered_only_with_its_job_and_its_job_runs_it_once(client, tenant_key, examples, core):
    response = trigger(client, tenant_key, "sample_workflow", sample_workflow_input_parameter1="x")
    trigger_id = response.json()["resultData"]["triggerId"]
    row = job_row(core)
    assert row.key == f"{runs.RUN_JOB}:{trigger_id}" and row.payload == {
        "run_id": history(client, tenant_key, trigger_id)["id"]
    }
    jobs.run_due(core)
    runs.advance(core, row.payload["run_id"])  # a second delivery of the job changes nothing
    assert step_statuses(client, tenant_key, trigger_id) == ["COMPLETED", "COMPLETED"]


@pytest.mark.parametrize("seconds", [0, -1, 86401, "5", True, None, float("inf")])
def test_a_wait_step_needs_a_number_of_seconds_above_zero_and_at_most_a_day(seconds):
    step = workflows.Step("w", "Wait", "wait", {"seconds": seconds})
    definition = workflows.Definition("wf", "wf", None, (), (step,))
    with pytest.raises(InvalidValue, match="seconds must be a number above 0 and at most 86400"):
        workflows.check_definition(definition)


# --- W5 ---------------------------------------------------------------------------------------------


def test_one_step_record_in_detail_by_its_id_or_its_step_id(client, tenant_key, nap, core, clock):
    trigger_id = start(client, tenant_key)
    jobs.run_due(core)
    listed = client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory", headers=tenant_key).json()
    waiting = listed["resultData"][1]
    by_id = client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory/{waiting['id']}", headers=tenant_key)
    assert by_id.status_code == 200, by_id.text
    body = by_id.json()
    assert body["statusLine"] == "Successfully retrieved workflow step history record."
    detail = body["resultData"]
    assert {key: detail[key] for key in waiting} == waiting
    assert detail["triggerId"] == trigger_id and detail["workflowIdentifier"] == "nap"
    assert (detail["runStatus"], detail["stepType"]) == ("RUNNING", "WAIT")
    assert json.loads(detail["configuration"]) == {"kind": "wait", "seconds": 90}
    by_step_id = client.get(f"{BASE}/workflowHistory/{trigger_id}/stepHistory/nap", headers=tenant_key).json()
    assert by_step_id["resultData"] == detail


def test_a_step_of_no_run_or_of_another_run_is_a_404_envelope(client, tenant_key, nap, make_tenant, core):
    from tests.gateway.conftest import key

    trigger_id = start(client, tenant_key)
    missing = client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory/nothing", headers=tenant_key)
    assert missing.status_code == 404 and missing.json()["statusLine"] == "This run has no step with this id."
    assert (
        client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory/999999", headers=tenant_key).status_code
        == 404
    )
    other = key(make_tenant("tenant2")["tenantAccessToken"])
    foreign = client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory/nap", headers=other)
    assert foreign.status_code == 404
    bad = client.get(f"{BASE}/workflowhistory/{trigger_id}/stephistory/no%20spaces", headers=tenant_key)
    assert bad.status_code == 400 and bad.json()["status"] == "Failure"
