"""The column steps: select_columns, rename_columns, cast_columns and derive_column with its
expressions (spec/data.md §6.3, §6.4, DAT-115 to DAT-117)."""

from __future__ import annotations

import datetime
import math

import pyarrow as pa
import pytest
from support.pipelines import (
    NAN,
    PEOPLE,
    call,
    col,
    column,
    derive,
    int_literal,
    pipeline,
    same_floats,
)

from lepton_server.data.pipelines import run
from lepton_server.runtime.errors import FailedPrecondition

# --- select, rename, cast (DAT-115, DAT-116) --------------------------------------------------


def test_select_keeps_the_listed_columns_in_the_listed_order() -> None:
    result = run(pipeline('select_columns { columns: "name" columns: "id" }'), PEOPLE).table
    assert result.column_names == ["name", "id"]


def test_rename_is_simultaneous_so_it_can_swap_names() -> None:
    step = (
        'rename_columns { renames { old_name: "id" new_name: "name" }'
        ' renames { old_name: "name" new_name: "id" } }'
    )
    result = run(pipeline(step), PEOPLE).table
    assert result.column_names == ["name", "id", "age", "score", "active"]
    assert result.column("name").to_pylist() == [1, 2, 3, 4]


def test_cast_produces_the_named_type() -> None:
    step = 'cast_columns { casts { column: "id" type: "timestamp[ms, tz=UTC]" } }'
    result = run(pipeline(step), PEOPLE).table
    assert str(result.schema.field("id").type) == "timestamp[ms, tz=UTC]"


def test_a_cast_that_loses_data_fails_the_run_with_cast_failed() -> None:
    table = pa.table({"x": [1.0, 2.5]})
    with pytest.raises(FailedPrecondition) as caught:
        run(pipeline('cast_columns { casts { column: "x" type: "int64" } }'), table)
    assert caught.value.reason == "CAST_FAILED"
    assert caught.value.metadata == {"step_index": "0", "column": "x"}


def test_a_cast_with_the_null_policy_nulls_what_does_not_convert() -> None:
    table = pa.table({"x": ["12", "x", None, "300", "-4"]})
    step = 'cast_columns { casts { column: "x" type: "int8" on_error: CAST_ERROR_POLICY_NULL } }'
    assert column(table, "x", step) == [12, None, None, None, -4]


def test_a_cast_to_a_narrower_float_that_overflows_fails() -> None:
    table = pa.table({"x": [1.0, 1e300]})
    step = 'cast_columns { casts { column: "x" type: "float" on_error: CAST_ERROR_POLICY_NULL } }'
    assert column(table, "x", step) == [1.0, None]


def test_a_cast_to_decimal_never_rounds_fractional_digits() -> None:
    table = pa.table({"x": [0.25, 1.5]})
    step = (
        'cast_columns { casts { column: "x" type: "decimal128(5, 1)"'
        " on_error: CAST_ERROR_POLICY_NULL } }"
    )
    assert [str(v) if v is not None else None for v in column(table, "x", step)] == [None, "1.5"]


# --- derive_column (DAT-117) -------------------------------------------------------------------


def test_derive_appends_a_new_column_last() -> None:
    result = run(pipeline(derive(call("ADD", col("age"), int_literal(1)))), PEOPLE).table
    assert result.column_names[-1] == "out"
    assert result.schema.field("out").type == pa.int64()
    assert result.column("out").to_pylist() == [32, None, 28, 32]


def test_derive_with_replace_keeps_the_column_position() -> None:
    result = run(pipeline(derive(call("NEGATE", col("id")), name="id", replace=True)), PEOPLE).table
    assert result.column_names == PEOPLE.column_names
    assert result.column("id").to_pylist() == [-1, -2, -3, -4]


def test_integer_overflow_fails_the_run_with_arithmetic_overflow() -> None:
    table = pa.table({"x": [2**62, 1]})
    with pytest.raises(FailedPrecondition) as caught:
        run(pipeline(derive(call("MULTIPLY", col("x"), int_literal(2)))), table)
    assert (caught.value.reason, caught.value.metadata) == (
        "ARITHMETIC_OVERFLOW",
        {"step_index": "0"},
    )


