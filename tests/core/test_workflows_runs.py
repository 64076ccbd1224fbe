"""A run's life as the runner records it (tokensmith.workflows.runs): the order of its transitions, pure,
and how a run is named."""

import pytest

from tokensmith.errors import NotFound
from tokensmith.workflows import runs
from tokensmith.workflows.definitions import Step
from tokensmith.workflows.runs import (
    COMPLETED,
    FAILED,
    RUNNING,
    SKIPPED,
    Transition,
    run_condition,
    transitions,
)

DOUBLE = Step("double", "Double it", "compute", {"op": "multiply", "args": ["${n}", 2], "into": "m"})
CHECK = Step(
    "check", "Check it", "fail_if", {"left": "${m}", "op": ">", "right": 10, "message": "${m} is too big"}
)
SAY = Step("say", "Say it", "set", {"values": {"text": "n=${n} m=${m}"}})


def test_every_step_runs_then_completes_in_order_and_outputs_flow_into_later_steps():
    assert list(transitions([DOUBLE, CHECK, SAY], {"n": 3})) == [
        Transition(0, RUNNING),
        Transition(0, COMPLETED, output={"m": 6}),
        Transition(1, RUNNING),
        Transition(1, COMPLETED, output={"condition": False}),
        Transition(2, RUNNING),
        Transition(2, COMPLETED, output={"text": "n=3 m=6"}),
        Transition(None, COMPLETED),
    ]


def test_the_first_failed_step_fails_the_run_and_the_rest_are_skipped_without_running():
    assert list(transitions([DOUBLE, CHECK, SAY], {"n": 6})) == [
        Transition(0, RUNNING),
        Transition(0, COMPLETED, output={"m": 12}),
        Transition(1, RUNNING),
        Transition(1, FAILED, error="12 is too big"),
        Transition(2, SKIPPED),
        Transition(None, FAILED, error="Step 2 (check) failed: 12 is too big"),
    ]


def test_a_step_is_running_before_it_does_its_work():
    seen = []
    changes = transitions([DOUBLE], {"n": "not a number"})
    seen.append(next(changes))
    assert seen == [Transition(0, RUNNING)]  # the step has not run yet: the caller records this first
    assert next(changes) == Transition(0, FAILED, error="'not a number' is not a number.")


def test_an_unexpected_error_fails_its_step_like_any_other(monkeypatch):
    def broken(config, scope):
        raise KeyError("bug")

    monkeypatch.setitem(runs.STEP_RUNNERS, "set", broken)
    failure = "Step 2 (say) failed: internal error (KeyError)."
    assert list(transitions([DOUBLE, SAY, CHECK], {"n": 1}))[3:] == [
        Transition(1, FAILED, error=failure),
        Transition(2, SKIPPED),
        Transition(None, FAILED, error=failure),
    ]


def test_nul_in_a_failure_is_replaced_so_that_every_database_stores_it():
    nul = Step("nul", "NUL", "fail_if", {"left": "a", "op": "==", "right": "a", "message": "bad\x00byte"})
    assert list(transitions([nul], {}))[1:] == [
        Transition(0, FAILED, error="bad\ufffdbyte"),
        Transition(None, FAILED, error="Step 1 (nul) failed: bad\ufffdbyte"),
    ]


def test_the_variables_given_are_not_changed_by_the_run():
    values = {"n": 2}
    list(transitions([DOUBLE], values))
    assert values == {"n": 2}


def test_a_run_is_named_by_its_trigger_id_or_its_history_id():
    trigger_id = "0b8f6c8e-3c1a-4f7e-9a51-1f1f2d3c4b5a"
    assert str(run_condition(f" {trigger_id.upper()} ").compile(compile_kwargs={"literal_binds": True})) == (
        f"workflow_runs.trigger_id = '{trigger_id}'"
    )
    assert str(run_condition("42").compile(compile_kwargs={"literal_binds": True})) == "workflow_runs.id = 42"


@pytest.mark.parametrize("key", ["not-a-uuid", str(2**31), "٣", ""])
def test_a_key_that_names_no_run_is_not_found_without_a_query(key):
    with pytest.raises(NotFound):
        run_condition(key)
