"""Variables are checked against a definition's input parameters: every data type and constraint
(tokensmith.workflows.variables; core rules, no app needed)."""

from decimal import Decimal

import pytest

from tokensmith.workflows.variables import (
    BadValue,
    Constraint,
    InvalidVariables,
    Parameter,
    check_variables,
    finite,
    number,
    whole,
)


def check(data_type: str, value, *constraints: Constraint, required: bool = False):
    return check_variables([Parameter("v", data_type, required, tuple(constraints))], {"v": value})


def problems(data_type: str, value, *constraints: Constraint, required: bool = False) -> list[str]:
    with pytest.raises(InvalidVariables) as caught:
        check(data_type, value, *constraints, required=required)
    return caught.value.problems["variables.v"]


@pytest.mark.parametrize(
    ("data_type", "value", "normalised"),
    [
        ("text", "hello", "hello"),
        ("integer", 7, 7),
        ("integer", "7", 7),
        ("integer", -(2**31), -(2**31)),
        ("long", 2**40, 2**40),
        ("decimal", 1.5, 1.5),
        ("decimal", "2.25", "2.25"),
        ("boolean", True, True),
        ("boolean", "FALSE", False),
        ("url", "https://example.com/x?y=1", "https://example.com/x?y=1"),
        ("datetime", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
        ("timestamp", 1641879020256, 1641879020256),
        ("timestamp", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00+02:00"),
        ("date", "2024-05-01", "2024-05-01"),
        ("time", "10:30", "10:30"),
        ("year", "2024", 2024),
        ("yearmonth", "2024-12", "2024-12"),
        ("duration", "P1DT2H30M", "P1DT2H30M"),
        ("ipaddress", "::1", "::1"),
        ("ipaddress", "10.0.0.1", "10.0.0.1"),
        ("string_list", ["a", "b"], ["a", "b"]),
        ("geopoint", "52.37,4.89", "52.37,4.89"),
        ("geopoint", [52.37, 4.89], [52.37, 4.89]),
        ("json", {"a": [1, 2]}, {"a": [1, 2]}),
        ("json", '{"a": 1}', '{"a": 1}'),
        ("xml", "<a><b/></a>", "<a><b/></a>"),
    ],
)
def test_a_well_formed_value_of_each_data_type_is_accepted_and_normalised(data_type, value, normalised):
    assert check(data_type, value) == {"v": normalised}


@pytest.mark.parametrize(
    ("data_type", "value", "message"),
    [
        ("text", 5, "v must be text."),
        ("integer", 1.5, "v must be a whole number."),
        ("integer", True, "v must be a whole number."),
        ("integer", 2**31, f"v must be between {-(2**31)} and {2**31 - 1}."),
        ("long", "12x", "v must be a whole number."),
        ("decimal", "NaN", "v must be a number."),
        ("decimal", "1e5x", "v must be a number."),
        ("boolean", "yes", "v must be true or false."),
        ("url", "example.com", "v must be an absolute http(s) or ftp(s) URL."),
        ("url", "javascript:alert(1)", "v must be an absolute http(s) or ftp(s) URL."),
        ("datetime", "2024-05-01", "v must be an ISO-8601 date and time."),
        ("datetime", "2024-13-01T00:00:00", "v is not a valid datetime."),
        ("date", "01/05/2024", "v is not a valid date."),
        ("time", "25:00", "v is not a valid time."),
        ("year", 0, "v must be between 1 and 9999."),
        ("yearmonth", "2024-13", "v must be YYYY-MM."),
        ("duration", "P", "v must be an ISO-8601 duration such as P1DT2H."),
        ("ipaddress", "300.1.1.1", "v must be an IPv4 or IPv6 address."),
        ("string_list", ["a", 1], "v must be a list of strings."),
        ("geopoint", "91,0", "v latitude must be within ±90 and longitude within ±180."),
        ("json", "{nope", "v must be JSON."),
        ("xml", "<a>", "v must be well-formed XML."),
    ],
)
def test_a_malformed_value_is_refused_with_a_clear_message(data_type, value, message):
    assert problems(data_type, value) == [message]


@pytest.mark.parametrize(
    ("data_type", "constraint", "good", "bad", "message"),
    [
        ("integer", Constraint("minimum", 3), 3, 2, "v must be at least 3."),
        ("integer", Constraint("maximum", 3), "3", "4", "v must be at most 3."),
        ("decimal", Constraint("minimum", 0.5), "0.5", 0.49, "v must be at least 0.5."),
        (
            "date",
            Constraint("maximum", "2024-12-31"),
            "2024-12-31",
            "2025-01-01",
            "v must be at most 2024-12-31.",
        ),
        ("text", Constraint("length", 3), "abc", "abcd", "v must have a length of exactly 3."),
        ("text", Constraint("minimum_length", 2), "ab", "a", "v must have a length of at least 2."),
        (
            "string_list",
            Constraint("maximum_length", 1),
            ["a"],
            ["a", "b"],
            "v must have a length of at most 1.",
        ),
        ("text", Constraint("pattern", "[a-z]+"), "abc", "abc1", "v must match the pattern [a-z]+."),
        (
            "string_list",
            Constraint("pattern", "[a-z]+"),
            ["a", "b"],
            ["a", "B"],
            "v must match the pattern [a-z]+.",
        ),
        ("text", Constraint("length", 3, "Three letters, please."), "abc", "ab", "Three letters, please."),
    ],
)
def test_each_constraint_admits_the_boundary_and_refuses_beyond_it(data_type, constraint, good, bad, message):
    check(data_type, good, constraint)
    assert problems(data_type, bad, constraint) == [message]


def test_required_is_a_flag_or_a_constraint_with_its_own_message():
    assert problems("text", None, required=True) == ["v is required."]
    assert problems("integer", "", Constraint("required", None, "Give me v.")) == ["Give me v."]


def test_an_absent_optional_variable_is_left_out_without_checking_its_constraints():
    assert check("integer", None, Constraint("minimum", 3)) == {}


def test_all_problems_of_one_variable_are_reported():
    assert problems("text", "ABCDE", Constraint("maximum_length", 3), Constraint("pattern", "[a-z]*")) == [
        "v must have a length of at most 3.",
        "v must match the pattern [a-z]*.",
    ]


def test_non_finite_numbers_and_deep_nesting_are_refused():
    assert problems("json", {"a": float("nan")}) == ["v is nested too deeply or holds a non-finite number."]
    deep: list = []
    for _ in range(40):
        deep = [deep]
    assert problems("json", deep) == ["v is nested too deeply or holds a non-finite number."]


def test_a_variable_no_parameter_declares_is_refused_by_name():
    with pytest.raises(InvalidVariables) as caught:
        check_variables([Parameter("v", "text")], {"v": "x", "w": 1})
    assert caught.value.problems == {"variables.w": ["w is not an input parameter of this workflow."]}


def test_every_variable_with_a_problem_is_reported_and_the_first_names_the_error():
    parameters = [Parameter("a", "integer", True), Parameter("b", "boolean"), Parameter("c", "text")]
    with pytest.raises(InvalidVariables) as caught:
        check_variables(parameters, {"b": "maybe", "c": "fine"})
    assert caught.value.problems == {
        "variables.a": ["a is required."],
        "variables.b": ["b must be true or false."],
    }
    assert caught.value.field == "variables.a"


@pytest.mark.parametrize(
    ("value", "exact"),
    [(3, Decimal(3)), (0.1, Decimal("0.1")), (" -2.5e3 ", Decimal("-2.5e3")), (".5", Decimal(".5"))],
)
def test_number_is_the_exact_decimal_a_value_stands_for(value, exact):
    assert number(value) == exact


@pytest.mark.parametrize("value", [True, float("inf"), float("nan"), "NaN", "1e99999", "1,5", None, [1]])
def test_number_is_none_for_what_is_no_finite_number(value):
    assert number(value) is None


def test_a_whole_number_is_read_from_its_text_or_an_integral_float_within_its_types_bounds():
    assert whole(" 12 ", "integer") == 12 and whole(4.0, "long") == 4
    assert whole(2**63 - 1, "long") == 2**63 - 1
    with pytest.raises(BadValue, match="between"):
        whole(2**63, "long")
    with pytest.raises(BadValue, match="whole number"):
        whole(4.5, "long")


def test_finite_allows_nesting_up_to_the_limit_and_no_deeper():
    nested: list = []
    for _ in range(32):
        nested = [nested]
    assert finite(nested)
    assert not finite([nested])
    assert not finite({"a": {"b": [1.0, float("-inf")]}})
