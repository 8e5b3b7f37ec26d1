"""The column steps (spec/data.md §6.4, DAT-115 to DAT-117): select_columns, rename_columns,
cast_columns and derive_column."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.pipelines.casts import cast_array, cast_policy, cast_target
from lepton_server.data.pipelines.expressions import ExpressionContext, compile_expression
from lepton_server.data.pipelines.plans import (
    FieldPath,
    Fitted,
    Plan,
    StepCompiler,
    column_array,
    column_indices,
    columns_named_once,
)


def _select_columns(step: pb.SelectColumnsStep, schema: pa.Schema, path: FieldPath) -> Plan:
    indices = column_indices(
        step.columns, schema, path.field("columns"), required=True, unique=True
    )
    output = pa.schema([schema.field(i) for i in indices], metadata=schema.metadata)
    return Plan(output, lambda table: (table.select(indices), []), row_wise=True)


def _rename_columns(step: pb.RenameColumnsStep, schema: pa.Schema, path: FieldPath) -> Plan:
    renames_path = path.field("renames")
    if not step.renames:
        raise renames_path.invalid("at least one rename is required")
    names = list(schema.names)
    renames = columns_named_once(
        step.renames, "old_name", schema, renames_path, "{!r} is renamed twice"
    )
    for rename, item, index in renames:
        if not rename.new_name:
            raise item.field("new_name").invalid("a new name is required")
        names[index] = rename.new_name
    counts = Counter(names)
    for position, rename in enumerate(step.renames):
        if counts[rename.new_name] > 1:
            raise (
                renames_path.item(position)
                .field("new_name")
                .mismatch(f"two columns would be named {rename.new_name!r}")
            )
    output = pa.schema(
        [f.with_name(name) for f, name in zip(schema, names, strict=True)],
        metadata=schema.metadata,
    )
    return Plan(output, lambda table: (table.rename_columns(names), []), row_wise=True)


def _cast_columns(step: pb.CastColumnsStep, schema: pa.Schema, path: FieldPath) -> Plan:
    casts_path = path.field("casts")
    if not step.casts:
        raise casts_path.invalid("at least one cast is required")
    targets: list[tuple[int, pa.DataType, bool]] = []
    output = schema
    casts = columns_named_once(
        step.casts, "column", schema, casts_path, "column {!r} is cast twice"
    )
    for cast, item, index in casts:
        target = cast_target(cast.type, schema.field(index).type, item.field("type"))
        null_on_error = cast_policy(cast.on_error, item.field("on_error"))
        targets.append((index, target, null_on_error))
        output = output.set(index, pa.field(cast.column, target))
    step_index = path.step_index

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        for index, target, null_on_error in targets:
            name = table.field(index).name
            array = cast_array(column_array(table, index), target, null_on_error, step_index, name)
            table = table.set_column(index, output.field(index), array)
        return table, []

    return Plan(output, apply, row_wise=True)


def _derive_column(step: pb.DeriveColumnStep, schema: pa.Schema, path: FieldPath) -> Plan:
    name = step.column
    if not name:
        raise path.field("column").invalid("the name of the column to produce is required")
    existing = schema.get_field_index(name)
    if existing >= 0 and not step.replace:
        raise path.field("column").mismatch(
            f"a column named {name!r} exists; set replace to replace it"
        )
    expression_path = path.field("expression")
    if not step.HasField("expression"):
        raise expression_path.invalid("an expression is required")
    context = ExpressionContext(schema, path.step_index, name)
    expression = compile_expression(step.expression, context, expression_path)
    field = pa.field(name, expression.type)
    output = schema.set(existing, field) if existing >= 0 else schema.append(field)

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        array = expression.evaluate(table)
        if existing >= 0:
            return table.set_column(existing, field, array), []
        return table.append_column(field, array), []

    return Plan(output, apply, row_wise=True)


COMPILERS: dict[str, StepCompiler] = {
    "select_columns": _select_columns,
    "rename_columns": _rename_columns,
    "cast_columns": _cast_columns,
    "derive_column": _derive_column,
}
