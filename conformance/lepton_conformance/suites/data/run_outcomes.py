"""data-processing cases of what a run reports and how it ends: step reports, failures,
listing, Watch and Cancel, progress (spec/data.md §8.11, §8.12)."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
from google.protobuf import json_format

from lepton.data.v1 import dataset_service_pb2 as dataset_pb
from lepton.data.v1 import processing_service_pb2 as pb
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import nanos_of, rfc3339
from lepton_conformance.suites.data.dataset_client import DatasetClient, unique_id
from lepton_conformance.suites.data.pipeline_checks import (
    CLEAN,
    FAILED_PRECONDITION,
    NOT_FOUND,
    fitted_of,
    input_table,
)
from lepton_conformance.suites.data.processing_client import (
    ALWAYS_RECOMPUTE,
    ProcessingClient,
    fingerprint,
    pipeline,
)
from lepton_conformance.suites.data.profiles import PROCESSING

CASES = CaseList()


@CASES.case(PROCESSING, "runs.step-reports", "DAT-104")
def step_reports(ctx: CaseContext) -> None:
    """A succeeded run reports each step in order with row counts that chain from the input
    to the output, and the statistics its fitting steps applied."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    steps = pipeline(
        [
            *CLEAN,
            {"standardize": {"columns": ["a"]}},
            {"sample": {"count": 2, "seed": 4}},
            {"fill_nulls": {"columns": ["b"], "strategy": "FILL_STRATEGY_MODE"}},
        ]
    )
    table = pa.table({"a": pa.array([0, 1, 2, 3, 5], pa.int64()), "b": ["x", "y", "x", None, "y"]})
    with client.scratch() as name:
        version = client.write(name, table)
        run = processing.succeeded(version.name, steps)
        output = client.version(run.output_version)
        counts = [(r.step_index, r.input_row_count, r.output_row_count) for r in run.step_reports]
        expect.equal(counts, [(0, 5, 4), (1, 4, 4), (2, 4, 4), (3, 4, 2), (4, 2, 2)], "counts")
        expect.equal(run.step_reports[-1].output_row_count, output.row_count, "output rows")
        expect.equal(fitted_of(run, 1), [{"column": "a", "min": 1.0, "max": 5.0}], "normalize")
        expect.equal(
            fitted_of(run, 2),
            [{"column": "a", "mean": 0.4375, "stddev": math.sqrt(0.13671875)}],
            "standardize",
        )
        expect.equal([fitted_of(run, i) for i in (0, 3)], [[], []], "filter and sample report")