def test_uint64_above_int64_overflows_integer_arithmetic() -> None:
    table = pa.table({"x": pa.array([2**63], pa.uint64())})
    with pytest.raises(FailedPrecondition) as caught:
        run(pipeline(derive(call("ADD", col("x"), int_literal(0)))), table)
    assert caught.value.reason == "ARITHMETIC_OVERFLOW"


def test_mixed_arithmetic_is_double() -> None:
    table = pa.table({"i": [1, 2], "f": pa.array([0.5, None], pa.float32())})
    assert column(table, "out", derive(call("SUBTRACT", col("i"), col("f")))) == [0.5, None]


def test_division_by_zero_gives_null() -> None:
    table = pa.table({"a": [1, 1, 3], "b": [0.0, -0.0, 2.0]})
    assert column(table, "out", derive(call("DIVIDE", col("a"), col("b")))) == [None, None, 1.5]


def test_round_is_half_to_even_at_the_given_decimals() -> None:
    table = pa.table({"x": [0.125, 2.5, -2.5, 1250.0, 2.675, None]})
    assert column(table, "out", derive(call("ROUND", col("x"), int_literal(2)))) == [
        0.12,
        2.5,
        -2.5,
        1250.0,
        2.67,  # 2.675 is 2.67499999999999982236431605997495353221893310546875
        None,
    ]
    assert column(table, "out", derive(call("ROUND", col("x"))))[:4] == [0.0, 2.0, -2.0, 1250.0]
    assert column(table, "out", derive(call("ROUND", col("x"), int_literal(-2))))[3] == 1200.0


def test_sqrt_and_log_follow_ieee_754() -> None:
    table = pa.table({"x": [-1.0, 0.0, 4.0]})
    assert same_floats(column(table, "out", derive(call("SQRT", col("x")))), [NAN, 0.0, 2.0])
    assert same_floats(
        column(table, "out", derive(call("LOG", col("x")))), [NAN, -math.inf, math.log(4)]
    )


def test_string_functions_count_code_points() -> None:
    table = pa.table({"s": ["  straße\u3000", None]})
    trimmed = call("TRIM", col("s"))
    assert column(table, "out", derive(trimmed)) == ["straße", None]
    assert column(table, "out", derive(call("LENGTH", trimmed))) == [6, None]
    assert column(table, "out", derive(call("UPPER", trimmed))) == ["STRASSE", None]
    substring = call("SUBSTRING", trimmed, int_literal(3), int_literal(2))
    assert column(table, "out", derive(substring)) == ["aß", None]
    past_end = call("SUBSTRING", trimmed, int_literal(10), int_literal(2))
    assert column(table, "out", derive(past_end)) == ["", None]


def test_lower_uses_the_final_sigma() -> None:
    table = pa.table({"s": ["ΟΔΟΣ", "abc"]})
    assert column(table, "out", derive(call("LOWER", col("s")))) == ["οδος", "abc"]


def test_concat_and_replace_propagate_nulls() -> None:
    replaced = call(
        "REPLACE", col("name"), 'literal { string_value: "o" }', 'literal { string_value: "0" }'
    )
    concatenated = call("CONCAT", replaced, 'literal { string_value: "!" }')
    assert column(PEOPLE, "out", derive(concatenated)) == ["ann!", "b0b!", None, "d0ra!"]


def test_coalesce_widens_integers_and_takes_the_first_non_null() -> None:
    expression = call("COALESCE", col("age"), col("id"))
    result = run(pipeline(derive(expression)), PEOPLE).table
    assert result.schema.field("out").type == pa.int64()
    assert result.column("out").to_pylist() == [31, 2, 27, 31]


def test_cast_expression_with_the_null_policy() -> None:
    expression = 'cast { input { column: "name" } type: "int32" on_error: CAST_ERROR_POLICY_NULL }'
    assert column(PEOPLE, "out", derive(expression)) == [None, None, None, None]


def test_a_failed_cast_inside_an_expression_names_the_derived_column() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        run(pipeline(derive('cast { input { column: "name" } type: "int32" }')), PEOPLE)
    assert caught.value.metadata == {"step_index": "0", "column": "out"}


def test_a_literal_expression_fills_every_row() -> None:
    assert (
        column(PEOPLE, "out", derive('literal { date_value: "2024-02-29" }'))
        == [datetime.date(2024, 2, 29)] * 4
    )
