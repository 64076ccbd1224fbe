"""Runs: triggering a definition, the runner that moves a run through its steps, and reading runs back.

A room of its own because a run is the one part of workflows with a life in time. Triggering records the
run `queued` with every step `pending` and, in the same transaction, enqueues its job (`workflow.run`,
tokensmith/jobs.py): the reply carries the trigger id at once, and a run acknowledged is a run that will
run, whatever crashes in between. The job's handler (`advance`) marks the run `running`; each step is
then marked `running` with its start time, does its work, and is marked `completed` (with its output) or
`failed` (with the reason) with its end time, each in its own transaction, so a concurrent reader sees
the run move. The first failed step fails the run and the remaining steps are `skipped`; otherwise the
run is `completed`. Times come from the core clock. The order of those changes is `transitions`, pure;
`advance` only records them.

A `wait` step holds no worker: it is recorded `running` and the job is put back (`jobs.Retry`) until its
start time plus its seconds; the job then continues from that step. A run is resumable at every point:
`advance` starts from the first step not `completed`, with the outputs of the completed ones in scope,
so a run whose worker died (its job's lease expired mid-step) is taken over and carries on, re-running
the interrupted step (the step kinds are pure, so running one twice is harmless). A job that cannot
finish at all (its worker lost `RUN_ATTEMPTS` times, or the database failing it) dies, and `_run_died`
fails the run with the reason in its history: a run never stays `running`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tokensmith import audit, jobs, listing
from tokensmith.core import Core
from tokensmith.errors import InvalidValue, NotFound
from tokensmith.models import WorkflowDefinition, WorkflowRun, WorkflowStep
from tokensmith.workflows.definitions import Definition, Step
from tokensmith.workflows.steps import STEP_RUNNERS, StepFailed
from tokensmith.workflows.storage import definition_of, steps_of, stored_steps
from tokensmith.workflows.variables import check_variables, finite

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
PENDING, SKIPPED = "pending", "skipped"
FINISHED = (COMPLETED, FAILED)
RUN_JOB = "workflow.run"
RUN_ATTEMPTS = 5  # failures (lost workers, database errors) before a run's job dies and fails the run
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


def transitions(steps: Sequence[Step], values: dict[str, Any], start: int = 0) -> Iterator[Transition]:
    """The life of a run, in order, from step `start` (the steps before it completed, their outputs are
    in `values`). A step is `running` before it works (the caller records that before asking for the
    next change, which is when the step runs); an unexpected error fails its step like any other, so a
    bug never leaves a run `running`. The last change is the run's own."""
    scope = dict(values)
    failure: str | None = None
    for index, step in enumerate(steps):
        if index < start:
            continue
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
    """Validate and record a run of this tenant's workflow, and enqueue its job in the same transaction;
    returns the run, `queued`. A worker runs it (`advance`)."""
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
            status=QUEUED,
            variables=values,
            initiator_contact_id=_checked_initiator("initiator_contact_id", initiator_contact_id),
            initiator_application_id=_checked_initiator("initiator_application_id", initiator_application_id),
            initiation_info=initiation_info,
            start_time=now,
            steps=stored_steps(definition.steps),
        )
        session.add(run)
        session.flush()
        session.add_all(
            WorkflowStep(
                run_id=run.id, position=index, step_id=step.id, activity_name=step.name, status=PENDING
            )
            for index, step in enumerate(definition.steps)
        )
        audit.record(
            session,
            now,
            "workflow.trigger",
            actor=f"tenant:{tenant_id}",
            target=run.trigger_id,
            workflow=identifier,
        )
        jobs.enqueue(session, RUN_JOB, {"run_id": run.id}, key=f"{RUN_JOB}:{run.trigger_id}", now=now)
    return Run(record=run, identifier=identifier)


@dataclass(frozen=True)
class _Progress:
    """Where a run stands when its job picks it up: the definition, its step rows by position, and the
    scope (variables plus the outputs of the completed steps) and position to continue from."""

    status: str
    definition: Definition
    step_rows: list[WorkflowStep]
    scope: dict[str, Any]
    start: int


def _progress(core: Core, run_id: int) -> _Progress | None:
    with core.db.read() as session:
        run = session.get(WorkflowRun, run_id)
        if run is None:  # deleted (a testing-mode reset): nothing to do
            return None
        definition = definition_of(session.get(WorkflowDefinition, run.definition_id))
        if run.steps is not None:  # the steps as triggered, whatever was imported since
            definition = dataclasses.replace(definition, steps=steps_of(run.steps))
        rows = list(
            session.scalars(
                select(WorkflowStep).where(WorkflowStep.run_id == run_id).order_by(WorkflowStep.position)
            )
        )
    scope, start = dict(run.variables or {}), len(rows)
    for row in rows:
        if row.status != COMPLETED:
            start = row.position
            break
        scope.update(row.output or {})
    return _Progress(run.status, definition, rows, scope, start)


