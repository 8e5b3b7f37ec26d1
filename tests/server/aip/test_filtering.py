"""The filter grammar and its meaning (spec/general.md §5, GEN-045 to GEN-049)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from lepton_server.aip.filtering import (
    COMPARISONS,
    EQUALITY,
    SUBSTRING,
    FieldType,
    Filter,
    FilterField,
    compile_filter,
    parse_filter,
)
from lepton_server.runtime.errors import InvalidArgument

JOB_STATES = [
    "JOB_STATE_UNSPECIFIED",
    "JOB_STATE_QUEUED",
    "JOB_STATE_RUNNING",
    "JOB_STATE_SUCCEEDED",
    "JOB_STATE_FAILED",
]

# One field of every type, with the operators a layer spec would list.
FIELDS = [
    FilterField("display_name", FieldType.STRING, EQUALITY | SUBSTRING),
    FilterField("dataset_version", FieldType.RESOURCE_NAME, frozenset({"="})),
    FilterField("sequence_number", FieldType.INTEGER, COMPARISONS),
    FilterField("score", FieldType.FLOAT, COMPARISONS),
    FilterField("ground_truth", FieldType.BOOLEAN, EQUALITY),
    FilterField("create_time", FieldType.TIMESTAMP, COMPARISONS),
    FilterField("run_duration", FieldType.DURATION, COMPARISONS),
    FilterField.for_enum("status.state", JOB_STATES),
    FilterField("labels", FieldType.LABEL, EQUALITY),
]

JUNE_1 = datetime(2025, 6, 1, tzinfo=timezone.utc)


def matches(text: str, item: dict[str, Any]) -> bool:
    return compile_filter(text, FIELDS).matches(item.get)


def rejection(text: str, fields: list[FilterField] = FIELDS) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        compile_filter(text, fields)
    error = raised.value
    assert error.reason == "INVALID_FILTER"
    assert [v.field for v in error.violations] == ["filter"]
    return error


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


# Strings and resource names.


def test_string_equality_is_exact_and_case_sensitive():
    assert matches('display_name = "Fraud v2"', {"display_name": "Fraud v2"})
    assert not matches('display_name = "fraud v2"', {"display_name": "Fraud v2"})


def test_string_inequality():
    assert matches('display_name != "a"', {"display_name": "b"})
    assert not matches('display_name != "a"', {"display_name": "a"})


def test_escaped_quote_and_backslash_stand_for_themselves():
    assert matches(r'display_name = "say \"hi\" \\ bye"', {"display_name": 'say "hi" \\ bye'})


def test_colon_is_a_substring_match_ignoring_case():
    assert matches('display_name : "fraud"', {"display_name": "Fraud detector"})
    assert matches('display_name : "ΣΑΣ"', {"display_name": "big σας"})
    assert not matches('display_name : "fraud"', {"display_name": "detector"})


def test_colon_folds_case_simply_so_sharp_s_does_not_match_ss():
    assert not matches('display_name : "ss"', {"display_name": "Straße"})
    assert matches('display_name : "STRAẞE"', {"display_name": "straße"})


def test_asterisk_in_a_string_is_an_ordinary_character():
    assert matches('display_name : "*"', {"display_name": "a*b"})
    assert not matches('display_name : "*"', {"display_name": "ab"})


def test_resource_name_compares_as_a_string():
    text = 'dataset_version = "datasets/flowers/versions/3"'
    assert matches(text, {"dataset_version": "datasets/flowers/versions/3"})


def test_unset_string_compares_as_empty():
    assert matches('display_name = ""', {})
    assert matches('display_name != "a"', {})


# Numbers and booleans.


@pytest.mark.parametrize(
    ("operator", "expected"),
    [("=", False), ("!=", True), ("<", False), ("<=", False), (">", True), (">=", True)],
)
def test_integer_comparisons(operator, expected):
    assert matches(f"sequence_number {operator} 10", {"sequence_number": 11}) is expected


def test_negative_number():
    assert matches("sequence_number > -3", {"sequence_number": -2})


def test_float_takes_fraction_and_exponent():
    assert matches("score > 0.5", {"score": 0.75})
    assert matches("score < 1e-2", {"score": 0.001})
    assert matches("score = 2", {"score": 2.0})


def test_unset_number_compares_as_zero():
    assert matches("sequence_number = 0", {})
    assert matches("score < 0.5", {})


def test_boolean():
    assert matches("ground_truth = true", {"ground_truth": True})
    assert matches("ground_truth != true", {"ground_truth": False})


def test_unset_boolean_compares_as_false():
    assert matches("ground_truth = false", {})


# Timestamps.


def test_timestamps_with_offsets_are_equal_as_instants():
    assert matches('create_time = "2025-06-01T02:00:00+02:00"', {"create_time": JUNE_1})


def test_item_timestamps_compare_as_instants_whatever_their_zone():
    paris = timezone(timedelta(hours=2))
    item = {"create_time": datetime(2025, 6, 1, 2, 0, tzinfo=paris)}
    assert matches('create_time = "2025-06-01T00:00:00Z"', item)


def test_timestamp_ordering():
    assert matches('create_time < "2025-06-01T00:00:00.000000001Z"', {"create_time": JUNE_1})
    assert not matches('create_time > "2025-05-31T23:00:00-01:00"', {"create_time": JUNE_1})


def test_protobuf_timestamp_compares_to_the_nanosecond():
    item = {"create_time": timestamp_pb2.Timestamp(seconds=1748736000, nanos=5)}
    assert matches('create_time = "2025-06-01T00:00:00.000000005Z"', item)
    assert not matches('create_time = "2025-06-01T00:00:00Z"', item)


def test_naive_item_datetime_is_utc():
    assert matches('create_time = "2025-06-01T00:00:00Z"', {"create_time": datetime(2025, 6, 1)})


@pytest.mark.parametrize("operator", ["=", "!=", "<", "<=", ">", ">="])
def test_unset_timestamp_satisfies_no_term(operator):
    assert not matches(f'create_time {operator} "2025-06-01T00:00:00Z"', {})


# Durations.


def test_durations_compare_by_length():
    assert matches('run_duration > "3600s"', {"run_duration": timedelta(hours=1, seconds=1)})
    assert matches('run_duration = "0.5s"', {"run_duration": timedelta(milliseconds=500)})
    assert not matches('run_duration > "3600s"', {"run_duration": timedelta(hours=1)})


def test_durations_in_seconds_and_protobuf_durations():
    assert matches('run_duration = "1.5s"', {"run_duration": 1.5})
    assert matches('run_duration = "2s"', {"run_duration": 2})
    item = {"run_duration": duration_pb2.Duration(seconds=1, nanos=1)}
    assert matches('run_duration > "1.000000000s"', item)


def test_negative_duration():
    assert matches('run_duration < "-1s"', {"run_duration": timedelta(seconds=-2)})


@pytest.mark.parametrize("operator", ["=", "!=", "<", ">="])
def test_unset_duration_satisfies_no_term(operator):
    assert not matches(f'run_duration {operator} "0s"', {})


# Enums.


def test_enum_value_name_without_prefix():
    assert matches("status.state = SUCCEEDED", {"status.state": "JOB_STATE_SUCCEEDED"})


def test_enum_full_value_name_means_the_same():
    assert matches("status.state = JOB_STATE_SUCCEEDED", {"status.state": "JOB_STATE_SUCCEEDED"})
    assert matches("status.state = JOB_STATE_SUCCEEDED", {"status.state": "SUCCEEDED"})


def test_enum_inequality():
    assert matches("status.state != FAILED", {"status.state": "JOB_STATE_RUNNING"})
    assert not matches("status.state != FAILED", {"status.state": "JOB_STATE_FAILED"})


def test_unset_enum_equals_no_value():
    assert not matches("status.state = QUEUED", {})
    assert matches("status.state != QUEUED", {})


# Labels.


def test_label_equality():
    assert matches('labels.team = "risk"', {"labels": {"team": "risk"}})
    assert not matches('labels.team = "risk"', {"labels": {"team": "ops"}})


def test_missing_label_compares_as_empty_string():
    assert matches('labels.team = ""', {"labels": {"owner": "x"}})
    assert matches('labels.team = ""', {})
    assert not matches('labels.team != ""', {"labels": {}})


def test_label_inequality_includes_items_without_the_label():
    assert matches('labels.team != "risk"', {"labels": {}})


def test_label_key_may_hold_hyphens():
    assert matches('labels.cost-center = "7"', {"labels": {"cost-center": "7"}})


# Fingerprints bind page tokens to what a filter means.


def test_fingerprint_ignores_whitespace_and_term_order():
    a = compile_filter('display_name = "x" AND sequence_number > 1', FIELDS)
    b = compile_filter('  sequence_number>1   AND display_name="x"', FIELDS)
    assert a.fingerprint == b.fingerprint


def test_fingerprint_ignores_the_spelling_of_equal_values():
    a = compile_filter(
        'create_time = "2025-06-01T02:00:00+02:00" AND status.state = RUNNING', FIELDS
    )
    b = compile_filter(
        'create_time = "2025-06-01T00:00:00Z" AND status.state = JOB_STATE_RUNNING', FIELDS
    )
    assert a.fingerprint == b.fingerprint


def test_fingerprint_differs_when_the_meaning_differs():
    fingerprints = {
        compile_filter(text, FIELDS).fingerprint
        for text in ['display_name = "x"', 'display_name != "x"', 'display_name = "y"', ""]
    }
    assert len(fingerprints) == 4


def test_empty_filter_is_the_default_filter():
    assert compile_filter("", FIELDS) == Filter()


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


# Errors: fields and operators the method does not list.


def test_unknown_field_is_rejected():
    error = rejection('owner = "me"')
    assert "unknown field owner" in error.message
    assert "display_name" in error.message


def test_labels_without_a_key_is_rejected():
    assert "labels.<key>" in rejection('labels = "a"').message


def test_label_term_on_a_method_without_labels_is_rejected():
    fields = [FilterField("display_name", FieldType.STRING, EQUALITY)]
    assert "unknown field labels.team" in rejection('labels.team = "a"', fields).message


@pytest.mark.parametrize(
    "text",
    [
        'display_name < "a"',
        'dataset_version != "datasets/x/versions/1"',
        "status.state < RUNNING",
        'labels.team : "a"',
        "ground_truth > false",
        'create_time : "2025-06-01T00:00:00Z"',
    ],
)
def test_operator_the_field_does_not_allow_is_rejected(text):
    assert "is not allowed on" in rejection(text).message


# Errors: values of the wrong type.


@pytest.mark.parametrize("text", ['sequence_number = "10"', 'score > "0.5"'])
def test_quoted_number_is_rejected(text):
    assert "unquoted" in rejection(text).message


@pytest.mark.parametrize(
    "text",
    ["display_name = fraud", "display_name = 10", "display_name = FRAUD", "display_name = true"],
)
def test_unquoted_value_for_a_string_field_is_rejected(text):
    rejection(text)


@pytest.mark.parametrize("value", ["1.5", "1e3", "10.0"])
def test_fraction_or_exponent_for_an_integer_is_rejected(value):
    assert "no fraction or exponent" in rejection(f"sequence_number = {value}").message


def test_integer_out_of_range_is_rejected():
    rejection(f"sequence_number = {'9' * 5000}")


@pytest.mark.parametrize(
    "text", ["ground_truth = TRUE", 'ground_truth = "true"', "ground_truth = 1"]
)
def test_boolean_written_otherwise_is_rejected(text):
    rejection(text)


@pytest.mark.parametrize(
    "value",
    [
        '"2025-06-01T00:00:00"',  # no time zone
        '"2025-06-01"',
        '"2025-13-01T00:00:00Z"',
        '"2025-02-30T00:00:00Z"',
        '"2025-06-01T24:00:00Z"',
        '"2025-06-30T23:59:60Z"',  # no leap seconds, as protobuf Timestamp
        '"2025-06-01T00:00:00.0000000001Z"',  # finer than nanoseconds
        '"2025-06-01T00:00:00+2:00"',
        '"yesterday"',
        "2025",
    ],
)
def test_malformed_timestamp_is_rejected(value):
    rejection(f"create_time > {value}")


@pytest.mark.parametrize(
    "value",
    ['"1h"', '"3600"', '"1.0000000001s"', '"1.s"', '"+1s"', '" 1s"', '"999999999999s"', "3600"],
)
def test_malformed_duration_is_rejected(value):
    rejection(f"run_duration > {value}")


def test_unknown_enum_value_is_rejected():
    error = rejection("status.state = ARCHIVED")
    assert "has no value ARCHIVED" in error.message


def test_enum_value_of_another_enum_prefix_is_rejected():
    rejection("status.state = TASK_STATE_RUNNING")


@pytest.mark.parametrize("value", ["UNSPECIFIED", "JOB_STATE_UNSPECIFIED"])
def test_unspecified_enum_value_is_rejected(value):
    assert "_UNSPECIFIED" in rejection(f"status.state = {value}").message


def test_quoted_enum_value_is_rejected():
    assert "unquoted value name" in rejection('status.state = "RUNNING"').message


@pytest.mark.parametrize("text", ["labels.team = risk", "labels.team = 1"])
def test_unquoted_label_value_is_rejected(text):
    rejection(text)


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


# Field tables are checked when they are built: a wrong one is a server bug.


@pytest.mark.parametrize(
    ("path", "field_type", "operators"),
    [
        ("sequence_number", FieldType.INTEGER, SUBSTRING),
        ("display_name", FieldType.STRING, COMPARISONS),
        ("ground_truth", FieldType.BOOLEAN, frozenset({"<"})),
        ("labels", FieldType.LABEL, SUBSTRING),
        ("tags", FieldType.LABEL, EQUALITY),
        ("display_name", FieldType.STRING, frozenset()),
    ],
)
def test_field_table_rejects_operators_its_type_cannot_have(path, field_type, operators):
    with pytest.raises(ValueError):
        FilterField(path, field_type, operators)


def test_enum_field_derives_its_prefix_from_the_unspecified_value():
    field = FilterField.for_enum("status.state", JOB_STATES)
    assert field.enum_prefix == "JOB_STATE_"
    assert field.enum_values == {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED"}


def test_field_listed_twice_is_a_server_bug():
    with pytest.raises(ValueError):
        compile_filter("", [FIELDS[0], FIELDS[0]])
