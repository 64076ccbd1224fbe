"""Runs: triggering a definition, the runner that moves a run through its steps, and reading runs back.

A room of its own because a run is the one part of workflows with a life in time: it is recorded as
`running` with every step `pending`, and each step is then marked `running` with its start time, does
its work, and is marked `completed` (with its output) or `failed` (with the reason) with its end time,
each in its own transaction, so a concurrent reader sees the run move. The first failed step fails the
run and the remaining steps are `skipped`; otherwise the run is `completed`. Times come from the core
clock. The order of those changes is `transitions`, pure; `execute` only records them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tokensmith import audit, listing
from tokensmith.core import Core
from tokensmith.errors import InvalidValue, NotFound
from tokensmith.models import WorkflowDefinition, WorkflowRun, WorkflowStep
from tokensmith.workflows.definitions import Definition, Step
from tokensmith.workflows.steps import STEP_RUNNERS, StepFailed
from tokensmith.workflows.storage import definition_of
from tokensmith.workflows.variables import check_variables, finite

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"
PENDING, SKIPPED = "pending", "skipped"
COLUMN_INT = (-(2**31), 2**31 - 1)  # initiator and history ids are stored in 32-bit integer columns

STEP_COLUMNS = {
    "activity_name": WorkflowStep.activity_name,
    "step_id": WorkflowStep.step_id,
    "status": WorkflowStep.status,
    "start_time": WorkflowStep.start_time,
    "end_time": WorkflowStep.end_time,
    "position": WorkflowStep.position,
}


@dataclass(frozen=True)
class Run:
    """A run as a dialect presents it: the row and the identifier of the workflow it ran."""

    record: WorkflowRun
    identifier: str


@dataclass(frozen=True)
class Transition:
    """One change the runner records: of the step at `position`, or of the run itself when it is None."""

    position: int | None
    status: str
    output: dict[str, Any] | None = None
    error: str | None = None


def storable(text: str) -> str:
    """Text for a text column: variables may hold NUL, which PostgreSQL cannot store in one."""
    return text.replace("\x00", "\ufffd")


def transitions(steps: Sequence[Step], values: dict[str, Any]) -> Iterator[Transition]:
    """The life of a run, in order. A step is `running` before it works (the caller records that before
    asking for the next change, which is when the step runs); an unexpected error fails its step like any
    other, so a bug never leaves a run `running`. The last change is the run's own."""
    scope = dict(values)
    failure: str | None = None
    for index, step in enumerate(steps):
        if failure is not None:
            yield Transition(index, SKIPPED)
            continue
        yield Transition(index, RUNNING)
        try:
            output = STEP_RUNNERS[step.kind](step.config, scope)
        except StepFailed as exc:
            failure = storable(f"Step {index + 1} ({step.id}) failed: {exc}")
            yield Transition(index, FAILED, error=storable(str(exc)))
            continue
        except Exception as exc:  # a bug must not leave the run running forever
            failure = f"Step {index + 1} ({step.id}) failed: internal error ({type(exc).__name__})."
            yield Transition(index, FAILED, error=failure)
            continue
        scope.update(output)
        yield Transition(index, COMPLETED, output=output)
    yield Transition(None, FAILED if failure else COMPLETED, error=failure)


def _checked_initiator(name: str, value: int | None) -> int | None:
    if value is not None and not COLUMN_INT[0] <= value <= COLUMN_INT[1]:
        raise InvalidValue(name, f"{name} must fit in 32 bits.")
    return value


