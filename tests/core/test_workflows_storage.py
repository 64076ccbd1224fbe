"""A definition's stored shape (tokensmith.workflows.storage): what is written is what is read back."""

from tokensmith.models import WorkflowDefinition
from tokensmith.workflows.definitions import Definition, Step
from tokensmith.workflows.storage import definition_of, stored_parameters, stored_steps
from tokensmith.workflows.variables import Constraint, Parameter


def test_a_definition_survives_the_round_trip_through_its_row():
    original = Definition(
        identifier="wf",
        name="Sized",
        description="Sizes a thing.",
        parameters=(
            Parameter("n", "integer", True, (Constraint("minimum", 3, "Three or more."),)),
            Parameter(
                "tags", "string_list", constraints=(Constraint("required"), Constraint("pattern", "[a-z]+"))
            ),
        ),
        steps=(
            Step("s1", "double", "compute", {"op": "multiply", "args": ["${n}", 2], "into": "m"}),
            Step("s2", "check", "fail_if", {"left": "${m}", "op": ">", "right": 100}),
        ),
    )
    row = WorkflowDefinition(
        identifier=original.identifier,
        name=original.name,
        description=original.description,
        input_parameters=stored_parameters(original.parameters),
        steps=stored_steps(original.steps),
    )
    assert definition_of(row) == original


def test_a_row_without_parameters_or_steps_reads_as_none_of_either():
    row = WorkflowDefinition(
        identifier="wf", name="Empty", description=None, input_parameters=None, steps=None
    )
    assert definition_of(row) == Definition("wf", "Empty", None, (), ())
