"""The pipeline engine: validation, fingerprint and the semantics of every step (spec/data.md §6,
DAT-092 to DAT-128).

Pipelines are written in protobuf text format, so each test shows the message a client sends.
"""

from __future__ import annotations

import datetime
import hashlib
import math

import pyarrow as pa
import pytest
from google.protobuf import text_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data import pipelines
from lepton_server.data.pipelines import PipelineCancelled, fingerprint, run, validate
from lepton_server.data.table_digest import content_digest
from lepton_server.runtime.errors import FailedPrecondition, InvalidArgument


def pipeline(*steps: str) -> pb.Pipeline:
    """A pipeline from the text format of its steps, e.g. 'sample { count: 1 }'."""
    return text_format.Parse("".join(f"steps {{ {s} }}\n" for s in steps), pb.Pipeline())


def output(table: pa.Table, *steps: str) -> dict[str, list]:
    return run(pipeline(*steps), table).table.to_pydict()


def column(table: pa.Table, name: str, *steps: str) -> list:
    return output(table, *steps)[name]


def validation_error(schema: pa.Schema | pa.Table, *steps: str) -> InvalidArgument:
    if isinstance(schema, pa.Table):
        schema = schema.schema
    with pytest.raises(InvalidArgument) as caught:
        validate(pipeline(*steps), schema)
    return caught.value


def same_floats(actual: list, expected: list) -> bool:
    """Equal lists of floats, NaN equal to NaN and None to None."""
    return len(actual) == len(expected) and all(
        a == e or (a is not None and e is not None and math.isnan(a) and math.isnan(e))
        for a, e in zip(actual, expected, strict=True)
    )


NAN = math.nan
PEOPLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "name": pa.array(["ann", "bob", None, "dora"]),
        "age": pa.array([31, None, 27, 31], pa.int8()),
        "score": pa.array([0.5, NAN, None, 2.0]),
        "active": pa.array([True, False, None, True]),
    }
)


# --- Fingerprint (§6.5, DAT-093) ---------------------------------------------------------------


def test_fingerprint_is_sha256_of_the_deterministic_serialization() -> None:
    p = pipeline('select_columns { columns: "id" }', "sample { count: 2 seed: 7 }")
    expected = hashlib.sha256(p.SerializeToString(deterministic=True)).hexdigest()
    assert fingerprint(p) == expected


def test_fingerprint_of_the_empty_pipeline_is_sha256_of_no_bytes() -> None:
    assert fingerprint(pb.Pipeline()) == hashlib.sha256(b"").hexdigest()


def test_fingerprint_changes_with_a_seed() -> None:
    assert fingerprint(pipeline("sample { count: 2 seed: 1 }")) != fingerprint(
        pipeline("sample { count: 2 seed: 2 }")
    )


# --- Validation (§6.1, DAT-094 to DAT-098) -----------------------------------------------------