def trigger(
    core: Core,
    tenant_id: int,
    identifier: str,
    variables: dict[str, Any],
    *,
    initiator_contact_id: int | None = None,
    initiator_application_id: int | None = None,
    initiation_info: dict[str, Any] | None = None,
) -> Run:
    """Validate, record and run a workflow of this tenant; returns the finished run."""
    with core.db.read() as session:
        row = session.scalar(
            select(WorkflowDefinition).where(
                WorkflowDefinition.tenant_id == tenant_id, WorkflowDefinition.identifier == identifier
            )
        )
        if row is None:
            raise NotFound("No workflow definition has this identifier.")
        definition_id, definition = row.id, definition_of(row)
    values = check_variables(definition.parameters, variables)
    if initiation_info is not None and not finite(initiation_info):
        raise InvalidValue(
            "initiation_info", "initiation_info is nested too deeply or holds a non-finite number."
        )
    now = core.clock.now()
    with core.db.write() as session:
        run = WorkflowRun(
            trigger_id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            definition_id=definition_id,
            status=RUNNING,
            variables=values,
            initiator_contact_id=_checked_initiator("initiator_contact_id", initiator_contact_id),
            initiator_application_id=_checked_initiator("initiator_application_id", initiator_application_id),
            initiation_info=initiation_info,
            start_time=now,
        )
        session.add(run)
        session.flush()
        rows = [
            WorkflowStep(
                run_id=run.id, position=index, step_id=step.id, activity_name=step.name, status=PENDING
            )
            for index, step in enumerate(definition.steps)
        ]
        session.add_all(rows)
        session.flush()
        step_ids = [row.id for row in rows]
        audit.record(
            session,
            now,
            "workflow.trigger",
            actor=f"tenant:{tenant_id}",
            target=run.trigger_id,
            workflow=identifier,
        )
    execute(core, run.id, definition, values, step_ids)
    return get_run(core, tenant_id, run.trigger_id)


def execute(
    core: Core, run_id: int, definition: Definition, values: dict[str, Any], step_ids: list[int]
) -> None:
    """The runner: records each of the run's `transitions` in its own transaction, with the time."""
    if len(step_ids) != len(definition.steps):
        raise ValueError("one step row per step of the definition")
    for change in transitions(definition.steps, values):
        if change.position is None:
            with core.db.write() as session:
                run = session.get(WorkflowRun, run_id)
                run.status, run.end_time, run.error = change.status, core.clock.now(), change.error
        elif change.status == SKIPPED:
            _update_step(core, step_ids[change.position], status=SKIPPED)
        elif change.status == RUNNING:
            _update_step(core, step_ids[change.position], status=RUNNING, start_time=core.clock.now())
        else:  # only what the step has: a JSON column would store a None output as JSON null
            ended = {"output": change.output, "error": change.error}
            _update_step(
                core,
                step_ids[change.position],
                status=change.status,
                end_time=core.clock.now(),
                **{name: value for name, value in ended.items() if value is not None},
            )


def _update_step(core: Core, step_id: int, **values: Any) -> None:
    with core.db.write() as session:
        step = session.get(WorkflowStep, step_id)
        for name, value in values.items():
            setattr(step, name, value)


def run_condition(key: str) -> Any:
    """A run is named by its trigger id (a UUID) or by its numeric history id."""
    text = key.strip()
    if text.isascii() and text.isdigit():
        number = int(text)
        if number > COLUMN_INT[1]:  # ids live in a 32-bit column: a larger one names nothing
            raise NotFound("No workflow run has this trigger id.")
        return WorkflowRun.id == number
    try:
        return WorkflowRun.trigger_id == str(uuid.UUID(text))
    except ValueError as exc:
        raise NotFound("No workflow run has this trigger id.") from exc


def get_run(core: Core, tenant_id: int, key: str) -> Run:
    """Another tenant's run is as unknown as a made-up id."""
    with core.db.read() as session:
        row = session.execute(
            select(WorkflowRun, WorkflowDefinition.identifier)
            .join(WorkflowDefinition, WorkflowDefinition.id == WorkflowRun.definition_id)
            .where(run_condition(key), WorkflowRun.tenant_id == tenant_id)
        ).first()
    if row is None:
        raise NotFound("No workflow run has this trigger id.")
    return Run(record=row[0], identifier=row[1])


def list_steps(core: Core, tenant_id: int, key: str, query: listing.Listing) -> list[WorkflowStep]:
    run = get_run(core, tenant_id, key).record
    with core.db.read() as session:
        statement = select(WorkflowStep).where(WorkflowStep.run_id == run.id)
        return list(session.scalars(listing.apply(statement, query, STEP_COLUMNS, WorkflowStep.position)))
