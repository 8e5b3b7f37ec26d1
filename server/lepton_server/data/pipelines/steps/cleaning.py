"""The cleaning steps (spec/data.md §6.4, DAT-109 to DAT-114): drop_nulls, fill_nulls,
deduplicate and filter."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton.data.v1 import pipeline_run_pb2 as run_pb
from lepton_server.data.pipelines import predicates
from lepton_server.data.pipelines.literals import checked_literal, convert_literal, fitted_literal
from lepton_server.data.pipelines.plans import (
    FieldPath,
    Fitted,
    Plan,
    StepCompiler,
    check_enum,
    column_array,
    column_indices,
)
from lepton_server.data.pipelines.statistics import canonical_key, fitted_fill
from lepton_server.data.pipelines.type_classes import is_mode_type, is_numeric, type_string


def _drop_nulls(step: pb.DropNullsStep, schema: pa.Schema, path: FieldPath) -> Plan:
    indices = column_indices(
        step.columns, schema, path.field("columns"), required=False, unique=False
    ) or list(range(len(schema)))
    check_enum(
        step.policy,
        (pb.NULL_ROW_POLICY_UNSPECIFIED, pb.NULL_ROW_POLICY_ANY, pb.NULL_ROW_POLICY_ALL),
        path.field("policy"),
        required=False,
    )
    combine = pc.and_ if step.policy == pb.NULL_ROW_POLICY_ALL else pc.or_

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        # A table without columns has nothing to consider: no row is removed (§6.4 is silent).
        if not indices:
            return table, []
        nulls = functools.reduce(combine, [pc.is_null(table.column(i)) for i in indices])
        return table.filter(pc.invert(nulls)), []

    return Plan(schema, apply, row_wise=True)


def _fill_nulls(step: pb.FillNullsStep, schema: pa.Schema, path: FieldPath) -> Plan:
    columns_path = path.field("columns")
    indices = column_indices(step.columns, schema, columns_path, required=True, unique=True)
    strategy = step.strategy
    check_enum(strategy, list(pb.FillStrategy.values()), path.field("strategy"), required=True)
    value_path = path.field("value")
    constant = strategy == pb.FILL_STRATEGY_CONSTANT
    if constant and not step.HasField("value"):
        raise value_path.invalid("FILL_STRATEGY_CONSTANT requires a value")
    if not constant and step.HasField("value"):
        raise value_path.invalid("only FILL_STRATEGY_CONSTANT takes a value")
    fills: dict[int, pa.Scalar] = {}
    if constant:
        literal = checked_literal(step.value, value_path)
        for index in indices:
            t = schema.field(index).type
            converted = convert_literal(literal, t)
            if converted is None:
                raise value_path.mismatch(
                    f"the value does not convert exactly to column {schema.field(index).name!r}"
                    f" of type {type_string(t)}"
                )
            fills[index] = pa.scalar(converted, type=t)
    for position, index in enumerate(indices):
        t = schema.field(index).type
        numeric_only = strategy in (pb.FILL_STRATEGY_MEAN, pb.FILL_STRATEGY_MEDIAN)
        if (numeric_only and not is_numeric(t)) or (
            strategy == pb.FILL_STRATEGY_MODE and not is_mode_type(t)
        ):
            raise columns_path.item(position).mismatch(
                f"{pb.FillStrategy.Name(strategy)} does not accept a column of type "
                f"{type_string(t)}"
            )

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        fitted = []
        for index in indices:
            array = column_array(table, index)
            if strategy in (pb.FILL_STRATEGY_FORWARD, pb.FILL_STRATEGY_BACKWARD):
                filled = _fill_directional(array, forward=strategy == pb.FILL_STRATEGY_FORWARD)
            else:
                fill = fills[index] if constant else fitted_fill(array, strategy)
                filled = array if fill is None else pc.fill_null(array, fill)
                if not constant:
                    column = run_pb.FittedColumn(column=table.field(index).name)
                    if fill is not None:
                        column.fill_value.CopyFrom(fitted_literal(fill))
                    fitted.append(column)
            table = table.set_column(index, table.field(index), filled)
        return table, fitted

    # Fitted fills and directional fills look beyond the row; a constant does not.
    return Plan(schema, apply, row_wise=constant)


def _fill_directional(array: pa.Array, *, forward: bool) -> pa.Array:
    """Each null replaced by the nearest non-null above (forward) or below; any type."""
    if array.null_count == 0:
        return array
    valid = np.asarray(pc.is_valid(array), dtype=bool)
    n = len(array)
    if forward:
        source = np.maximum.accumulate(np.where(valid, np.arange(n), -1))
    else:
        source = np.minimum.accumulate(np.where(valid, np.arange(n), n)[::-1])[::-1]
        source = np.where(source == n, -1, source)
    return array.take(pa.array(source, pa.int64(), mask=source < 0))


def _deduplicate(step: pb.DeduplicateStep, schema: pa.Schema, path: FieldPath) -> Plan:
    columns_path = path.field("columns")
    indices = column_indices(step.columns, schema, columns_path, required=False, unique=False)
    for position, index in enumerate(indices or range(len(schema))):
        t = schema.field(index).type
        if pa.types.is_nested(t):
            where = columns_path.item(position) if indices else columns_path
            raise where.mismatch(
                f"column {schema.field(index).name!r} of nested type {type_string(t)} "
                "cannot be a key"
            )
    keys = indices or list(range(len(schema)))
    check_enum(
        step.keep,
        (pb.DUPLICATE_KEEP_UNSPECIFIED, pb.DUPLICATE_KEEP_FIRST, pb.DUPLICATE_KEEP_LAST),
        path.field("keep"),
        required=False,
    )
    keep_last = step.keep == pb.DUPLICATE_KEEP_LAST

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        n = table.num_rows
        if n == 0:
            return table, []
        if not keys:  # no columns at all: every row equals every other
            return table.take([n - 1 if keep_last else 0]), []
        return table.take(kept_rows(key_table(table, keys, 0), keep_last)), []

    return Plan(schema, apply, global_step=Deduplicate(tuple(keys), keep_last))


@dataclass(frozen=True)
class Deduplicate:
    """A deduplicate step's parameters (Plan.global_step): the key columns, which row stays."""

    keys: tuple[int, ...]
    keep_last: bool


