"""The cleaning steps: drop_nulls, fill_nulls, deduplicate and filter (spec/data.md §6.2,
§6.4, DAT-109 to DAT-114)."""

from __future__ import annotations

import datetime

import pyarrow as pa
from support.pipelines import NAN, PEOPLE, column, compare, output, pipeline, same_floats

from lepton_server.data.pipelines import run

# --- drop_nulls (DAT-109) ----------------------------------------------------------------------


def test_drop_nulls_removes_rows_with_any_null_by_default() -> None:
    assert column(PEOPLE, "id", "drop_nulls {}") == [1, 4]


def test_drop_nulls_treats_nan_as_a_value() -> None:
    assert column(PEOPLE, "id", 'drop_nulls { columns: "score" }') == [1, 2, 4]


def test_drop_nulls_with_all_removes_only_rows_null_everywhere_considered() -> None:
    step = 'drop_nulls { columns: "name" columns: "age" policy: NULL_ROW_POLICY_ALL }'
    table = pa.table({"name": ["a", None, None], "age": [None, 2, None]})
    assert output(table, step) == {"name": ["a", None], "age": [None, 2]}


# --- fill_nulls (DAT-110) ----------------------------------------------------------------------


def test_fill_constant_converts_to_the_column_type() -> None:
    step = (
        'fill_nulls { columns: "age" strategy: FILL_STRATEGY_CONSTANT value { double_value: 9 } }'
    )
    result = run(pipeline(step), PEOPLE).table
    assert result.column("age").to_pylist() == [31, 9, 27, 31]
    assert result.schema.field("age").type == pa.int8()


def test_fill_forward_leaves_leading_nulls() -> None:
    table = pa.table({"x": [None, 1, None, None, 4, None]})
    step = 'fill_nulls { columns: "x" strategy: FILL_STRATEGY_FORWARD }'
    assert column(table, "x", step) == [None, 1, 1, 1, 4, 4]


def test_fill_backward_leaves_trailing_nulls() -> None:
    table = pa.table({"x": [None, 1, None, None, 4, None]})
    step = 'fill_nulls { columns: "x" strategy: FILL_STRATEGY_BACKWARD }'
    assert column(table, "x", step) == [1, 1, 4, 4, 4, None]


def test_fill_mean_of_integers_rounds_half_to_even_and_is_reported() -> None:
    table = pa.table({"x": pa.array([1, 4, None], pa.int32())})
    result = run(pipeline('fill_nulls { columns: "x" strategy: FILL_STRATEGY_MEAN }'), table)
    assert result.table.column("x").to_pylist() == [1, 4, 2]
    fitted = result.step_reports[0].fitted_columns[0]
    assert (fitted.column, fitted.fill_value.int64_value) == ("x", 2)


def test_fill_mean_ignores_nan() -> None:
    table = pa.table({"x": [1.0, NAN, None, 2.0]})
    step = 'fill_nulls { columns: "x" strategy: FILL_STRATEGY_MEAN }'
    assert same_floats(column(table, "x", step), [1.0, NAN, 1.5, 2.0])


def test_fill_median_of_an_even_count_is_the_mean_of_the_middle_values() -> None:
    table = pa.table({"x": [4.0, None, 1.0, 2.0, 10.0]})
    step = 'fill_nulls { columns: "x" strategy: FILL_STRATEGY_MEDIAN }'
    assert column(table, "x", step) == [4.0, 3.0, 1.0, 2.0, 10.0]


def test_fill_mode_takes_the_smallest_of_equally_frequent_values() -> None:
    table = pa.table({"x": ["b", "a", None, "b", "a", "c"]})
    result = run(pipeline('fill_nulls { columns: "x" strategy: FILL_STRATEGY_MODE }'), table)
    assert result.table.column("x").to_pylist() == ["b", "a", "a", "b", "a", "c"]
    assert result.step_reports[0].fitted_columns[0].fill_value.string_value == "a"


def test_fill_of_an_all_null_column_keeps_the_nulls_and_reports_no_value() -> None:
    table = pa.table({"x": pa.array([None, None], pa.float64())})
    result = run(pipeline('fill_nulls { columns: "x" strategy: FILL_STRATEGY_MEDIAN }'), table)
    assert result.table.column("x").to_pylist() == [None, None]
    assert not result.step_reports[0].fitted_columns[0].HasField("fill_value")


# --- deduplicate (DAT-111) ---------------------------------------------------------------------


def test_deduplicate_keeps_the_first_row_of_each_group_in_input_order() -> None:
    table = pa.table({"k": ["b", "a", "b", "a"], "v": [1, 2, 3, 4]})
    assert output(table, 'deduplicate { columns: "k" }') == {"k": ["b", "a"], "v": [1, 2]}


def test_deduplicate_can_keep_the_last_row() -> None:
    table = pa.table({"k": ["b", "a", "b", "a"], "v": [1, 2, 3, 4]})
    step = 'deduplicate { columns: "k" keep: DUPLICATE_KEEP_LAST }'
    assert output(table, step) == {"k": ["b", "a"], "v": [3, 4]}


