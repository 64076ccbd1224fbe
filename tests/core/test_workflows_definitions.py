"""A definition's checks on import (tokensmith.workflows.definitions): what a run may take for granted."""

from dataclasses import replace

import pytest

from tokensmith.errors import InvalidValue
from tokensmith.workflows.definitions import MAX_STEPS, Definition, Step, check_definition
from tokensmith.workflows.variables import Constraint, Parameter

N = Parameter("n", "integer", True)


def definition(*steps: Step, parameters=(N,), **fields) -> Definition:
    fields = {"identifier": "wf", "name": "A workflow", "description": None, **fields}
    steps = steps or (Step("s1", "double", "compute", {"op": "multiply", "args": ["${n}", 2], "into": "m"}),)
    return Definition(parameters=tuple(parameters), steps=tuple(steps), **fields)


def refusal(candidate: Definition) -> str:
    with pytest.raises(InvalidValue) as caught:
        check_definition(candidate)
    assert caught.value.field == "definition"
    return str(caught.value.message)


def test_a_good_definition_comes_back_with_its_name_trimmed_and_bounds_parsed():
    checked = check_definition(
        definition(
            name="  Sized  ",
            parameters=[Parameter("n", "integer", constraints=(Constraint("minimum", "3"),))],
        )
    )
    assert checked.name == "Sized"
    assert checked.parameters[0].constraints == (Constraint("minimum", 3),)
    assert checked.steps[0].config == {"op": "multiply", "args": ["${n}", 2], "into": "m"}


def test_a_later_step_may_use_an_earlier_steps_output_but_not_the_reverse():
    first = Step("s1", "one", "set", {"values": {"a": "${n}"}})
    second = Step("s2", "two", "compute", {"op": "add", "args": ["${a}", 1], "into": "b"})
    check_definition(definition(first, second))
    assert refusal(definition(second, first)) == (
        "Workflow 'wf', step 1: refers to a, which nothing defines before it."
    )


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        (Parameter("1n", "text"), "a parameter name is a letter or '_' then letters, digits, '_'."),
        (Parameter("n", "money"), "unknown data type 'money'."),
        (Parameter("n", "text", "yes"), "required must be true or false."),
        (Parameter("n", "text", constraints=(Constraint("unique"),)), "unknown constraint 'unique'."),
        (
            Parameter("n", "boolean", constraints=(Constraint("minimum", 1),)),
            "minimum does not apply to data type 'boolean'.",
        ),
        (
            Parameter("n", "integer", constraints=(Constraint("minimum", "low"),)),
            "the value of minimum must be a whole number.",
        ),
        (
            Parameter("n", "text", constraints=(Constraint("length", -1),)),
            "the value of length must not be negative.",
        ),
        (
            Parameter(
                "n",
                "text",
                constraints=(Constraint("pattern", "("),),
            ),
            "the pattern does not compile (missing ), unterminated subpattern at position 0).",
        ),
        (
            Parameter("n", "text", constraints=(Constraint("required", None, 5),)),
            "a constraint's message must be text.",
        ),
    ],
)
def test_a_parameter_the_checks_cannot_enforce_faithfully_is_refused(parameter, message):
    step = Step("s1", "one", "set", {"values": {"a": 1}})
    assert (
        refusal(definition(step, parameters=[parameter]))
        == f"Workflow 'wf', parameter {parameter.name!r}: {message}"
    )


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (Step("s1", "x", "shell", {}), "unknown kind 'shell'; kinds: set, compute, fail_if, wait."),
        (
            Step("s1", "x", "compute", {"op": "add", "args": [1], "into": "m", "extra": 1}),
            "a compute step takes args, into, op; unknown: extra.",
        ),
        (
            Step("s1", "x", "fail_if", {"left": 1, "op": "=="}),
            "a fail_if step takes left, message, op, right; missing: right.",
        ),
        (
            Step("s1", "x", "compute", {"op": "pow", "args": [1], "into": "m"}),
            "unknown op 'pow'; ops: add, subtract, multiply, divide, concat, upper, lower, length.",
        ),
        (
            Step("s1", "x", "compute", {"op": "subtract", "args": [1], "into": "m"}),
            "subtract takes 2 to 2 scalar args.",
        ),
        (
            Step("s1", "x", "compute", {"op": "add", "args": [[1]], "into": "m"}),
            "add takes 1 to 20 scalar args.",
        ),
        (Step("s1", "x", "compute", {"op": "add", "args": [1], "into": "1m"}), "into must be a name."),
        (Step("s1", "x", "set", {"values": {}}), "values must be a non-empty mapping."),
        (Step("s1", "x", "set", {"values": {"a": {"b": 1}}}), "'a' must be a name with a scalar value."),
        (
            Step("s1", "x", "fail_if", {"left": 1, "op": "~", "right": 2}),
            "unknown op '~'; ops: ==, !=, <, <=, >, >=, matches, contains.",
        ),
        (
            Step("s1", "x", "fail_if", {"left": [1], "op": "==", "right": 2}),
            "left must be a scalar or a template.",
        ),
        (
            Step("s1", "x", "fail_if", {"left": "a", "op": "matches", "right": "["}),
            "the pattern does not compile (unterminated character set at position 0).",
        ),
        (
            Step("s 1", "x", "set", {"values": {"a": 1}}),
            "needs a unique id of letters, digits, '_', '.' or '-'.",
        ),
        (Step("s1", " ", "set", {"values": {"a": 1}}), "needs a name of at most 255 characters."),
    ],
)
def test_a_step_the_runner_could_not_run_is_refused_naming_it(step, message):
    assert refusal(definition(step)) == f"Workflow 'wf', step 1: {message}"


def test_a_pattern_built_from_a_placeholder_is_left_for_the_run_to_judge():
    step = Step("s1", "x", "fail_if", {"left": "a", "op": "matches", "right": "${n}["})
    check_definition(definition(step))


def test_step_ids_and_parameter_names_must_be_unique():
    step = Step("s1", "x", "set", {"values": {"a": 1}})
    assert refusal(definition(step, step)) == (
        "Workflow 'wf', step 2: needs a unique id of letters, digits, '_', '.' or '-'."
    )
    twice = [Parameter("n", "text"), Parameter("n", "integer")]
    assert (
        refusal(definition(step, parameters=twice)) == "Workflow 'wf': input parameter names must be unique."
    )


def test_the_whole_definition_is_bounded_and_named():
    step = Step("s1", "x", "set", {"values": {"a": 1}})
    assert refusal(definition(identifier="no spaces")) == (
        "Identifier 'no spaces' must be 1-255 letters, digits, '_', '.' or '-'."
    )
    assert refusal(definition(name="")) == "Workflow 'wf': needs a name of at most 255 characters."
    assert refusal(definition(description=3)) == "Workflow 'wf': the description must be text."
    many = [replace(step, id=f"s{i}") for i in range(MAX_STEPS + 1)]
    assert refusal(definition(*many)) == f"Workflow 'wf': needs 1 to {MAX_STEPS} steps."


def test_nul_anywhere_in_a_definition_is_refused():
    step = Step("s1", "x", "set", {"values": {"a": "nul\x00here"}})
    assert refusal(definition(step)) == "Workflow 'wf': text may not contain NUL characters."
