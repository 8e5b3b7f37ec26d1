"""The scaling steps: normalize and standardize (spec/data.md §6.4, DAT-118)."""

from __future__ import annotations

import pyarrow as pa
from support.pipelines import NAN, column, pipeline, same_floats

from lepton_server.data.pipelines import run

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