def key_table(table: pa.Table, keys: Sequence[int], first_row: int) -> pa.Table:
    """The canonical key columns of `table` (§6.4 equality) and each row's number, counted
    from `first_row`: what deduplicate groups rows by."""
    columns = {f"k{i}": canonical_key(column_array(table, i)) for i in dict.fromkeys(keys)}
    columns["row"] = pa.array(np.arange(first_row, first_row + table.num_rows, dtype=np.int64))
    return pa.table(columns)


def kept_rows(keyed: pa.Table, keep_last: bool) -> np.ndarray:
    """The sorted row numbers of `keyed` (a key_table, or several concatenated) that
    deduplicate keeps: the first (or last) of each group of equal keys."""
    aggregate = "max" if keep_last else "min"
    groups = keyed.group_by(
        [name for name in keyed.column_names if name != "row"], use_threads=False
    ).aggregate([("row", aggregate)])
    return np.sort(groups.column(f"row_{aggregate}").to_numpy())


def _filter(step: pb.FilterStep, schema: pa.Schema, path: FieldPath) -> Plan:
    predicate_path = path.field("predicate")
    if not step.HasField("predicate"):
        raise predicate_path.invalid("a predicate is required")
    # Looked up on the module at each compilation, so that a patched compile_predicate (a
    # mutant) also compiles the top-level predicate.
    predicate = predicates.compile_predicate(step.predicate, schema, predicate_path)

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        # Filter drops rows whose mask is null: unknown removes the row, as false does.
        return table.filter(predicate(table)), []

    return Plan(schema, apply, row_wise=True)


COMPILERS: dict[str, StepCompiler] = {
    "drop_nulls": _drop_nulls,
    "fill_nulls": _fill_nulls,
    "deduplicate": _deduplicate,
    "filter": _filter,
}
