"""The pipelines that do not fit the schema, each with the reason, field path and step_index
of its INVALID_ARGUMENT (spec/data.md §6.1, DAT-094 to DAT-098).

Pipelines are written in protobuf text format, so each test shows the message a client sends.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from support.pipelines import PEOPLE, validation_error

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
