"""The Ray executor of pipeline runs (spec/data.md §6.6, DAT-131) on a real Ray head bound to
loopback: every kind of step, row-wise or global, gives the local executor's rows in the
local order, hence the same content digest and step reports, also on a table several times
larger than one task's memory budget; and `lepton serve --processing-executor ray` commits
the version a local run would."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from support.pipelines import compare, pipeline
from support.servers import SERVE, start_server

from lepton_ai.data import DataManager
from lepton_server.data.pipelines import PipelineCancelled, run
from lepton_server.data.ray_processing import RayExecutor
from lepton_server.data.table_digest import content_digest
from lepton_server.runtime.errors import FailedPrecondition


def table(rows: int, seed: int = 0) -> pa.Table:
    """Integers, doubles with nulls and NaN, a low-cardinality string with nulls, text."""
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 3, rows)
    x[rng.random(rows) < 0.02] = np.nan
    return pa.table(
        {
            "id": pa.array(np.arange(rows), pa.int64()),
            "a": pa.array(rng.integers(0, 40, rows), pa.int32()),
            "x": pa.array(x, mask=rng.random(rows) < 0.05),
            "g": pa.array(rng.choice(["p", "q", "r"], rows), mask=rng.random(rows) < 0.1),
            "s": pa.array([f"text {i % 700}" for i in range(rows)]),
        }
    )


ROW_WISE = (
    compare("a", "GREATER", "value { int64_value: 3 }"),
    'cast_columns { casts { column: "a" type: "int64" } }',
    'anonymize { columns { column: "s" hash { salt: "pepper" } } }',
    'select_columns { columns: "id" columns: "a" columns: "x" columns: "g" columns: "s" }',
)
STEPS = {
    "row-wise": ROW_WISE,
    "normalize": ('normalize { columns: "x" columns: "a" }',),
    "standardize": ('standardize { columns: "x" columns: "a" }',),
    "deduplicate-first": ('deduplicate { columns: "a" columns: "g" }',),
    "deduplicate-last": ('deduplicate { columns: "s" keep: DUPLICATE_KEEP_LAST }',),
    "sample-fraction": ("sample { fraction: 0.3 seed: 4 }",),
    "sample-count": ("sample { count: 17 seed: 11 }",),
    "split": ("split { train_fraction: 0.7 validation_fraction: 0.2 test_fraction: 0.1 seed: 3 }",),
    "split-stratified": (
        "split { train_fraction: 0.5 validation_fraction: 0.25 test_fraction: 0.25 seed: 9"
        ' column: "set" stratify_column: "g" }',
    ),
    # Global steps without a two-pass plan run on the driver, with the same result.
    "on-the-driver": (
        'fill_nulls { columns: "x" strategy: FILL_STRATEGY_MEAN }',
        'gaussian_noise { columns: "x" stddev: 1 seed: 2 }',
        'oversample { label_column: "g" seed: 5 }',
    ),
}
# Every kind at once, row-wise steps between global ones.
EVERYTHING = (
    ROW_WISE[0],
    *STEPS["deduplicate-first"],
    *STEPS["standardize"],
    ROW_WISE[2],
    *STEPS["normalize"],
    *STEPS["sample-fraction"],
    *STEPS["split-stratified"],
)


def same_run(executor: RayExecutor, data: pa.Table, *steps: str) -> None:
    """The Ray run and the local run agree on rows, order, digest and step reports."""
    local = run(pipeline(*steps), data)
    remote = executor.run(pipeline(*steps), data)
    assert content_digest(remote.table) == content_digest(local.table)
    # The digest covers every value; NaN makes Table.equals false even against itself.
    assert remote.table.schema == local.table.schema
    assert remote.table.column("id").equals(local.table.column("id"))
    assert list(remote.step_reports) == list(local.step_reports)


@pytest.mark.parametrize("steps", STEPS.values(), ids=STEPS.keys())
def test_each_kind_of_step_gives_the_local_digest(ray_address, steps):
    # About eight chunks, so that pass 1 has something to merge.
    data = table(6000)
    executor = RayExecutor(ray_address, task_memory_bytes=4 * data.nbytes // 8)
    same_run(executor, data, *steps)


def test_a_table_larger_than_a_tasks_memory_budget_gives_the_local_digest(ray_address):
    budget = 256 << 10
    data = table(60_000, seed=1)
    assert data.nbytes > 8 * budget
    executor = RayExecutor(ray_address, task_memory_bytes=budget)
    assert executor.chunk_rows(data) * data.nbytes // data.num_rows <= budget // 4
    same_run(executor, data, *EVERYTHING)


def edges(rows: int) -> pa.Table:
    """Values where merged statistics are delicate: signed zeros, NaN, infinities, sums that
    overflow a double, int64 extremes, and float keys that §6.4 calls equal (-0.0 = 0.0)."""
    cycle = [0.0, -0.0, math.nan, 1e308, 1e308, -1e308, 2.5, math.inf, None, 5e-324]
    return pa.table(
        {
            "id": pa.array(np.arange(rows), pa.int64()),
            "zeros": pa.array([(-0.0, 0.0, 1.0)[i % 3] for i in range(rows)]),
            "wild": pa.array([cycle[i % len(cycle)] for i in range(rows)], pa.float64()),
            "big": pa.array([(2**63 - 1, -(2**63), 7)[i % 3] for i in range(rows)], pa.int64()),
            "key": pa.array([(0.0, -0.0, math.nan, None, 1.5)[i % 5] for i in range(rows)]),
        }
    )


EDGE_STEPS = {
    "normalize-signed-zeros": ('normalize { columns: "zeros" }',),
    "normalize-wild": ('normalize { columns: "wild" }',),
    "standardize-wild": ('standardize { columns: "wild" }',),
    "standardize-finite-overflow": (
        compare("wild", "LESS", "value { double_value: 1e300 }"),
        'standardize { columns: "wild" }',
    ),
    "standardize-int64-extremes": ('standardize { columns: "big" }',),
    "deduplicate-float-keys": ('deduplicate { columns: "key" }',),
    "split-by-float-strata": (
        "split { train_fraction: 0.4 validation_fraction: 0.4 test_fraction: 0.2 seed: 1"
        ' stratify_column: "key" }',
    ),
}


@pytest.mark.parametrize("steps", EDGE_STEPS.values(), ids=EDGE_STEPS.keys())
def test_delicate_values_give_the_local_digest(ray_address, steps):
    data = edges(3000)
    executor = RayExecutor(ray_address, task_memory_bytes=4 * data.nbytes // 6)
    same_run(executor, data, *steps)


def test_an_empty_table_and_an_empty_pipeline(ray_address):
    executor = RayExecutor(ray_address)
    same_run(executor, table(100).slice(0, 0), *EVERYTHING)
    same_run(executor, table(100))


def test_progress_and_cancellation_between_steps_as_the_local_executor(ray_address):
    data, steps = table(500), pipeline(*EVERYTHING)
    local: list[tuple[int, int]] = []
    remote: list[tuple[int, int]] = []
    run(steps, data, on_progress=lambda *p: local.append(p))
    RayExecutor(ray_address).run(steps, data, on_progress=lambda *p: remote.append(p))
    assert remote == local == [(i, len(EVERYTHING)) for i in range(len(EVERYTHING) + 1)]
    with pytest.raises(PipelineCancelled) as cancelled:
        RayExecutor(ray_address).run(steps, data, should_stop=lambda: True)
    assert cancelled.value.step_index == 0


def test_a_failing_task_fails_the_run_with_the_local_error(ray_address):
    data = pa.table({"t": ["1", "2", "x"]})
    step = 'cast_columns { casts { column: "t" type: "int64" } }'
    with pytest.raises(FailedPrecondition) as local:
        run(pipeline(step), data)
    with pytest.raises(FailedPrecondition) as remote:
        RayExecutor(ray_address).run(pipeline(step), data)
    assert remote.value.reason == local.value.reason == "CAST_FAILED"
    assert remote.value.metadata == local.value.metadata


def test_a_server_with_the_ray_executor_commits_the_local_runs_version(ray_address, tmp_path):
    data = table(3000, seed=2)
    server = start_server(
        ["--processing-executor", "ray", "--ray-address", ray_address], tmp_path / "data"
    )
    try:
        with DataManager.connect(server.address, progress=False) as manager:
            manager.load_data(data, "numbers")
            version = manager.process_data("numbers", pipeline(*EVERYTHING))
        assert version.content_digest.hex == content_digest(run(pipeline(*EVERYTHING), data).table)
    finally:
        server.stop()
    assert server.process.returncode == 0, "".join(server.stderr)


def test_the_ray_executor_needs_an_address(tmp_path: Path):
    command = [*SERVE, "serve", "--address", "127.0.0.1:0", "--data-dir", str(tmp_path)]
    result = subprocess.run(
        [*command, "--processing-executor", "ray"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--processing-executor ray needs --ray-address" in result.stderr
    assert "Traceback" not in result.stderr
