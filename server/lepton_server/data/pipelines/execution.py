"""A pipeline run on a table (spec/data.md §6): compiled against the table's own schema, then
its steps applied in order, with progress after each step, cancellation between steps and one
report per step (DAT-104, DAT-107)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from lepton.data.v1 import pipeline_pb2 as pb
from lepton.data.v1 import pipeline_run_pb2 as run_pb
from lepton_server.data.arrow_types import decode_dictionaries
from lepton_server.data.pipelines.compilation import compile_pipeline
from lepton_server.data.pipelines.plans import Fitted, Plan
from lepton_server.runtime.errors import Internal


class PipelineCancelled(Exception):
    """`should_stop` asked `run` to stop; `step_index` is the first step that did not run."""

    def __init__(self, step_index: int) -> None:
        self.step_index = step_index
        super().__init__(f"the pipeline run was cancelled before step {step_index}")


@dataclass(frozen=True)
class RunResult:
    """The output table and one report per step, in step order (DAT-104)."""

    table: pa.Table
    step_reports: list[run_pb.StepReport]


def check_output(table: pa.Table, plan: Plan, index: int) -> None:
    """Raise Internal unless step `index` produced the schema it validated."""
    if table.schema.names != plan.output_schema.names or not all(
        a.equals(b) for a, b in zip(table.schema.types, plan.output_schema.types, strict=True)
    ):
        raise Internal(
            reason="INTERNAL_ERROR",
            message=f"step {index} produced {table.schema}, not the schema it validated",
        )


def step_report(index: int, input_rows: int, output_rows: int, fitted: Fitted) -> run_pb.StepReport:
    """The report of step `index` (DAT-104)."""
    return run_pb.StepReport(
        step_index=index,
        input_row_count=input_rows,
        output_row_count=output_rows,
        fitted_columns=fitted,
    )


def run(
    pipeline: pb.Pipeline,
    table: pa.Table,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunResult:
    """Evaluate `pipeline` on `table` (spec/data.md §6).

    Validates first (the same InvalidArgument as `validate` with field path "pipeline"), then
    runs the steps in order. `on_progress(completed, total)` is called with 0 before the first
    step and after every step (DAT-107); `should_stop()` is polled before every step and a true
    answer raises PipelineCancelled. Data that a step cannot process raises FailedPrecondition
    with reason CAST_FAILED or ARITHMETIC_OVERFLOW and metadata `step_index` (DAT-105).
    """
    table = decode_dictionaries(table)
    plans = compile_pipeline(pipeline, table.schema, "pipeline")
    if on_progress is not None:
        on_progress(0, len(plans))
    reports: list[run_pb.StepReport] = []
    for index, plan in enumerate(plans):
        if should_stop is not None and should_stop():
            raise PipelineCancelled(index)
        input_rows = table.num_rows
        table, fitted = plan.apply(table)
        check_output(table, plan, index)
        reports.append(step_report(index, input_rows, table.num_rows, fitted))
        if on_progress is not None:
            on_progress(index + 1, len(plans))
    return RunResult(table, reports)