# (steps, reason, field path, step_index); the schema is PEOPLE's.
VALIDATION_ERRORS = {
    "no step kind": (["", ""], "INVALID_FIELD", "pipeline.steps[0]", "0"),
    "unknown column": (
        ['drop_nulls { columns: "id" columns: "nope" }'],
        "COLUMN_NOT_FOUND",
        "pipeline.steps[0].drop_nulls.columns[1]",
        "0",
    ),
    "column removed by an earlier step": (
        [
            'select_columns { columns: "id" }',
            'filter { predicate { comparison { column: "age" operator: COMPARISON_OPERATOR_LESS'
            " value { int64_value: 3 } } } }",
        ],
        "COLUMN_NOT_FOUND",
        "pipeline.steps[1].filter.predicate.comparison.column",
        "1",
    ),
    "string compared with a number": (
        [
            'filter { predicate { comparison { column: "name" operator: COMPARISON_OPERATOR_EQUAL'
            " value { int64_value: 3 } } } }"
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].filter.predicate.comparison.value",
        "0",
    ),
    "columns of incomparable types": (
        [
            'filter { predicate { comparison { column: "age" operator: COMPARISON_OPERATOR_EQUAL'
            ' other_column: "active" } } }'
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].filter.predicate.comparison.other_column",
        "0",
    ),
    "booleans ordered": (
        [
            'filter { predicate { comparison { column: "active" operator: COMPARISON_OPERATOR_LESS'
            " value { bool_value: true } } } }"
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].filter.predicate.comparison.operator",
        "0",
    ),
    "comparison without operator": (
        ['filter { predicate { comparison { column: "age" value { int64_value: 3 } } } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].filter.predicate.comparison.operator",
        "0",
    ),
    "comparison without operand": (
        [
            'filter { predicate { comparison { column: "age"'
            " operator: COMPARISON_OPERATOR_LESS } } }"
        ],
        "INVALID_FIELD",
        "pipeline.steps[0].filter.predicate.comparison",
        "0",
    ),
    "filter without predicate": (
        ["filter {}"],
        "INVALID_FIELD",
        "pipeline.steps[0].filter.predicate",
        "0",
    ),
    "empty all_of": (
        ["filter { predicate { all_of {} } }"],
        "INVALID_FIELD",
        "pipeline.steps[0].filter.predicate.all_of.predicates",
        "0",
    ),
    "in_set literal out of the column's range": (
        [
            'filter { predicate { any_of { predicates { is_null { column: "age" } } predicates {'
            ' in_set { column: "age" values { int64_value: 300 } } } } } }'
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].filter.predicate.any_of.predicates[1].in_set.values[0]",
        "0",
    ),
    "malformed date literal": (
        [
            'filter { predicate { comparison { column: "id" operator: COMPARISON_OPERATOR_EQUAL'
            ' value { date_value: "2024-1-05" } } } }'
        ],
        "INVALID_FIELD",
        "pipeline.steps[0].filter.predicate.comparison.value.date_value",
        "0",
    ),
    "empty literal": (
        ['filter { predicate { in_set { column: "id" values {} } } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].filter.predicate.in_set.values[0]",
        "0",
    ),
    "string_match on a number": (
        [
            'filter { predicate { string_match { column: "age"'
            ' operator: STRING_MATCH_OPERATOR_CONTAINS pattern: "1" } } }'
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].filter.predicate.string_match.column",
        "0",
    ),
    "fill without strategy": (
        ['fill_nulls { columns: "age" }'],
        "INVALID_FIELD",
        "pipeline.steps[0].fill_nulls.strategy",
        "0",
    ),
    "fill mean of strings": (
        ['fill_nulls { columns: "age" columns: "name" strategy: FILL_STRATEGY_MEAN }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].fill_nulls.columns[1]",
        "0",
    ),
    "fill constant that does not fit int8": (
        [
            'fill_nulls { columns: "age" strategy: FILL_STRATEGY_CONSTANT'
            " value { int64_value: 300 } }"
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].fill_nulls.value",
        "0",
    ),
    "fill constant with a fraction for an integer": (
        [
            'fill_nulls { columns: "age" strategy: FILL_STRATEGY_CONSTANT'
            " value { double_value: 2.5 } }"
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].fill_nulls.value",
        "0",
    ),
    "fill value without CONSTANT": (
        ['fill_nulls { columns: "age" strategy: FILL_STRATEGY_FORWARD value { int64_value: 1 } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].fill_nulls.value",
        "0",
    ),
    "fill column listed twice": (
        ['fill_nulls { columns: "age" columns: "age" strategy: FILL_STRATEGY_FORWARD }'],
        "INVALID_FIELD",
        "pipeline.steps[0].fill_nulls.columns[1]",
        "0",
    ),
    "empty select": (
        ["select_columns {}"],
        "INVALID_FIELD",
        "pipeline.steps[0].select_columns.columns",
        "0",
    ),
    "rename onto an existing column": (
        ['rename_columns { renames { old_name: "name" new_name: "id" } }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].rename_columns.renames[0].new_name",
        "0",
    ),
    "rename to an empty name": (
        ['rename_columns { renames { old_name: "name" } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].rename_columns.renames[0].new_name",
        "0",
    ),
    "cast type outside the grammar": (
        ['cast_columns { casts { column: "score" type: "float64" } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].cast_columns.casts[0].type",
        "0",
    ),
    "cast Arrow does not define": (
        ['cast_columns { casts { column: "active" type: "date32[day]" } }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].cast_columns.casts[0].type",
        "0",
    ),
    "derive over an existing column": (
        ['derive_column { column: "id" expression { literal { int64_value: 1 } } }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].derive_column.column",
        "0",
    ),
    "derive without expression": (
        ['derive_column { column: "x" }'],
        "INVALID_FIELD",
        "pipeline.steps[0].derive_column.expression",
        "0",
    ),
    "function of the wrong type": (
        [
            'derive_column { column: "x" expression { call { function: FUNCTION_UPPER'
            ' arguments { column: "age" } } } }'
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].derive_column.expression.call.arguments[0]",
        "0",
    ),
    "wrong argument count": (
        [
            'derive_column { column: "x" expression { call { function: FUNCTION_ADD'
            ' arguments { column: "age" } } } }'
        ],
        "INVALID_FIELD",
        "pipeline.steps[0].derive_column.expression.call.arguments",
        "0",
    ),
    "function without function": (
        ['derive_column { column: "x" expression { call { arguments { column: "age" } } } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].derive_column.expression.call.function",
        "0",
    ),
    "substring start that is not a literal": (
        [
            'derive_column { column: "x" expression { call { function: FUNCTION_SUBSTRING'
            ' arguments { column: "name" } arguments { column: "id" }'
            " arguments { literal { int64_value: 1 } } } } }"
        ],
        "INVALID_FIELD",
        "pipeline.steps[0].derive_column.expression.call.arguments[1]",
        "0",
    ),
    "negative substring length": (
        [
            'derive_column { column: "x" expression { call { function: FUNCTION_SUBSTRING'
            ' arguments { column: "name" } arguments { literal { int64_value: 0 } }'
            " arguments { literal { int64_value: -1 } } } } }"
        ],
        "INVALID_FIELD",
        "pipeline.steps[0].derive_column.expression.call.arguments[2]",
        "0",
    ),
    "empty replace pattern": (
        [
            'derive_column { column: "x" expression { call { function: FUNCTION_REPLACE'
            ' arguments { column: "name" } arguments { literal { string_value: "" } }'
            ' arguments { literal { string_value: "y" } } } } }'
        ],
        "INVALID_FIELD",
        "pipeline.steps[0].derive_column.expression.call.arguments[1]",
        "0",
    ),
    "coalesce of different types": (
        [
            'derive_column { column: "x" expression { call { function: FUNCTION_COALESCE'
            ' arguments { column: "age" } arguments { column: "score" } } } }'
        ],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].derive_column.expression.call.arguments[1]",
        "0",
    ),
    "unknown column in an expression": (
        [
            'derive_column { column: "x" expression { call { function: FUNCTION_NEGATE'
            ' arguments { column: "nope" } } } }'
        ],
        "COLUMN_NOT_FOUND",
        "pipeline.steps[0].derive_column.expression.call.arguments[0].column",
        "0",
    ),
    "cast expression to an unknown type": (
        [
            'derive_column { column: "x"'
            ' expression { cast { input { column: "age" } type: "int" } } }'
        ],
        "INVALID_FIELD",
        "pipeline.steps[0].derive_column.expression.cast.type",
        "0",
    ),
    "normalize a string": (
        ['normalize { columns: "name" }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].normalize.columns[0]",
        "0",
    ),
    "hash a double": (
        ['anonymize { columns { column: "score" hash { salt: "s" } } }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].anonymize.columns[0].column",
        "0",
    ),
    "hash without salt": (
        ['anonymize { columns { column: "name" hash {} } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].anonymize.columns[0].hash.salt",
        "0",
    ),
    "column anonymized twice": (
        ['anonymize { columns { column: "name" drop {} } columns { column: "name" redact {} } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].anonymize.columns[1].column",
        "0",
    ),
    "two masking characters": (
        ['anonymize { columns { column: "name" mask { masking_char: "**" } } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].anonymize.columns[0].mask.masking_char",
        "0",
    ),
    "mask a number": (
        ['anonymize { columns { column: "id" mask {} } }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].anonymize.columns[0].column",
        "0",
    ),
    "anonymization without operator": (
        ['anonymize { columns { column: "id" } }'],
        "INVALID_FIELD",
        "pipeline.steps[0].anonymize.columns[0]",
        "0",
    ),
    "sample fraction zero": (
        ["sample { fraction: 0 }"],
        "INVALID_FIELD",
        "pipeline.steps[0].sample.fraction",
        "0",
    ),
    "sample count zero": (
        ["sample { count: 0 }"],
        "INVALID_FIELD",
        "pipeline.steps[0].sample.count",
        "0",
    ),
    "sample without size": (
        ["sample { seed: 1 }"],
        "INVALID_FIELD",
        "pipeline.steps[0].sample",
        "0",
    ),
    "split fractions not summing to one": (
        ["split { train_fraction: 0.5 validation_fraction: 0.2 test_fraction: 0.2 }"],
        "INVALID_FIELD",
        "pipeline.steps[0].split.test_fraction",
        "0",
    ),
    "split fraction above one": (
        ["split { train_fraction: 1.5 validation_fraction: -0.5 }"],
        "INVALID_FIELD",
        "pipeline.steps[0].split.train_fraction",
        "0",
    ),
    "split onto an existing column": (
        ['split { train_fraction: 1 column: "name" }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].split.column",
        "0",
    ),
    "noise on an integer column": (
        ['gaussian_noise { columns: "age" stddev: 1 }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].gaussian_noise.columns[0]",
        "0",
    ),
    "noise without stddev": (
        ['gaussian_noise { columns: "score" }'],
        "INVALID_FIELD",
        "pipeline.steps[0].gaussian_noise.stddev",
        "0",
    ),
    "oversample by a double": (
        ['oversample { label_column: "score" }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].oversample.label_column",
        "0",
    ),
    "oversample indicator over an existing column": (
        ['oversample { label_column: "active" indicator_column: "id" }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].oversample.indicator_column",
        "0",
    ),
    "deduplicate by a nested column": (
        ['deduplicate { columns: "tags" }'],
        "SCHEMA_MISMATCH",
        "pipeline.steps[0].deduplicate.columns[0]",
        "0",
    ),
}


@pytest.mark.parametrize(
    ("steps", "reason", "path", "step_index"),
    list(VALIDATION_ERRORS.values()),
    ids=list(VALIDATION_ERRORS),
)
def test_a_pipeline_that_does_not_fit_is_rejected_with_reason_and_path(
    steps: list[str], reason: str, path: str, step_index: str
) -> None:
    schema = PEOPLE.schema.append(pa.field("tags", pa.list_(pa.string())))
    error = validation_error(schema, *steps)
    assert (error.reason, error.violations[0].field) == (reason, path)
    assert error.metadata["step_index"] == step_index


def test_an_unknown_column_is_named_in_the_metadata() -> None:
    error = validation_error(PEOPLE, 'select_columns { columns: "nope" }')
    assert error.metadata == {"step_index": "0", "column": "nope"}


def test_field_paths_start_at_the_given_request_field() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate(pipeline("sample {}"), PEOPLE.schema, "pipeline_run.pipeline")
    assert caught.value.violations[0].field == "pipeline_run.pipeline.steps[0].sample"


def test_more_than_1000_steps_are_rejected_on_the_steps_field() -> None:
    error = validation_error(PEOPLE, *["drop_nulls {}"] * 1001)
    assert (error.reason, error.violations[0].field) == ("INVALID_FIELD", "pipeline.steps")


def test_validation_reports_the_output_schema_of_every_step() -> None:
    p = pipeline(
        'cast_columns { casts { column: "age" type: "decimal128(5, 1)" } }',
        'select_columns { columns: "age" columns: "id" }',
        'derive_column { column: "half" expression { call { function: FUNCTION_DIVIDE'
        ' arguments { column: "id" } arguments { literal { int64_value: 2 } } } } }',
    )
    schemas = pipelines.step_output_schemas(p, PEOPLE.schema)
    assert [str(s.field("age").type) for s in schemas[:2]] == ["decimal128(5, 1)"] * 2
    assert validate(p, PEOPLE.schema) == schemas[2]
    assert [(f.name, str(f.type)) for f in schemas[2]] == [
        ("age", "decimal128(5, 1)"),
        ("id", "int64"),
        ("half", "double"),
    ]


def test_an_empty_pipeline_returns_the_input_unchanged() -> None:
    result = run(pb.Pipeline(), PEOPLE)
    assert validate(pb.Pipeline(), PEOPLE.schema) == PEOPLE.schema
    assert content_digest(result.table) == content_digest(PEOPLE)
    assert result.step_reports == []


def test_run_validates_before_it_touches_data() -> None:
    with pytest.raises(InvalidArgument) as caught:
        run(pipeline('select_columns { columns: "nope" }'), PEOPLE)
    assert caught.value.reason == "COLUMN_NOT_FOUND"


# --- Runs: reports, progress, cancellation (DAT-104, DAT-107) --------------------------------


def test_step_reports_chain_row_counts() -> None:
    result = run(pipeline("drop_nulls {}", "sample { count: 1 }"), PEOPLE)
    counts = [(r.step_index, r.input_row_count, r.output_row_count) for r in result.step_reports]
    assert counts == [(0, 4, 2), (1, 2, 1)]


def test_progress_counts_finished_steps() -> None:
    calls: list[tuple[int, int]] = []
    run(pipeline("drop_nulls {}", "drop_nulls {}"), PEOPLE, on_progress=lambda *c: calls.append(c))
    assert calls == [(0, 2), (1, 2), (2, 2)]


def test_should_stop_cancels_between_steps() -> None:
    polls = iter([False, True])
    with pytest.raises(PipelineCancelled) as caught:
        run(pipeline("drop_nulls {}", "drop_nulls {}"), PEOPLE, should_stop=lambda: next(polls))
    assert caught.value.step_index == 1


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


def compare(name: str, operator: str, operand: str) -> str:
    return (
        f'filter {{ predicate {{ comparison {{ column: "{name}"'
        f" operator: COMPARISON_OPERATOR_{operator} {operand} }} }} }}"
    )


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


def derive(expression: str, name: str = "out", replace: bool = False) -> str:
    flag = str(replace).lower()
    return f'derive_column {{ column: "{name}" replace: {flag} expression {{ {expression} }} }}'


def call(function: str, *arguments: str) -> str:
    args = " ".join(f"arguments {{ {a} }}" for a in arguments)
    return f"call {{ function: FUNCTION_{function} {args} }}"


def col(name: str) -> str:
    return f'column: "{name}"'


def int_literal(value: int) -> str:
    return f"literal {{ int64_value: {value} }}"


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


# --- normalize, standardize (DAT-118) ----------------------------------------------------------


def test_normalize_maps_min_to_zero_and_max_to_one_and_reports_them() -> None:
    table = pa.table({"x": pa.array([2, None, 4, 6], pa.int16()), "y": [NAN, 1.0, 1.0, None]})
    result = run(pipeline('normalize { columns: "x" columns: "y" }'), table)
    assert result.table.column("x").to_pylist() == [0.0, None, 0.5, 1.0]
    assert same_floats(result.table.column("y").to_pylist(), [NAN, 0.0, 0.0, None])
    fitted = result.step_reports[0].fitted_columns
    assert [(f.column, f.min, f.max) for f in fitted] == [("x", 2.0, 6.0), ("y", 1.0, 1.0)]


def test_standardize_uses_the_population_standard_deviation() -> None:
    table = pa.table({"x": [1.0, 3.0, None, NAN]})
    result = run(pipeline('standardize { columns: "x" }'), table)
    assert same_floats(result.table.column("x").to_pylist(), [-1.0, 1.0, None, NAN])
    fitted = result.step_reports[0].fitted_columns[0]
    assert (fitted.mean, fitted.stddev) == (2.0, 1.0)


def test_standardize_of_a_constant_column_gives_zero() -> None:
    table = pa.table({"x": [5, 5]})
    assert column(table, "x", 'standardize { columns: "x" }') == [0.0, 0.0]


# --- anonymize (DAT-119 to DAT-121) ------------------------------------------------------------


def test_hash_is_the_salted_sha256_of_the_value_bytes() -> None:
    table = pa.table({"n": [42, -7, None, 42], "s": ["ann", None, "é", "ann"]})
    step = (
        'anonymize { columns { column: "n" hash { salt: "pepper" } }'
        ' columns { column: "s" hash { salt: "pepper" } } }'
    )
    result = run(pipeline(step), table).table

    def pseudonym(value: bytes) -> str:
        return hashlib.sha256(b"pepper" + value).hexdigest()

    assert result.column("n").to_pylist() == [
        pseudonym(b"42"),
        pseudonym(b"-7"),
        None,
        pseudonym(b"42"),
    ]
    assert result.column("s").to_pylist() == [
        pseudonym(b"ann"),
        None,
        pseudonym("é".encode()),
        pseudonym(b"ann"),
    ]
    assert result.schema.field("n").type == pa.string()


def test_mask_keeps_the_first_characters() -> None:
    step = 'anonymize { columns { column: "name" mask { chars_to_keep: 1 } } }'
    assert column(PEOPLE, "name", step) == ["a**", "b**", None, "d***"]


def test_mask_can_keep_the_last_characters_with_another_character() -> None:
    table = pa.table({"card": ["4111222233334444", "12", "ü1234"]})
    step = (
        'anonymize { columns { column: "card" mask { chars_to_keep: 4 from_end: true'
        ' masking_char: "•" } } }'
    )
    assert column(table, "card", step) == ["••••••••••••4444", "12", "•1234"]


def test_redact_replaces_values_and_keeps_nulls() -> None:
    step = 'anonymize { columns { column: "age" redact { replacement: "?" } } }'
    result = run(pipeline(step), PEOPLE).table
    assert result.column("age").to_pylist() == ["?", None, "?", "?"]
    assert result.schema.field("age").type == pa.string()


def test_drop_removes_the_column() -> None:
    step = 'anonymize { columns { column: "name" drop {} } }'
    assert run(pipeline(step), PEOPLE).table.column_names == ["id", "age", "score", "active"]


# --- sample, split, gaussian_noise, oversample (DAT-122 to DAT-127) ---------------------------

NUMBERS = pa.table({"n": list(range(100)), "group": ["a"] * 80 + ["b"] * 20})


def test_sample_fraction_keeps_the_floor_of_fraction_times_n_in_input_order() -> None:
    kept = column(NUMBERS, "n", "sample { fraction: 0.333 seed: 5 }")
    assert len(kept) == 33
    assert kept == sorted(kept)


def test_sample_count_is_capped_by_the_row_count() -> None:
    assert len(column(NUMBERS, "n", "sample { count: 1000 seed: 5 }")) == 100


def test_different_seeds_usually_sample_different_rows() -> None:
    assert column(NUMBERS, "n", "sample { count: 10 seed: 1 }") != column(
        NUMBERS, "n", "sample { count: 10 seed: 2 }"
    )


def test_split_adds_a_column_with_floor_counts_and_keeps_the_rows() -> None:
    result = output(
        NUMBERS, "split { train_fraction: 0.7 validation_fraction: 0.15 test_fraction: 0.15 }"
    )
    assert result["n"] == list(range(100))
    labels = result["split"]
    assert (labels.count("train"), labels.count("validation"), labels.count("test")) == (70, 15, 15)


def test_stratified_split_counts_within_each_stratum() -> None:
    step = (
        "split { train_fraction: 0.5 validation_fraction: 0.25 test_fraction: 0.25 seed: 9"
        ' column: "set" stratify_column: "group" }'
    )
    result = output(NUMBERS, step)
    pairs = list(zip(result["group"], result["set"], strict=True))
    assert [pairs.count(("a", s)) for s in ("train", "validation", "test")] == [40, 20, 20]
    assert [pairs.count(("b", s)) for s in ("train", "validation", "test")] == [10, 5, 5]


def test_gaussian_noise_changes_only_values_and_keeps_the_type() -> None:
    table = pa.table({"x": pa.array([1.0, None, NAN, 4.0], pa.float32())})
    result = run(pipeline('gaussian_noise { columns: "x" stddev: 0.5 seed: 3 }'), table).table
    values = result.column("x").to_pylist()
    assert result.schema.field("x").type == pa.float32()
    assert values[1] is None and math.isnan(values[2])
    assert values[0] != 1.0 and values[3] != 4.0


def test_oversample_appends_copies_grouped_by_ascending_class() -> None:
    table = pa.table({"label": ["b", "a", "b", None, "b", "c"], "row": [0, 1, 2, 3, 4, 5]})
    step = 'oversample { label_column: "label" seed: 11 indicator_column: "copy" }'
    result = output(table, step)
    assert result["row"][:6] == [0, 1, 2, 3, 4, 5]
    assert result["label"][6:] == ["a", "a", "c", "c"]
    assert set(result["row"][6:8]) == {1} and set(result["row"][8:]) == {5}
    assert result["copy"] == [False] * 6 + [True] * 4


# --- Determinism (§6.5, DAT-101, DAT-126) ------------------------------------------------------

RANDOM_STEPS = [
    "sample { fraction: 0.5 seed: 42 }",
    "split { train_fraction: 0.6 validation_fraction: 0.2 test_fraction: 0.2 seed: 42 }",
    'gaussian_noise { columns: "x" stddev: 2 seed: 0 }',
    'oversample { label_column: "group" seed: 18446744073709551615 }',
]


def test_random_steps_give_identical_output_on_every_run() -> None:
    table = pa.table({"x": [float(i) for i in range(50)], "group": ["a"] * 40 + ["b"] * 10})
    p = pipeline(*RANDOM_STEPS)
    first, second = run(p, table), run(p, table)
    assert content_digest(first.table) == content_digest(second.table)
    assert first.step_reports == second.step_reports


def test_random_steps_do_not_depend_on_chunking() -> None:
    table = pa.table({"x": [float(i) for i in range(50)], "group": ["a"] * 40 + ["b"] * 10})
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=7))
    p = pipeline(*RANDOM_STEPS)
    assert content_digest(run(p, table).table) == content_digest(run(p, chunked).table)


SCHEMA = pa.schema(
    [
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("s", pa.string()),
        ("b", pa.bool_()),
        ("u", pa.uint8()),
    ]
)
NAMES = st.sampled_from(["i", "f", "s", "b", "u", "missing"])
LITERALS = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(lambda v: f"int64_value: {v}"),
    st.floats().map(lambda v: f"double_value: {v!r}"),
    st.sampled_from(['string_value: "a"', "bool_value: true", 'date_value: "2024-01-01"']),
)
CAST_TYPES = st.sampled_from(
    [
        "int8",
        "int64",
        "uint8",
        "double",
        "float",
        "string",
        "bool",
        "date32[day]",
        "float64",
        "decimal128(6, 2)",
    ]
)


STEPS = st.one_of(
    st.builds(lambda c: f'drop_nulls {{ columns: "{c}" }}', NAMES),
    st.builds(
        lambda c, s: f'fill_nulls {{ columns: "{c}" strategy: {s} }}',
        NAMES,
        st.sampled_from(
            [
                "FILL_STRATEGY_FORWARD",
                "FILL_STRATEGY_MEAN",
                "FILL_STRATEGY_MODE",
                "FILL_STRATEGY_UNSPECIFIED",
            ]
        ),
    ),
    st.builds(
        lambda c, v: (
            f'fill_nulls {{ columns: "{c}" strategy: FILL_STRATEGY_CONSTANT value {{ {v} }} }}'
        ),
        NAMES,
        LITERALS,
    ),
    st.builds(lambda c: f'deduplicate {{ columns: "{c}" }}', NAMES),
    st.builds(
        lambda c, o, v: compare(c, o, f"value {{ {v} }}"),
        NAMES,
        st.sampled_from(["EQUAL", "LESS", "GREATER_OR_EQUAL"]),
        LITERALS,
    ),
    st.builds(lambda a, b: f'select_columns {{ columns: "{a}" columns: "{b}" }}', NAMES, NAMES),
    st.builds(
        lambda a, b: f'rename_columns {{ renames {{ old_name: "{a}" new_name: "{b}" }} }}',
        NAMES,
        NAMES,
    ),
    st.builds(
        lambda c, t, p: f'cast_columns {{ casts {{ column: "{c}" type: "{t}" on_error: {p} }} }}',
        NAMES,
        CAST_TYPES,
        st.sampled_from(["CAST_ERROR_POLICY_FAIL", "CAST_ERROR_POLICY_NULL"]),
    ),
    st.builds(
        lambda f, a, b: derive(call(f, col(a), col(b)), name="d", replace=True),
        st.sampled_from(["ADD", "MULTIPLY", "DIVIDE", "CONCAT", "COALESCE", "POWER"]),
        NAMES,
        NAMES,
    ),
    st.builds(lambda c: f'normalize {{ columns: "{c}" }}', NAMES),
    st.builds(lambda c: f'standardize {{ columns: "{c}" }}', NAMES),
    st.builds(lambda c: f'anonymize {{ columns {{ column: "{c}" hash {{ salt: "x" }} }} }}', NAMES),
    st.builds(
        lambda n, s: f"sample {{ count: {n} seed: {s} }}",
        st.integers(-1, 5),
        st.integers(0, 2**64 - 1),
    ),
    st.builds(
        lambda s: f"split {{ train_fraction: 0.5 test_fraction: 0.5 seed: {s} }}", st.integers(0, 9)
    ),
    st.builds(
        lambda c, s: f'gaussian_noise {{ columns: "{c}" stddev: {s} }}',
        NAMES,
        st.sampled_from([0.1, 0.0]),
    ),
    st.builds(lambda c: f'oversample {{ label_column: "{c}" seed: 1 }}', NAMES),
)
ROWS = st.lists(
    st.tuples(
        st.none() | st.integers(-(2**63), 2**63 - 1),
        st.none() | st.floats(),
        st.none() | st.sampled_from(["a", "b", "12", "ß"]),
        st.none() | st.booleans(),
        st.none() | st.integers(0, 255),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEPS, max_size=4), rows=ROWS)
def test_random_pipelines_validate_and_run_deterministically_or_are_rejected(
    steps: list[str], rows: list[tuple]
) -> None:
    p = pipeline(*steps)
    columns = [[row[i] for row in rows] for i in range(len(SCHEMA))]
    table = pa.Table.from_pydict(dict(zip(SCHEMA.names, columns, strict=True)), schema=SCHEMA)
    try:
        schema = validate(p, SCHEMA)
    except InvalidArgument as error:
        assert error.reason in {"COLUMN_NOT_FOUND", "SCHEMA_MISMATCH", "INVALID_FIELD"}
        assert int(error.metadata["step_index"]) < len(steps)
        assert error.violations[0].field.startswith(
            f"pipeline.steps[{error.metadata['step_index']}]"
        )
        return
    outcomes = []
    for _ in range(2):
        try:
            result = run(p, table)
        except FailedPrecondition as error:
            assert error.reason in {"CAST_FAILED", "ARITHMETIC_OVERFLOW"}
            outcomes.append((error.reason, dict(error.metadata)))
        else:
            assert result.table.schema.names == schema.names
            assert result.table.schema.types == schema.types
            reports = [r.SerializeToString(deterministic=True) for r in result.step_reports]
            outcomes.append((content_digest(result.table), reports))
    assert outcomes[0] == outcomes[1]
