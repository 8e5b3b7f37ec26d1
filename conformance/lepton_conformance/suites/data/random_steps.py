"""data-processing cases of the random steps: sample, split, gaussian noise and oversample
are deterministic per seed and keep the properties spec/data.md §6.4 fixes."""

from __future__ import annotations

import math
from collections import Counter

import pyarrow as pa

from lepton.data.v1 import pipeline_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import table_digest
from lepton_conformance.suites.data.dataset_client import DatasetClient
from lepton_conformance.suites.data.pipeline_checks import random_input, values_of
from lepton_conformance.suites.data.processing_client import (
    ALWAYS_RECOMPUTE,
    ProcessingClient,
    pipeline,
)
from lepton_conformance.suites.data.profiles import PROCESSING

CASES = CaseList()


# --- random steps -----------------------------------------------------------------------------


def _run_twice(
    processing: ProcessingClient, version: str, steps: pipeline_pb2.Pipeline, client: DatasetClient
) -> pa.Table:
    """The output of two recomputed runs, which must be the same (DAT-126)."""
    first, second = (
        processing.succeeded(version, steps, reuse_policy=ALWAYS_RECOMPUTE) for _ in range(2)
    )
    one, two = client.version(first.output_version), client.version(second.output_version)
    expect.equal(two.content_digest.hex, one.content_digest.hex, "digest of the same run again")
    return client.read_table(one.name)


@CASES.case(PROCESSING, "random.sample-size-and-order", "DAT-122", "DAT-126", "DAT-108")
def sample(ctx: CaseContext) -> None:
    """sample keeps floor(fraction·n) or min(count, n) distinct input rows in input order,
    the same ones on every run."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    table = random_input()
    with client.scratch() as name:
        version = client.write(name, table)
        for size, kept in (
            ({"fraction": 0.25, "seed": 7}, 10),
            ({"fraction": 1.0, "seed": 0}, 40),
            ({"count": 15, "seed": 0}, 15),
            ({"count": 100, "seed": 3}, 40),
        ):
            output = _run_twice(processing, version.name, pipeline([{"sample": size}]), client)
            ids = output.column("id").to_pylist()
            expect.equal(len(ids), kept, f"rows kept by sample {size}")
            expect.holds(ids == sorted(set(ids)), "distinct rows in input order", str(ids))
            wanted = table.take(pa.array(ids, pa.int64()))
            expect.equal(values_of(output), values_of(wanted), "rows as they were in the input")


@CASES.case(PROCESSING, "random.split-counts-per-stratum", "DAT-123", "DAT-126", "DAT-108")
def split(ctx: CaseContext) -> None:
    """split appends a non-null string column of train/validation/test with floor(f·n)
    train and validation rows per stratum and the rest test, and keeps every row in order."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    table = random_input()
    fractions = {"train_fraction": 0.5, "validation_fraction": 0.25, "test_fraction": 0.25}
    strata = Counter(table.column("label").to_pylist())
    with client.scratch() as name:
        version = client.write(name, table)
        for step, column, groups in (
            ({**fractions, "seed": 2}, "split", {None: 40}),
            (
                {**fractions, "seed": 2, "column": "part", "stratify_column": "label"},
                "part",
                strata,
            ),
        ):
            output = _run_twice(processing, version.name, pipeline([{"split": step}]), client)
            expect.equal(output.column_names, [*table.column_names, column], "columns")
            expect.equal(
                values_of(output.drop_columns([column])), values_of(table), "rows kept in order"
            )
            assigned = output.column(column).to_pylist()
            labels = table.column("label").to_pylist()
            for group, n in groups.items():
                mine = [
                    a
                    for a, lab in zip(assigned, labels, strict=True)
                    if group is None or lab == group
                ]
                train, validation = math.floor(0.5 * n), math.floor(0.25 * n)
                expect.equal(
                    Counter(mine),
                    Counter(
                        {"train": train, "validation": validation, "test": n - train - validation}
                    ),
                    f"assignments of stratum {group!r} with {step}",
                )