@CASES.case(PROCESSING, "runs.cast-failure-fails-the-run", "DAT-105", "DAT-087", "DAT-084")
def cast_failure(ctx: CaseContext) -> None:
    """A value a FAIL cast cannot convert fails the run with FAILED_PRECONDITION
    [CAST_FAILED], metadata step_index and column, no output version and no tag."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    steps = pipeline(
        [
            {"select_columns": {"columns": ["txt", "big"]}},
            {"cast_columns": {"casts": [{"column": "big", "type": "int16"}]}},
            {"cast_columns": {"casts": [{"column": "txt", "type": "int64"}]}},
        ]
    )
    with client.scratch() as name:
        version = client.write(name, input_table("casts"))
        run = processing.finish(version.name, steps, output_tags=["bad"])
        error = run.status.error
        expect.equal(
            (job_lifecycle.name_of(run.status.state), error.code, error.reason),
            ("JOB_STATE_FAILED", FAILED_PRECONDITION.value[0], "CAST_FAILED"),
            "(state, error.code, error.reason)",
        )
        expect.equal(
            (error.metadata.get("step_index"), error.metadata.get("column")),
            ("2", "txt"),
            "error metadata (step_index, column)",
        )
        expect.equal((run.output_version, list(run.step_reports)), ("", []), "outputs")
        dataset = client.dataset(name)
        expect.equal((dataset.version_count, dataset.head_version), (1, version.name), "head")
        tags = client.call("ListTags", dataset_pb.ListTagsRequest(parent=name)).tags
        expect.equal(list(tags), [], "tags after the failed run")


def _call(function: str, *arguments: dict[str, Any]) -> dict[str, Any]:
    return {"call": {"function": function, "arguments": list(arguments)}}


@CASES.case(PROCESSING, "runs.overflow-fails-the-run", "DAT-105", "DAT-087")
def overflow(ctx: CaseContext) -> None:
    """Integer overflow in ADD, SUBTRACT, MULTIPLY, NEGATE or ABS fails the run with
    FAILED_PRECONDITION [ARITHMETIC_OVERFLOW] and metadata step_index."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    table = pa.table(
        {
            "hi": pa.array([1, 2**63 - 1], pa.int64()),
            "lo": pa.array([-(2**63), 0], pa.int64()),
            "u": pa.array([1, 2**63], pa.uint64()),
        }
    )
    one = {"literal": {"int64_value": 1}}
    two = {"literal": {"int64_value": 2}}
    expressions = [
        _call("FUNCTION_ADD", {"column": "hi"}, one),
        _call("FUNCTION_SUBTRACT", {"column": "lo"}, one),
        _call("FUNCTION_MULTIPLY", {"column": "hi"}, two),
        _call("FUNCTION_NEGATE", {"column": "lo"}),
        _call("FUNCTION_ABS", {"column": "lo"}),
        _call("FUNCTION_ADD", {"column": "u"}, {"literal": {"int64_value": 0}}),
    ]
    with client.scratch() as name:
        version = client.write(name, table)
        for expression in expressions:
            steps = pipeline(
                [
                    {"select_columns": {"columns": ["hi", "lo", "u"]}},
                    {"derive_column": {"column": "y", "expression": expression}},
                ]
            )
            run = processing.finish(version.name, steps)
            error = run.status.error
            expect.equal(
                (
                    job_lifecycle.name_of(run.status.state),
                    error.code,
                    error.reason,
                    error.metadata.get("step_index"),
                ),
                ("JOB_STATE_FAILED", FAILED_PRECONDITION.value[0], "ARITHMETIC_OVERFLOW", "1"),
                f"(state, code, reason, step_index) of {json_format.MessageToJson(steps.steps[1])}",
            )
        expect.equal(client.dataset(name).version_count, 1, "versions after the failed runs")


