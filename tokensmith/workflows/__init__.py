"""A tenant's workflows: definitions, triggering with validated variables, and the background runner.

A definition has typed input parameters (each with constraints) and ordered steps. Triggering checks
the variables against the parameters (every problem is reported, not just the first), records a run
`queued` and enqueues its job in the same transaction; a worker (tokensmith/jobs.py) then runs its
steps in order, so a concurrent reader sees the run move.

The rooms, each importing only those before it:

- `variables`   — parameters, the eighteen data types and the constraints a trigger's variables meet;
- `steps`       — the step kinds (`set`, `compute`, `fail_if`, `wait`) and their templates, pure;
- `definitions` — a definition and the checks it passes on import, pure;
- `storage`     — a tenant's definitions as rows: import and listing;
- `runs`        — triggering, the runner's transitions and recording them (the run's job), reading
                  runs and steps back.

Nothing here knows a dialect's field names: the dialect translates its definition documents into
`Definition` objects and presents runs and steps in its own words. Callers use the names below.
"""

from tokensmith.workflows.definitions import Definition, Step, check_definition
from tokensmith.workflows.runs import Run, StepRecord, advance, get_run, get_step, list_steps, trigger
from tokensmith.workflows.steps import STEP_RUNNERS, StepFailed
from tokensmith.workflows.storage import import_definitions, list_definitions
from tokensmith.workflows.variables import Constraint, InvalidVariables, Parameter, check_variables

__all__ = [
    "STEP_RUNNERS",
    "Constraint",
    "Definition",
    "InvalidVariables",
    "Parameter",
    "Run",
    "Step",
    "StepFailed",
    "StepRecord",
    "advance",
    "check_definition",
    "check_variables",
    "get_run",
    "get_step",
    "import_definitions",
    "list_definitions",
    "list_steps",
    "trigger",
]
