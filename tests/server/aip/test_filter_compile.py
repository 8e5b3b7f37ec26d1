"""A filter's meaning (spec/general.md §5, GEN-046, GEN-047, GEN-049): values of every field
type, fingerprints, fields and operators a method does not list, values of the wrong type,
and field tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from support.filter_fields import FIELDS, JOB_STATES, JUNE_1, matches, rejection

from lepton_server.aip.filtering.compile import Filter, compile_filter
from lepton_server.aip.filtering.fields import (
    COMPARISONS,
    EQUALITY,
    SUBSTRING,
    FieldType,
    FilterField,
)

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