@CASES.case(PROCESSING, "runs.list-order-and-filters", "DAT-106", "DAT-005", "DAT-006", "DAT-007")
def list_runs(ctx: CaseContext) -> None:
    """ListPipelineRuns returns runs newest first, in the order order_by asks for, the same
    page by page, and filters on labels, status.state, input_version, output_dataset,
    output_version, pipeline_fingerprint and status.create_time."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    run_label = unique_id("run")
    with client.scratches(2) as (name, other):
        version = client.write(name, input_table("casts"))
        failing = pipeline([{"cast_columns": {"casts": [{"column": "txt", "type": "int64"}]}}])
        runs = [
            processing.finish(version.name, pipeline([]), labels={"run": run_label}),
            processing.finish(version.name, failing, labels={"run": run_label, "team": "x"}),
            processing.finish(
                version.name,
                pipeline([]),
                output_dataset=other,
                labels={"run": run_label},
                reuse_policy=ALWAYS_RECOMPUTE,
            ),
        ]
        selection = f'labels.run = "{run_label}"'
        newest = sorted(runs, key=lambda r: (-nanos_of(r.status.create_time), r.name))
        for size in (0, 1, 2):
            walked = processing.list(filter=selection, page_size=size)
            expect.equal([r.name for r in walked], [r.name for r in newest], f"page_size {size}")
        walked = processing.list(filter=selection, order_by="name desc", page_size=2)
        expect.equal(
            [r.name for r in walked], sorted((r.name for r in runs), reverse=True), "name desc"
        )
        pivot = runs[1]
        for term, matches in (
            ("status.state = FAILED", lambda r: r.status.state == job_lifecycle.FAILED),
            ("status.state != FAILED", lambda r: r.status.state != job_lifecycle.FAILED),
            ('labels.team = "x"', lambda r: r.labels.get("team") == "x"),
            ('labels.team != "x"', lambda r: r.labels.get("team") != "x"),
            (f'output_dataset = "{other}"', lambda r: r.output_dataset == other),
            (
                f'output_version = "{runs[0].output_version}"',
                lambda r: r.output_version == runs[0].output_version,
            ),
            (f'input_version = "{version.name}"', lambda r: True),
            (
                f'pipeline_fingerprint = "{fingerprint(failing)}"',
                lambda r: r.pipeline_fingerprint.hex == fingerprint(failing),
            ),
            (
                f'status.create_time > "{rfc3339(nanos_of(pivot.status.create_time))}"',
                lambda r: nanos_of(r.status.create_time) > nanos_of(pivot.status.create_time),
            ),
        ):
            walked = processing.list(filter=f"{selection} AND {term}")
            wanted = [r.name for r in newest if matches(r)]
            expect.equal([r.name for r in walked], wanted, f"runs matching {term!r}")


@CASES.case(
    PROCESSING,
    "runs.watch-get-and-cancel",
    "DAT-088",
    "DAT-086",
    "DAT-083",
    "GEN-061",
    "GEN-062",
    "DAT-002",
)
def watch_and_cancel(ctx: CaseContext) -> None:
    """Watch of a new run follows it to the terminal state and ends; Watch of a finished run
    sends one message equal to Get; Cancel of a finished run is FAILED_PRECONDITION
    [JOB_ALREADY_FINISHED]; an unknown run is NOT_FOUND."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)

    def attempt(input_rows: int) -> bool:
        with client.scratch() as name:
            version = client.write(name, rows(input_rows))
            created = processing.create(
                version.name, pipeline(CLEAN * 3), reuse_policy=ALWAYS_RECOMPUTE
            )
            messages = processing.watch(created.name)
            final = processing.get(created.name)
            expect.equal(messages[-1], final, "the last Watch message = Get afterwards")
            expect.equal(processing.watch(created.name), [final], "Watch of the finished run")
            expect.rejects(
                lambda: processing.cancel(created.name),
                FAILED_PRECONDITION,
                "JOB_ALREADY_FINISHED",
            )
            expect.equal(processing.get(created.name), final, "the run after the refused cancel")
            # A Watch that opened on the finished run followed no state change.
            return messages[0].status.state not in job_lifecycle.TERMINAL

    missing = f"pipelineRuns/{unique_id('conf-missing')}"
    for rpc, request in (
        ("GetPipelineRun", pb.GetPipelineRunRequest(name=missing)),
        ("CancelPipelineRun", pb.CancelPipelineRunRequest(name=missing)),
        ("WatchPipelineRun", pb.WatchPipelineRunRequest(name=missing)),
    ):
        expect.rejects(
            lambda rpc=rpc, request=request: processing.call(rpc, request),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            metadata={"resource_name": missing},
        )
    # Input sizes in rows: a server that finished the first run before its Watch opened gets
    # a longer one.
    job_lifecycle.while_live((50, 5000), attempt, "its Watch opened")


@CASES.case(PROCESSING, "runs.progress-in-steps", "DAT-107")
def progress_in_steps(ctx: CaseContext) -> None:
    """A finished run reports progress in steps: total the number of steps, all completed."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(5))
        run = processing.succeeded(version.name, pipeline(CLEAN), reuse_policy=ALWAYS_RECOMPUTE)
        progress = run.status.progress
        expect.equal(
            (progress.unit, progress.total, progress.completed), ("steps", 2, 2), "progress"
        )