@CASES.case(PROCESSING, "random.gaussian-noise-changes-only-values", "DAT-124", "DAT-126")
def gaussian_noise(ctx: CaseContext) -> None:
    """gaussian_noise keeps column types, nulls, NaN and every other column, and changes the
    other values of the listed columns."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    table = pa.table(
        {
            "d": pa.array([1.0, None, float("nan"), -2.5, 0.0, 100.0]),
            "f": pa.array([1.0, 2.0, None, float("nan"), 3.0, 4.0], pa.float32()),
            "k": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
        }
    )
    steps = pipeline([{"gaussian_noise": {"columns": ["d", "f"], "stddev": 0.5, "seed": 11}}])
    with client.scratch() as name:
        version = client.write(name, table)
        output = _run_twice(processing, version.name, steps, client)
        expect.equal(
            [table_digest.canonical_type(t) for t in output.schema.types],
            ["double", "float", "int64"],
            "column types",
        )
        expect.equal(output.num_rows, table.num_rows, "rows")
        expect.equal(output.column("k").to_pylist(), table.column("k").to_pylist(), "column k")
        for column in ("d", "f"):
            for before, after in zip(
                table.column(column).to_pylist(), output.column(column).to_pylist(), strict=True
            ):
                if before is None or math.isnan(before):
                    expect.equal(
                        "NaN" if after is not None and math.isnan(after) else after,
                        "NaN" if before is not None else None,
                        f"a null or NaN of {column}",
                    )
                else:
                    expect.holds(
                        after is not None and math.isfinite(after) and after != before,
                        f"a changed value of {column}",
                        f"{before} -> {after}",
                    )


@CASES.case(PROCESSING, "random.oversample-balances-classes", "DAT-125", "DAT-126", "DAT-108")
def oversample(ctx: CaseContext) -> None:
    """oversample keeps the input rows in order, then appends copies of rows of each smaller
    class, grouped by ascending class, until every class has the largest class's count;
    null labels are never copied; the indicator is false for input rows, true for copies."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    labels = ["a", "b", None, "a", "c", "a", "b", "a", None, "a"]
    table = pa.table({"id": pa.array(range(10), pa.int64()), "label": labels})
    steps = pipeline(
        [{"oversample": {"label_column": "label", "seed": 8, "indicator_column": "copy"}}]
    )
    with client.scratch() as name:
        version = client.write(name, table)
        output = _run_twice(processing, version.name, steps, client)
        expect.equal(output.column_names, ["id", "label", "copy"], "columns")
        expect.equal(output.num_rows, 10 + 3 + 4, "rows: input, 3 copies of b, 4 of c")
        head = output.slice(0, 10)
        expect.equal(values_of(head.select(["id", "label"])), values_of(table), "input rows first")
        expect.equal(head.column("copy").to_pylist(), [False] * 10, "indicator of input rows")
        copies = output.slice(10)
        expect.equal(copies.column("copy").to_pylist(), [True] * 7, "indicator of copies")
        expect.equal(copies.column("label").to_pylist(), ["b"] * 3 + ["c"] * 4, "copy classes")
        for row in copies.to_pylist():
            expect.equal(labels[row["id"]], row["label"], f"the class of copied row {row['id']}")


@CASES.case(PROCESSING, "random.seeds-give-different-outputs", "DAT-127")
def seeds_differ(ctx: CaseContext) -> None:
    """Different seeds usually select different rows (sample) and assignments (split)."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    with client.scratch() as name:
        version = client.write(name, random_input())
        for step in (
            {"sample": {"fraction": 0.5}},
            {"split": {"train_fraction": 0.5, "validation_fraction": 0.25, "test_fraction": 0.25}},
        ):
            kind = next(iter(step))
            digests = set()
            for seed in (1, 2, 3):
                seeded = {kind: {**step[kind], "seed": seed}}
                run = processing.succeeded(version.name, pipeline([seeded]))
                digests.add(client.version(run.output_version).content_digest.hex)
            expect.holds(len(digests) > 1, f"seeds 1, 2 and 3 of {kind} to differ", "all equal")
