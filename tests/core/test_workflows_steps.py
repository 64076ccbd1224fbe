"""The step kinds on their own (tokensmith.workflows.steps): templates, exact arithmetic, conditions."""

import pytest

from tokensmith.workflows.steps import STEP_KINDS, STEP_RUNNERS, StepFailed, as_text, render


def run(kind: str, scope: dict | None = None, **config):
    return STEP_RUNNERS[kind](config, scope or {})


def test_a_template_that_is_one_placeholder_keeps_the_values_type():
    assert render("${n}", {"n": 7}) == 7
    assert render("${items}", {"items": ["a"]}) == ["a"]
    assert render("${missing}", {}) is None


def test_placeholders_inside_text_read_as_text():
    scope = {"n": 7, "flag": True, "doc": {"a": [1, 2]}, "none": None}
    assert render("n=${n} flag=${flag} doc=${doc} none=[${none}]", scope) == (
        'n=7 flag=true doc={"a":[1,2]} none=[]'
    )


def test_what_is_not_text_renders_as_itself():
    assert render(5, {"5": "x"}) == 5 and render(None, {}) is None


@pytest.mark.parametrize(
    ("value", "text"), [(None, ""), (False, "false"), (1.5, "1.5"), ([1, "a"], '[1,"a"]'), ("x", "x")]
)
def test_as_text(value, text):
    assert as_text(value) == text


def test_set_renders_each_value_into_its_output():
    assert run("set", {"a": "x"}, values={"b": "${a}-y", "c": 3}) == {"b": "x-y", "c": 3}


@pytest.mark.parametrize(
    ("op", "args", "result"),
    [
        ("add", ["0.1", "0.2"], "0.3"),  # exact decimals: no 0.30000000000000004
        ("add", [1, "2", 3.0], 6),
        ("subtract", ["10", "2.5"], "7.5"),
        ("multiply", ["2", "3", "4"], 24),
        ("multiply", [2**40, 2**40], str(2**80)),  # past what JSON readers take as a number: text
        ("divide", ["1", "4"], "0.25"),
        ("concat", ["a", 1, True, None], "a1true"),
        ("upper", ["abc"], "ABC"),
        ("lower", ["ÄBC"], "äbc"),
        ("length", ["héllo"], 5),
    ],
)
def test_compute_gives_exact_results(op, args, result):
    assert run("compute", op=op, args=args, into="out") == {"out": result}


def test_length_counts_a_lists_items_and_anything_else_as_its_text():
    assert run("compute", {"xs": ["a", "bb"]}, op="length", args=["${xs}"], into="n") == {"n": 2}
    assert run("compute", {"n": 12345}, op="length", args=["${n}"], into="n") == {"n": 5}


@pytest.mark.parametrize(
    ("op", "args", "message"),
    [
        ("divide", ["1", "0"], "Division by zero."),
        ("add", ["1", "one"], "'one' is not a number."),
    ],
)
def test_compute_fails_the_step_where_arithmetic_cannot_go_on(op, args, message):
    with pytest.raises(StepFailed) as caught:
        run("compute", op=op, args=args, into="out")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("left", "op", "right", "holds"),
    [
        ("10", "==", 10.0, True),  # numbers compare as numbers
        ("abc", "==", "ABC", False),  # else as text
        (True, "==", "true", True),
        ("2", "!=", "3", True),
        ("9", "<", "10", True),  # not as text, where "9" > "10"
        ("10", ">=", 10, True),
        ("abc", "matches", "[a-c]+", True),
        ("abcd", "matches", "abc", False),  # the whole of left
        ("hello world", "contains", "o w", True),
        (["a", 1], "contains", "1", True),
        (["ab"], "contains", "a", False),  # an item, not part of one
    ],
)
def test_fail_if_fails_exactly_when_its_condition_holds(left, op, right, holds):
    config = {"left": left, "op": op, "right": right}
    if holds:
        with pytest.raises(StepFailed):
            run("fail_if", **config)
    else:
        assert run("fail_if", **config) == {"condition": False}


def test_fail_if_says_its_rendered_message_or_the_condition():
    with pytest.raises(StepFailed, match="^quota 5 is too small$"):
        run("fail_if", {"q": 5}, left="${q}", op="<", right=10, message="quota ${q} is too small")
    with pytest.raises(StepFailed, match=r"^Condition \$\{q\} < 10 held\.$"):
        run("fail_if", {"q": 5}, left="${q}", op="<", right=10)


def test_fail_if_fails_the_step_on_an_ordering_of_non_numbers_or_a_pattern_that_does_not_compile():
    with pytest.raises(StepFailed, match="'abc' is not a number"):
        run("fail_if", left="abc", op="<", right=1)
    with pytest.raises(StepFailed, match="The pattern does not compile"):
        run("fail_if", {"p": "("}, left="x", op="matches", right="${p}")


def test_the_kinds_are_the_runners():
    assert STEP_KINDS == ("set", "compute", "fail_if", "wait")
