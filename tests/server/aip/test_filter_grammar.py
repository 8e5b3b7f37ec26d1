"""The filter grammar (spec/general.md §5, GEN-045, GEN-048): the shape of a filter, text
outside the grammar, and errors that name the offending term."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.filter_fields import FIELDS, JUNE_1, matches, rejection

from lepton_server.aip.filtering.compile import compile_filter
from lepton_server.aip.filtering.grammar import parse_filter
from lepton_server.runtime.errors import InvalidArgument

# Empty filters and the grammar's shape.


@pytest.mark.parametrize("text", ["", " ", " \t\r\n "])
def test_empty_or_whitespace_filter_matches_every_item(text):
    assert compile_filter(text, FIELDS).terms == ()
    assert compile_filter(text, FIELDS).matches({}.get)


def test_every_term_must_hold():
    text = 'display_name = "a" AND sequence_number > 1'
    assert matches(text, {"display_name": "a", "sequence_number": 2})
    assert not matches(text, {"display_name": "a", "sequence_number": 1})
    assert not matches(text, {"display_name": "b", "sequence_number": 2})


def test_the_same_field_may_appear_in_several_terms():
    text = 'create_time >= "2025-01-01T00:00:00Z" AND create_time < "2025-02-01T00:00:00Z"'
    assert matches(text, {"create_time": datetime(2025, 1, 15, tzinfo=timezone.utc)})
    assert not matches(text, {"create_time": datetime(2025, 2, 1, tzinfo=timezone.utc)})


def test_whitespace_around_operators_is_optional_and_may_be_any_ws():
    assert matches(
        'sequence_number>=10\tAND\r\ndisplay_name="x"', {"sequence_number": 10, "display_name": "x"}
    )


def test_parse_filter_keeps_each_term_as_written():
    (term,) = parse_filter('  labels.team-a  !=  "r\\"x"  ')
    assert (term.field, term.operator, term.literal.string) == ("labels.team-a", "!=", 'r"x')
    assert term.text == 'labels.team-a  !=  "r\\"x"'


# Errors: outside the grammar.


@pytest.mark.parametrize(
    "text",
    ['display_name = "a" OR display_name = "b"', 'display_name = "a" or display_name = "b"'],
)
def test_or_is_rejected(text):
    assert "terms can only be joined by AND" in rejection(text).violations[0].description


def test_not_is_rejected():
    assert "NOT is not supported" in rejection('NOT display_name = "a"').message


def test_minus_negation_is_rejected():
    assert "negation" in rejection('-display_name = "a"').message


@pytest.mark.parametrize(
    "text", ['(display_name = "a")', 'sequence_number = 1 AND (display_name = "a")']
)
def test_parentheses_are_rejected(text):
    assert "parentheses" in rejection(text).message


def test_lower_case_and_is_rejected():
    assert "'and'" in rejection('display_name = "a" and sequence_number = 1').message


@pytest.mark.parametrize(
    "text",
    [
        'display_name = "a"AND sequence_number = 1',
        'display_name = "a" AND',
        'display_name = "a" AND ',
        'AND display_name = "a"',
        'display_name = "a" AND AND sequence_number = 1',
    ],
)
def test_and_needs_a_term_and_whitespace_on_both_sides(text):
    rejection(text)


def test_bare_value_without_field_is_rejected():
    assert "global search" in rejection('"fraud"').message


def test_terms_without_and_between_them_are_rejected():
    rejection('display_name = "a" sequence_number = 1')


@pytest.mark.parametrize("text", ["display_name", 'display_name "a"', "display_name == 'a'"])
def test_missing_or_unknown_operator_is_rejected(text):
    rejection(text)


@pytest.mark.parametrize("text", ["display_name =", "display_name =   "])
def test_missing_value_is_rejected(text):
    assert "missing a value" in rejection(text).message


def test_function_call_is_rejected():
    rejection('has(display_name) = "a"')


@pytest.mark.parametrize("text", ['Display_name = "a"', 'display__name. = "a"', '1st = "a"'])
def test_malformed_field_name_is_rejected(text):
    rejection(text)


def test_label_key_longer_than_63_characters_is_rejected():
    rejection(f'labels.{"k" * 64} = "a"')


def test_unterminated_string_is_rejected():
    assert "unterminated string" in rejection('display_name = "abc').message
    assert "unterminated string" in rejection('display_name = "abc\\').message


@pytest.mark.parametrize("escape", ["\\n", "\\t", "\\u0041", "\\'"])
def test_unknown_escape_is_rejected(escape):
    assert "unknown escape" in rejection(f'display_name = "a{escape}"').message


def test_control_character_in_a_string_is_rejected():
    assert "control character" in rejection('display_name = "a\nb"').message


def test_non_ascii_whitespace_is_not_whitespace():
    rejection('display_name\u00a0= "a"')


# Errors name the offending term and the request field.


def test_error_description_names_the_offending_term():
    error = rejection('display_name = "ok" AND sequence_number = 1.5')
    assert "'sequence_number = 1.5'" in error.violations[0].description


def test_error_names_the_filter_field_it_was_given():
    with pytest.raises(InvalidArgument) as raised:
        compile_filter("x = 1", FIELDS, field_path="prediction_job.task_filter")
    assert raised.value.violations[0].field == "prediction_job.task_filter"


def test_long_terms_are_cut_in_the_message():
    error = rejection(f'display_name = "{"a" * 10_000}')
    assert len(error.message) < 300


# Garbage never escapes as anything but INVALID_FILTER.

FRAGMENTS = [
    "display_name",
    "sequence_number",
    "score",
    "create_time",
    "run_duration",
    "status.state",
    "labels.team",
    "labels",
    "ground_truth",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    ":",
    "==",
    " ",
    "\t",
    "AND",
    "and",
    "OR",
    "NOT",
    "-",
    "(",
    ")",
    '"',
    '\\"',
    "\\",
    "\\n",
    '"x"',
    "1",
    "-1.5",
    "1e3",
    "true",
    "RUNNING",
    "JOB_STATE_UNSPECIFIED",
    '"2025-06-01T00:00:00Z"',
    '"3600s"',
    "é",
]


def assert_filter_or_invalid_filter(text: str) -> None:
    try:
        compiled = compile_filter(text, FIELDS)
    except InvalidArgument as error:
        assert error.reason == "INVALID_FILTER"
        assert error.violations[0].field == "filter"
        return
    compiled.matches({}.get)
    compiled.matches({"labels": {"team": "x"}, "create_time": JUNE_1, "score": 1.0}.get)
    assert compiled.fingerprint


@given(st.text())
def test_arbitrary_text_is_a_filter_or_invalid_filter(text):
    assert_filter_or_invalid_filter(text)


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
def test_near_grammatical_text_is_a_filter_or_invalid_filter(text):
    assert_filter_or_invalid_filter(text)


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join))
def test_spaced_fragments_are_a_filter_or_invalid_filter(text):
    assert_filter_or_invalid_filter(text)