def advance(core: Core, run_id: int) -> None:
    """The runner, as the run's job: records each of the run's `transitions` from where it stands, in
    its own transaction, with the time; a `wait` step puts the job back (`jobs.Retry`) until it ends."""
    progress = _progress(core, run_id)
    if progress is None or progress.status in FINISHED:
        return
    definition, rows = progress.definition, progress.step_rows
    if len(rows) != len(definition.steps):
        raise ValueError("one step row per step of the definition")
    if progress.status == QUEUED:
        with core.db.write() as session:
            session.get(WorkflowRun, run_id).status = RUNNING
    for change in transitions(definition.steps, progress.scope, progress.start):
        if change.position is None:
            with core.db.write() as session:
                run = session.get(WorkflowRun, run_id)
                run.status, run.end_time, run.error = change.status, core.clock.now(), change.error
        elif change.status == SKIPPED:
            _update_step(core, rows[change.position].id, status=SKIPPED)
        elif change.status == RUNNING:
            row = rows[change.position]
            started = row.start_time if row.status == RUNNING else core.clock.now()
            if row.status != RUNNING:  # a resumed step keeps the start it had
                _update_step(core, row.id, status=RUNNING, start_time=started)
            step = definition.steps[change.position]
            if step.kind == "wait":
                _wait(core, step, started)
        else:  # only what the step has: a JSON column would store a None output as JSON null
            ended = {"output": change.output, "error": change.error}
            _update_step(
                core,
                rows[change.position].id,
                status=change.status,
                end_time=core.clock.now(),
                **{name: value for name, value in ended.items() if value is not None},
            )


def _wait(core: Core, step: Step, started: datetime) -> None:
    """A `wait` step that has not waited its seconds yet puts the run's job back until it has."""
    until = started + timedelta(seconds=step.config["seconds"])
    remaining = until - core.clock.now()
    if remaining > timedelta(0):
        raise jobs.Retry(remaining, f"Step {step.id} waits until {until.isoformat()}.")


def _run_died(session: Session, job: jobs.Job, error: str, now: datetime) -> None:
    """The run's job gave up: fail the run with the reason, in the transaction that buries the job."""
    run = session.get(WorkflowRun, job.payload.get("run_id"))
    if run is None or run.status in FINISHED:
        return
    reason = storable(f"The run could not be completed: {error}")[:4000]
    for row in session.scalars(select(WorkflowStep).where(WorkflowStep.run_id == run.id)):
        if row.status == RUNNING:
            row.status, row.end_time, row.error = FAILED, now, reason
        elif row.status == PENDING:
            row.status = SKIPPED
    run.status, run.end_time, run.error = FAILED, now, reason


@jobs.handler(RUN_JOB, max_attempts=RUN_ATTEMPTS, on_dead=_run_died)
def _run_job(core: Core, job: jobs.Job) -> None:
    advance(core, job.payload["run_id"])


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


@dataclass(frozen=True)
class StepRecord:
    """One step's record in detail: the row, the run it belongs to, and the step as the run ran it."""

    record: WorkflowStep
    run: Run
    step: Step | None  # None for a run from before runs kept their steps, whose definition changed since


def get_step(core: Core, tenant_id: int, key: str, step_key: str) -> StepRecord:
    """A step of a run, named by its record's numeric `id` or by its `stepId` in the definition (a
    number names the record first: step ids may be digits too)."""
    run = get_run(core, tenant_id, key)
    text = step_key.strip()
    with core.db.read() as session:
        rows = list(
            session.scalars(
                select(WorkflowStep).where(
                    WorkflowStep.run_id == run.record.id,
                    WorkflowStep.step_id == text,
                )
            )
        )
        if text.isascii() and text.isdigit() and int(text) <= COLUMN_INT[1]:
            by_id = session.scalar(
                select(WorkflowStep).where(WorkflowStep.run_id == run.record.id, WorkflowStep.id == int(text))
            )
            rows = [by_id] if by_id is not None else rows
        if not rows:
            raise NotFound("This run has no step with this id.")
        record = rows[0]
        stored = run.record.steps
        if stored is None:
            definition = session.get(WorkflowDefinition, run.record.definition_id)
            stored = definition.steps if definition is not None else []
    steps = steps_of(stored)
    step = steps[record.position] if record.position < len(steps) else None
    if step is not None and step.id != record.step_id:
        step = None
    return StepRecord(record=record, run=run, step=step)
