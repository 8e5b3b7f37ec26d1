"""The scaling steps (spec/data.md §6.4, DAT-118): normalize (min-max) and standardize
(population z-scores); both report the statistics they fitted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton.data.v1 import pipeline_run_pb2 as run_pb
from lepton_server.data.pipelines.casts import as_double
from lepton_server.data.pipelines.plans import (
    FieldPath,
    Fitted,
    Plan,
    StepCompiler,
    column_array,
    column_indices,
)
from lepton_server.data.pipelines.statistics import mean_and_stddev
from lepton_server.data.pipelines.type_classes import is_numeric, type_string


def _numeric_columns(columns: Sequence[str], schema: pa.Schema, path: FieldPath) -> list[int]:
    indices = column_indices(columns, schema, path, required=True, unique=True)
    for position, index in enumerate(indices):
        t = schema.field(index).type
        if not is_numeric(t):
            raise path.item(position).mismatch(
                f"an integer or floating-point column is needed, not {type_string(t)}"
            )
    return indices


def _normalize(step: pb.NormalizeStep, schema: pa.Schema, path: FieldPath) -> Plan:
    return _rescale(step.columns, schema, path, standardize=False)


def _standardize(step: pb.StandardizeStep, schema: pa.Schema, path: FieldPath) -> Plan:
    return _rescale(step.columns, schema, path, standardize=True)


def _rescale(
    columns: Sequence[str], schema: pa.Schema, path: FieldPath, *, standardize: bool
) -> Plan:
    indices = _numeric_columns(columns, schema, path.field("columns"))
    output = schema
    for index in indices:
        output = output.set(index, pa.field(schema.field(index).name, pa.float64()))

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        fitted = []
        for index in indices:
            array = column_array(table, index)
            x, valid, usable = rescale_inputs(array)
            report = run_pb.FittedColumn(column=table.field(index).name)
            # Without usable values there are no statistics; FittedColumn cannot leave them
            # unset, so they are reported as NaN (spec silent).
            if standardize:
                report.mean, report.stddev = mean_and_stddev(array, x[usable])
            else:
                report.min = float(x[usable].min()) if usable.any() else math.nan
                report.max = float(x[usable].max()) if usable.any() else math.nan
            fitted.append(report)
            rescaled = rescaled_column(x, valid, usable, report, standardize=standardize)
            table = table.set_column(index, output.field(index), rescaled)
        return table, fitted

    return Plan(output, apply, global_step=Rescale(tuple(indices), standardize))


@dataclass(frozen=True)
class Rescale:
    """A normalize or standardize step's parameters (Plan.global_step)."""

    indices: tuple[int, ...]
    standardize: bool


def rescale_inputs(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A numeric column as doubles (nulls as 0), its validity, and which values are usable
    (neither null nor NaN): the values the statistics are fitted on."""
    x = pc.fill_null(as_double(array), 0.0).to_numpy(zero_copy_only=False)
    valid = np.asarray(pc.is_valid(array), dtype=bool)
    return x, valid, valid & ~np.isnan(x)


def rescaled_column(
    x: np.ndarray,
    valid: np.ndarray,
    usable: np.ndarray,
    fitted: run_pb.FittedColumn,
    *,
    standardize: bool,
) -> pa.Array:
    """The column rescaled with the statistics in `fitted`: (x - mean) / stddev or
    (x - min) / (max - min), 0.0 for a constant column; nulls and NaN stay."""
    if standardize:
        center, spread = fitted.mean, fitted.stddev
        constant = spread == 0
    else:
        with np.errstate(all="ignore"):
            center, spread = fitted.min, fitted.max - fitted.min
            constant = fitted.min == fitted.max
    result = x.copy()
    with np.errstate(all="ignore"):
        result[usable] = 0.0 if constant else (x[usable] - center) / spread
    return pa.array(result, pa.float64(), mask=~valid)


COMPILERS: dict[str, StepCompiler] = {
    "normalize": _normalize,
    "standardize": _standardize,
}