def test_deduplicate_treats_null_as_equal_to_null_and_nan_to_nan() -> None:
    table = pa.table({"x": [NAN, None, 1.0, NAN, None, -0.0, 0.0]})
    assert len(column(table, "x", "deduplicate {}")) == 4


# --- filter (DAT-112 to DAT-114) ---------------------------------------------------------------


def test_filter_keeps_rows_where_the_comparison_is_true() -> None:
    assert column(
        PEOPLE, "id", compare("age", "GREATER_OR_EQUAL", "value { int64_value: 30 }")
    ) == [1, 4]


def test_filter_compares_integers_with_doubles_as_numbers() -> None:
    assert column(PEOPLE, "id", compare("age", "LESS", "value { double_value: 27.5 }")) == [3]


def test_filter_follows_ieee_nan_rules() -> None:
    assert column(PEOPLE, "id", compare("score", "NOT_EQUAL", "value { double_value: 0.5 }")) == [
        2,
        4,
    ]


def test_filter_compares_uint64_above_int64_exactly() -> None:
    table = pa.table({"u": pa.array([2**64 - 1, 5], pa.uint64()), "i": [-1, 6]})
    assert column(table, "u", compare("u", "GREATER", 'other_column: "i"')) == [2**64 - 1]
    assert column(
        table, "u", compare("u", "GREATER", "value { int64_value: 9223372036854775807 }")
    ) == [2**64 - 1]


def test_filter_compares_timestamps_of_different_units_as_instants() -> None:
    table = pa.table(
        {
            "s": pa.array([1, 1, 2], pa.timestamp("s")),
            "ms": pa.array([1000, 1001, 1999], pa.timestamp("ms", tz="UTC")),
        }
    )
    assert column(table, "ms", compare("s", "EQUAL", 'other_column: "ms"')) == [
        datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=datetime.timezone.utc)
    ]
    literal = "value { timestamp_value { seconds: 1 nanos: 500000000 } }"
    assert len(column(table, "s", compare("s", "LESS", literal))) == 2


def test_filter_compares_dates_with_date_literals() -> None:
    table = pa.table({"d": pa.array([datetime.date(2024, 1, 1), datetime.date(2024, 3, 1)])})
    step = compare("d", "GREATER", 'value { date_value: "2024-02-29" }')
    assert column(table, "d", step) == [datetime.date(2024, 3, 1)]


def test_all_of_is_false_if_any_part_is_false_else_unknown_removes_the_row() -> None:
    # age < 30 is null for bob and false for ann and dora; true only for row 3.
    step = (
        "filter { predicate { all_of {"
        ' predicates { comparison { column: "age" operator: COMPARISON_OPERATOR_LESS'
        " value { int64_value: 30 } } }"
        ' predicates { is_null { column: "name" } } } } }'
    )
    assert column(PEOPLE, "id", step) == [3]


def test_any_of_is_true_if_any_part_is_true_even_with_unknowns() -> None:
    step = (
        "filter { predicate { any_of {"
        ' predicates { comparison { column: "age" operator: COMPARISON_OPERATOR_LESS'
        " value { int64_value: 30 } } }"
        ' predicates { comparison { column: "name" operator: COMPARISON_OPERATOR_EQUAL'
        ' value { string_value: "bob" } } } } } }'
    )
    assert column(PEOPLE, "id", step) == [2, 3]


def test_negate_of_unknown_is_unknown() -> None:
    step = (
        'filter { predicate { negate { comparison { column: "age"'
        " operator: COMPARISON_OPERATOR_EQUAL value { int64_value: 31 } } } } }"
    )
    assert column(PEOPLE, "id", step) == [3]


def test_in_set_is_unknown_for_null_and_matches_by_value() -> None:
    step = 'filter { predicate { negate { in_set { column: "age" values { int64_value: 27 } } } } }'
    assert column(PEOPLE, "id", step) == [1, 4]


def test_string_match_ignores_case_by_simple_folding() -> None:
    greek = ["\u03a3\u039f\u03a6\u0399\u0391", "\u03c3\u03bf\u03c6\u03af\u03b1"]  # ΣΟΦΙΑ, σοφία
    table = pa.table({"s": [*greek, "sofia", None]})
    step = (
        'filter { predicate { string_match { column: "s"'
        " operator: STRING_MATCH_OPERATOR_STARTS_WITH"
        ' pattern: "\u03c3\u03bf" ignore_case: true } } }'
    )
    assert column(table, "s", step) == greek


def test_an_empty_pattern_matches_every_non_null_string() -> None:
    step = (
        'filter { predicate { string_match { column: "name"'
        " operator: STRING_MATCH_OPERATOR_ENDS_WITH } } }"
    )
    assert column(PEOPLE, "name", step) == ["ann", "bob", "dora"]
