"""A tenant's workflows: definitions, triggering with validated variables, and the in-process runner.

A definition has typed input parameters (each with constraints) and ordered steps. Triggering checks
the variables against the parameters (every problem is reported, not just the first), records a run
and runs its steps in order inside the trigger call, so a concurrent reader sees the run move.

The rooms, each importing only those before it:

- `variables`   — parameters, the eighteen data types and the constraints a trigger's variables meet;
- `steps`       — the step kinds (`set`, `compute`, `fail_if`) and their templates, pure;
- `definitions` — a definition and the checks it passes on import, pure;
- `storage`     — a tenant's definitions as rows: import and listing;
- `runs`        — triggering, the runner's transitions and recording them, reading runs back.

Nothing here knows a dialect's field names: the dialect translates its definition documents into
`Definition` objects and presents runs and steps in its own words. Callers use the names below.
"""

from tokensmith.workflows.definitions import Definition, Step, check_definition
from tokensmith.workflows.runs import Run, get_run, list_steps, trigger
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
    "check_definition",
    "check_variables",
    "get_run",
    "import_definitions",
    "list_definitions",
    "list_steps",
    "trigger",
]
