"""The random steps and their determinism: sample, split, gaussian_noise and oversample
(spec/data.md §6.4, §6.5, DAT-101, DAT-122 to DAT-127)."""

from __future__ import annotations

import math

import pyarrow as pa
from support.pipelines import NAN, column, output, pipeline

from lepton_server.data.pipelines import run
from lepton_server.data.table_digest import content_digest

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
