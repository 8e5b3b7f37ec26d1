"""The scaling steps (spec/data.md §6.4, DAT-118): normalize (min-max) and standardize
(population z-scores); both report the statistics they fitted."""

from __future__ import annotations

import math
from collections.abc import Sequence

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
            x = pc.fill_null(as_double(array), 0.0).to_numpy(zero_copy_only=False)
            valid = np.asarray(pc.is_valid(array), dtype=bool)
            usable = valid & ~np.isnan(x)
            report = run_pb.FittedColumn(column=table.field(index).name)
            # Without usable values there are no statistics; FittedColumn cannot leave them
            # unset, so they are reported as NaN (spec silent).
            if standardize:
                center, spread = mean_and_stddev(array, x[usable])
                report.mean, report.stddev = center, spread
                constant = spread == 0
            else:
                low = float(x[usable].min()) if usable.any() else math.nan
                high = float(x[usable].max()) if usable.any() else math.nan
                report.min, report.max = low, high
                with np.errstate(all="ignore"):
                    center, spread, constant = low, high - low, low == high
            result = x.copy()
            with np.errstate(all="ignore"):
                result[usable] = 0.0 if constant else (x[usable] - center) / spread
            fitted.append(report)
            rescaled = pa.array(result, pa.float64(), mask=~valid)
            table = table.set_column(index, output.field(index), rescaled)
        return table, fitted

    return Plan(output, apply)


COMPILERS: dict[str, StepCompiler] = {
    "normalize": _normalize,
    "standardize": _standardize,
}
