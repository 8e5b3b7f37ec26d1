"""The `data-processing` profile (spec/data.md §6, §8.10-§8.12): ValidatePipeline, pipeline
runs as jobs (lineage, determinism, reuse, step reports, failures, listing, Watch and Cancel)
and the semantics of every step of lepton.data.v1.ProcessingService.

Non-random steps are checked against golden vectors (vectors/processing.yaml: an input
table, the steps and the exact output), compared by the content digest the independent
encoder of table_digest.py computes and by values, so they apply to every conforming server
(DAT-128). Random steps, whose exact output is implementation-defined, are checked for
determinism and for the properties §6.4 fixes (sizes, proportions, order, which values
change). Every case works in scratch datasets of its own; pipeline runs cannot be deleted and
stay on the target."""

from __future__ import annotations

import datetime
import math
import uuid
from collections import Counter
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf import json_format

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as dataset_pb
from lepton.data.v1 import pipeline_pb2, pipeline_run_pb2
from lepton.data.v1 import processing_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_conformance.harness import expect, job_lifecycle, vectors
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import table_digest, vector_tables
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_client import DatasetClient, unique_id
from lepton_conformance.suites.data.processing_client import (
    ALWAYS_RECOMPUTE,
    ProcessingClient,
    fingerprint,
    pipeline,
)
from lepton_conformance.suites.data.profiles import PROCESSING

CASES = CaseList()


VECTORS = vectors.load("lepton_conformance.suites.data", "processing.yaml")
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
SHA256 = digest_pb2.DIGEST_ALGORITHM_SHA256
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


# --- helpers ----------------------------------------------------------------------------------


def _input_table(spec: str | list[dict[str, Any]]) -> pa.Table:
    columns = VECTORS["tables"][spec] if isinstance(spec, str) else spec
    return vector_tables.table(columns)


def _expected(row: dict[str, Any], given: pa.Table) -> pa.Table:
    """The output a golden vector describes."""
    output = row["output"]
    if "keep_rows" in output:
        return given.take(pa.array(output["keep_rows"], pa.int64()))
    if "append" in output:
        for spec in output["append"]:
            field, array = vector_tables.column(spec)
            given = given.append_column(field, array)
        return given
    return vector_tables.table(output["columns"])


def _values(table: pa.Table) -> list[list[Any]]:
    """Rows as lists, NaN spelled "NaN" so that equal tables compare equal."""
    return [
        [
            "NaN" if isinstance(v, float) and math.isnan(v) else v
            for v in (table.column(i)[r].as_py() for i in range(table.num_columns))
        ]
        for r in range(table.num_rows)
    ]


def _check_output(
    client: DatasetClient, version: resources.DatasetVersion, wanted: pa.Table, what: str
) -> None:
    """The version holds exactly `wanted`: names, canonical types, values, content digest."""
    expect.equal(
        [(f.name, f.type) for f in version.schema.fields],
        [(f.name, table_digest.canonical_type(f.type)) for f in wanted.schema],
        f"columns of {what}",
    )
    got = client.read_table(version.name)
    expect.equal(_values(got), _values(wanted), f"rows of {what}")
    expect.equal(
        version.content_digest.hex, table_digest.content_digest(wanted), f"digest of {what}"
    )


def _fitted(run: pipeline_run_pb2.PipelineRun, step: int) -> list[dict[str, Any]]:
    """The fitted columns the run reports for a step, as protobuf JSON."""
    expect.holds(
        step < len(run.step_reports),
        f"a StepReport for step {step} of {run.name}",
        f"{len(run.step_reports)} step reports",
    )
    return [
        json_format.MessageToDict(c, preserving_proto_field_name=True)
        for c in run.step_reports[step].fitted_columns
    ]


def _wanted_fitted(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        json_format.MessageToDict(
            json_format.ParseDict(e, pipeline_run_pb2.FittedColumn()),
            preserving_proto_field_name=True,
        )
        for e in entries
    ]


def _runs_of(processing: ProcessingClient, input_version: str) -> list[str]:
    """The runs of an input version, from the first page (enough to see whether any exist)."""
    request = pb.ListPipelineRunsRequest(filter=f'input_version = "{input_version}"')
    page = expect.succeeds(lambda: processing.call("ListPipelineRuns", request), "ListPipelineRuns")
    return [r.name for r in page.pipeline_runs]


# --- golden vectors -------------------------------------------------------------------------


def _register_golden() -> None:
    for row in VECTORS["golden"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client, processing = DatasetClient(ctx), ProcessingClient(ctx)
            given = _input_table(row["input"])
            wanted = _expected(row, given)
            with client.scratch() as name:
                version = client.write(name, given)
                run = processing.succeeded(version.name, pipeline(row["steps"]))
                output = client.version(run.output_version)
                _check_output(client, output, wanted, f"the output of {run.name}")
                for step, entries in row.get("fitted", {}).items():
                    expect.equal(
                        _fitted(run, int(step)),
                        _wanted_fitted(entries),
                        f"step_reports[{step}].fitted_columns",
                    )

        body.__doc__ = f"Golden vector: {row['id'].replace('-', ' ')}"
        CASES.case(PROCESSING, f"golden.{row['id']}", "DAT-128", *row["requirements"])(body)


def _register_validation_errors() -> None:
    for row in VECTORS["validation_errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client, processing = DatasetClient(ctx), ProcessingClient(ctx)
            with client.scratch() as name:
                version = client.write(name, _input_table("wide"))
                request = pb.ValidatePipelineRequest(
                    input_version=version.name, pipeline=pipeline(row["steps"])
                )
                metadata = {"step_index": str(row["step_index"])}
                if "column" in row:
                    metadata["column"] = row["column"]
                expect.rejects(
                    lambda: processing.call("ValidatePipeline", request),
                    INVALID,
                    row["reason"],
                    field=row["field"],
                    metadata=metadata,
                )

        body.__doc__ = f"ValidatePipeline, {row['id'].replace('-', ' ')}: {row['reason']}"
        requirements = ["DAT-094", *row.get("requirements", []), "DAT-002"]
        CASES.case(PROCESSING, f"validate.errors.{row['id']}", *requirements)(body)


_register_golden()
_register_validation_errors()


# --- validation -----------------------------------------------------------------------------


@CASES.case(
    PROCESSING, "validate.schemas-per-step-and-fingerprint", "DAT-092", "DAT-093", "DAT-004"
)
def validate_schemas(ctx: CaseContext) -> None:
    """ValidatePipeline through a tag returns the canonical input version, the schema after
    each step, the last as output_schema (the input's for no step) and the SHA-256 of the
    pipeline's deterministic encoding; it creates no run and no version."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    steps = pipeline(
        [
            {"select_columns": {"columns": ["b", "a"]}},
            {
                "derive_column": {
                    "column": "twice",
                    "expression": {
                        "call": {
                            "function": "FUNCTION_MULTIPLY",
                            "arguments": [{"column": "a"}, {"literal": {"int64_value": 2}}],
                        }
                    },
                }
            },
            {"rename_columns": {"renames": [{"old_name": "b", "new_name": "label"}]}},
            {"anonymize": {"columns": [{"column": "a", "hash": {"salt": "s"}}]}},
        ]
    )
    wanted = [
        [("b", "string"), ("a", "int64")],
        [("b", "string"), ("a", "int64"), ("twice", "int64")],
        [("label", "string"), ("a", "int64"), ("twice", "int64")],
        [("label", "string"), ("a", "string"), ("twice", "int64")],
    ]
    with client.scratch() as name:
        version = client.write(name, rows(3), tags=["input"])
        response = processing.validate(f"{name}/tags/input", steps)
        expect.equal(response.input_version, version.name, "input_version")
        got = [[(f.name, f.type) for f in s.fields] for s in response.step_output_schemas]
        expect.equal(got, wanted, "step_output_schemas")
        expect.equal(response.output_schema, response.step_output_schemas[-1], "output_schema")
        expect.equal(
            (response.pipeline_fingerprint.algorithm, response.pipeline_fingerprint.hex),
            (SHA256, fingerprint(steps)),
            "pipeline_fingerprint (algorithm, hex)",
        )
        empty = processing.validate(version.name, pipeline([]))
        expect.equal(list(empty.step_output_schemas), [], "step_output_schemas of no step")
        expect.equal(
            [(f.name, f.type) for f in empty.output_schema.fields],
            [(f.name, f.type) for f in version.schema.fields],
            "output_schema of no step",
        )
        expect.equal(empty.pipeline_fingerprint.hex, fingerprint(pipeline([])), "fingerprint")
        expect.equal(client.dataset(name).version_count, 1, "versions after ValidatePipeline")
        expect.equal(_runs_of(processing, version.name), [], "runs after ValidatePipeline")
        expect.rejects(
            lambda: processing.call(
                "ValidatePipeline",
                pb.ValidatePipelineRequest(input_version=f"{name}/tags/absent", pipeline=steps),
            ),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(PROCESSING, "validate.at-most-1000-steps", "DAT-097", "DAT-002")
def too_many_steps(ctx: CaseContext) -> None:
    """A pipeline of 1000 steps validates; one of 1001 steps is INVALID_FIELD on
    pipeline.steps."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        step = {"drop_nulls": {}}
        accepted = processing.validate(version.name, pipeline([step] * 1000))
        expect.equal(len(accepted.step_output_schemas), 1000, "schemas of 1000 steps")
        request = pb.ValidatePipelineRequest(
            input_version=version.name, pipeline=pipeline([step] * 1001)
        )
        expect.rejects(
            lambda: processing.call("ValidatePipeline", request),
            INVALID,
            "INVALID_FIELD",
            field="pipeline.steps",
        )


@CASES.case(PROCESSING, "validate.cast-type-strings-accepted", "DAT-098", "DAT-116")
def cast_types_accepted(ctx: CaseContext) -> None:
    """Every string of the cast type grammar within its ranges is accepted, and the cast
    column's Field.type is that string, in ValidatePipeline and in the run's output."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    accepted = VECTORS["cast_types"]["accepted"]
    columns = [f"c{i}" for i in range(len(accepted))]
    table = pa.Table.from_arrays(
        [pa.nulls(2, vector_tables.arrow_type(t)) for t in accepted], names=columns
    )
    steps = pipeline(
        [
            {
                "cast_columns": {
                    "casts": [
                        {"column": c, "type": t} for c, t in zip(columns, accepted, strict=True)
                    ]
                }
            }
        ]
    )
    wanted = list(zip(columns, accepted, strict=True))
    with client.scratch() as name:
        version = client.write(name, table)
        response = processing.validate(version.name, steps)
        expect.equal(
            [(f.name, f.type) for f in response.output_schema.fields], wanted, "cast columns"
        )
        run = processing.succeeded(version.name, steps)
        output = client.version(run.output_version)
        expect.equal([(f.name, f.type) for f in output.schema.fields], wanted, "output columns")


@CASES.case(PROCESSING, "validate.cast-type-strings-rejected", "DAT-098", "DAT-002")
def cast_types_rejected(ctx: CaseContext) -> None:
    """Another spelling, extra spaces, nested and non-scalar types, decimals out of range and
    unknown or malformed time zones are INVALID_FIELD on the cast's type."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        for text in VECTORS["cast_types"]["rejected"]:
            steps = pipeline([{"cast_columns": {"casts": [{"column": "a", "type": text}]}}])
            request = pb.ValidatePipelineRequest(input_version=version.name, pipeline=steps)
            try:
                expect.rejects(
                    lambda request=request: processing.call("ValidatePipeline", request),
                    INVALID,
                    "INVALID_FIELD",
                    field="pipeline.steps[0].cast_columns.casts[0].type",
                    metadata={"step_index": "0"},
                )
            except Failed as failure:
                raise Failed(f"{failure.wanted} for the type {text!r}", failure.got) from None


# --- runs -----------------------------------------------------------------------------------


CLEAN = [
    {
        "filter": {
            "predicate": {
                "comparison": {
                    "column": "a",
                    "operator": "COMPARISON_OPERATOR_GREATER",
                    "value": {"int64_value": 0},
                }
            }
        }
    },
    {"normalize": {"columns": ["a"]}},
]


@CASES.case(
    PROCESSING, "runs.output-version-and-lineage", "DAT-100", "DAT-099", "DAT-093", "DAT-004"
)
def output_lineage(ctx: CaseContext) -> None:
    """A run resolves its input tag and output dataset at creation, records the local
    fingerprint, and commits one OVERWRITE version on the output head with the validated
    schema, its description and tags, and lineage PIPELINE from the run and its input."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    steps = pipeline(CLEAN)
    with client.scratches(2) as (source, target):
        version = client.write(source, rows(5), tags=["src"])
        head = client.write(target, rows(1, 9), tags=["latest"])
        created = processing.create(
            f"{source}/tags/src",
            steps,
            output_dataset=target,
            description="cleaned",
            output_tags=["clean", "latest"],
            labels={"team": "data"},
        )
        expect.equal(
            (created.input_version, created.output_dataset),
            (version.name, target),
            "(input_version, output_dataset) of the created run",
        )
        expect.equal(
            (created.pipeline_fingerprint.algorithm, created.pipeline_fingerprint.hex),
            (SHA256, fingerprint(steps)),
            "pipeline_fingerprint",
        )
        expect.equal(created.pipeline, steps, "the pipeline as sent")
        run = processing.wait(created.name)
        expect.equal(job_lifecycle.name_of(run.status.state), "JOB_STATE_SUCCEEDED", "state")
        output = client.version(run.output_version)
        dataset = client.dataset(target)
        expect.equal((dataset.head_version, dataset.version_count), (output.name, 2), "output head")
        validated = processing.validate(version.name, steps)
        expect.equal(output.schema.fields, validated.output_schema.fields, "validated schema")
        expect.equal(
            (
                resources.WriteMode.Name(output.write_mode),
                output.parent_version,
                output.description,
                sorted(output.tags),
            ),
            ("WRITE_MODE_OVERWRITE", head.name, "cleaned", ["clean", "latest"]),
            "(write_mode, parent_version, description, tags)",
        )
        lineage = output.lineage
        expect.equal(
            (
                resources.VersionOrigin.Name(lineage.origin),
                lineage.source,
                list(lineage.input_versions),
                lineage.transform_fingerprint,
            ),
            ("VERSION_ORIGIN_PIPELINE", run.name, [version.name], run.pipeline_fingerprint),
            "lineage (origin, source, input_versions, transform_fingerprint)",
        )
        same = processing.succeeded(version.name, steps, reuse_policy=ALWAYS_RECOMPUTE)
        expect.equal(same.output_dataset, source, "output_dataset left empty")
        expect.equal(client.dataset(source).head_version, same.output_version, "input's head")


@CASES.case(PROCESSING, "runs.unknown-input-or-output-not-found", "DAT-099", "DAT-002")
def unknown_references(ctx: CaseContext) -> None:
    """An unknown input version or tag, or an unknown output dataset, is NOT_FOUND
    [RESOURCE_NOT_FOUND] and creates no run."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        missing = f"datasets/{unique_id('conf-missing')}"
        for input_version, output in (
            (f"{name}/versions/no-such-version", ""),
            (f"{name}/tags/no-such-tag", ""),
            (version.name, missing),
        ):
            request = processing.create_request(input_version, pipeline([]), output_dataset=output)
            expect.rejects(
                lambda request=request: processing.send(request), NOT_FOUND, "RESOURCE_NOT_FOUND"
            )
        expect.equal(_runs_of(processing, version.name), [], "runs of the input")


@CASES.case(
    PROCESSING,
    "runs.create-validates-like-validate",
    "DAT-095",
    "DAT-009",
    "DAT-008",
    "DAT-002",
)
def create_validates(ctx: CaseContext) -> None:
    """CreatePipelineRun rejects what ValidatePipeline rejects, with paths under
    pipeline_run., bad output tags and run ids as INVALID_NAME, a taken id as ALREADY_EXISTS,
    and creates no run; a request_id replay returns the first run."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    with client.scratch() as name:
        version = client.write(name, _input_table("wide"))
        for row in VECTORS["validation_errors"][:6]:
            request = processing.create_request(version.name, pipeline(row["steps"]))
            expect.rejects(
                lambda request=request: processing.send(request),
                INVALID,
                row["reason"],
                field=f"pipeline_run.{row['field']}",
                metadata={"step_index": str(row["step_index"])},
            )
        for fields, reason, field in (
            ({"output_tags": ["ok", "Bad"]}, "INVALID_NAME", "pipeline_run.output_tags[1]"),
            ({"run_id": "Run_1"}, "INVALID_NAME", "pipeline_run_id"),
            ({"description": "d" * 16385}, "INVALID_FIELD", "pipeline_run.description"),
            ({"labels": {"Team": "x"}}, "INVALID_FIELD", "pipeline_run.labels"),
        ):
            request = processing.create_request(version.name, pipeline([]), **fields)
            expect.rejects(
                lambda request=request: processing.send(request), INVALID, reason, field=field
            )
        expect.equal(_runs_of(processing, version.name), [], "runs after the rejected requests")
        run_id, request_id = unique_id("conf-run"), str(uuid.uuid4())
        first = processing.create(version.name, pipeline([]), run_id=run_id, request_id=request_id)
        expect.equal(first.name, f"pipelineRuns/{run_id}", "the run's name")
        again = expect.succeeds(
            lambda: processing.send(
                processing.create_request(
                    version.name, pipeline([]), run_id=run_id, request_id=request_id
                )
            ),
            "the replayed CreatePipelineRun",
        )
        expect.equal(again.name, first.name, "the run the replay returns")
        expect.rejects(
            lambda: processing.send(
                processing.create_request(
                    version.name,
                    pipeline([{"drop_nulls": {}}]),
                    run_id=run_id,
                    request_id=request_id,
                )
            ),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_CONFLICT",
        )
        expect.rejects(
            lambda: processing.send(
                processing.create_request(
                    version.name, pipeline([{"drop_nulls": {}}]), run_id=run_id
                )
            ),
            grpc.StatusCode.ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
        )
        processing.wait(first.name)
        expect.equal(_runs_of(processing, version.name), [first.name], "runs of the input")


RANDOM_STEPS = [
    {"sample": {"fraction": 0.75, "seed": 5}},
    {"split": {"train_fraction": 0.5, "validation_fraction": 0.25, "test_fraction": 0.25}},
    {"gaussian_noise": {"columns": ["x"], "stddev": 0.5, "seed": 9}},
    {"oversample": {"label_column": "label", "seed": 1, "indicator_column": "copy"}},
]


def _random_input(count: int = 40) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(count), pa.int64()),
            "x": pa.array([i / 4 if i % 7 else None for i in range(count)], pa.float64()),
            "label": pa.array(["a" if i % 4 else ("b" if i % 8 else "c") for i in range(count)]),
        }
    )


@CASES.case(PROCESSING, "runs.recompute-is-deterministic", "DAT-101", "DAT-126")
def recompute(ctx: CaseContext) -> None:
    """Two REUSE_POLICY_ALWAYS_RECOMPUTE runs of the same pipeline with random steps on the
    same input commit two versions with the same content digest."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    steps = pipeline(RANDOM_STEPS)
    with client.scratch() as name:
        version = client.write(name, _random_input())
        runs = [
            processing.succeeded(version.name, steps, reuse_policy=ALWAYS_RECOMPUTE)
            for _ in range(2)
        ]
        outputs = [client.version(r.output_version) for r in runs]
        expect.holds(
            outputs[0].name != outputs[1].name and not any(r.output_reused for r in runs),
            "two computed versions",
            f"{[o.name for o in outputs]}, output_reused {[r.output_reused for r in runs]}",
        )
        expect.equal(
            outputs[1].content_digest.hex, outputs[0].content_digest.hex, "digest of the rerun"
        )


@CASES.case(PROCESSING, "runs.reuse-an-earlier-output", "DAT-102", "DAT-100")
def reuse(ctx: CaseContext) -> None:
    """A run identical to an earlier SUCCEEDED one (input, fingerprint, output dataset) comes
    back SUCCEEDED at creation with output_reused, the earlier output and step reports, and
    its output tags on that version; no version is committed. Another output dataset is not
    identical."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    steps = pipeline(CLEAN)
    with client.scratches(2) as (name, other):
        version = client.write(name, rows(5))
        first = processing.succeeded(version.name, steps)
        count = client.dataset(name).version_count
        reused = processing.create(version.name, steps, output_tags=["reused"])
        expect.equal(
            (job_lifecycle.name_of(reused.status.state), reused.output_reused),
            ("JOB_STATE_SUCCEEDED", True),
            "(state, output_reused) of the identical run as created",
        )
        expect.equal(
            (reused.output_version, list(reused.step_reports)),
            (first.output_version, list(first.step_reports)),
            "(output_version, step_reports) of the reused run",
        )
        expect.equal(client.dataset(name).version_count, count, "versions after the reuse")
        expect.equal(
            client.version(f"{name}/tags/reused").name, first.output_version, "the output tag"
        )
        expect.equal(processing.get(reused.name), reused, "Get of the reused run")
        elsewhere = processing.succeeded(version.name, steps, output_dataset=other)
        expect.holds(
            not elsewhere.output_reused and elsewhere.output_version.startswith(f"{other}/"),
            "a computed output in the other dataset",
            f"{elsewhere.output_version}, output_reused {elsewhere.output_reused}",
        )


@CASES.case(PROCESSING, "runs.empty-pipeline-copies-the-input", "DAT-103")
def empty_pipeline(ctx: CaseContext) -> None:
    """A run of no step commits a version with the input's schema, rows and digest."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    table = _input_table("mixed")
    with client.scratch() as name:
        version = client.write(name, table)
        run = processing.succeeded(version.name, pipeline([]))
        output = client.version(run.output_version)
        expect.equal(output.schema.fields, version.schema.fields, "schema fields")
        expect.equal(output.content_digest, version.content_digest, "content digest")
        expect.equal(_values(client.read_table(output.name)), _values(table), "rows")
        expect.equal(list(run.step_reports), [], "step_reports of no step")


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
        expect.equal(_fitted(run, 1), [{"column": "a", "min": 1.0, "max": 5.0}], "normalize")
        expect.equal(
            _fitted(run, 2),
            [{"column": "a", "mean": 0.4375, "stddev": math.sqrt(0.13671875)}],
            "standardize",
        )
        expect.equal([_fitted(run, i) for i in (0, 3)], [[], []], "filter and sample report")


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
        version = client.write(name, _input_table("casts"))
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


def _create_ns(run: pipeline_run_pb2.PipelineRun) -> int:
    stamp = run.status.create_time
    return stamp.seconds * 1_000_000_000 + stamp.nanos


@CASES.case(PROCESSING, "runs.list-order-and-filters", "DAT-106", "DAT-005", "DAT-006", "DAT-007")
def list_runs(ctx: CaseContext) -> None:
    """ListPipelineRuns returns runs newest first, in the order order_by asks for, the same
    page by page, and filters on labels, status.state, input_version, output_dataset,
    output_version, pipeline_fingerprint and status.create_time."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    run_label = unique_id("run")
    with client.scratches(2) as (name, other):
        version = client.write(name, _input_table("casts"))
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
        newest = sorted(runs, key=lambda r: (-_create_ns(r), r.name))
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
                f'status.create_time > "{_rfc3339(_create_ns(pivot))}"',
                lambda r: _create_ns(r) > _create_ns(pivot),
            ),
        ):
            walked = processing.list(filter=f"{selection} AND {term}")
            wanted = [r.name for r in newest if matches(r)]
            expect.equal([r.name for r in walked], wanted, f"runs matching {term!r}")


def _rfc3339(nanos: int) -> str:
    seconds, fraction = divmod(nanos, 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


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
    with client.scratch() as name:
        version = client.write(name, rows(50))
        created = processing.create(
            version.name, pipeline(CLEAN * 3), reuse_policy=ALWAYS_RECOMPUTE
        )
        messages = processing.watch(created.name)
        final = processing.get(created.name)
        expect.equal(messages[-1], final, "the last Watch message = Get afterwards")
        expect.equal(processing.watch(created.name), [final], "Watch of the finished run")
        expect.rejects(
            lambda: processing.cancel(created.name), FAILED_PRECONDITION, "JOB_ALREADY_FINISHED"
        )
        expect.equal(processing.get(created.name), final, "the run after the refused cancel")
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
    table = _random_input()
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
            expect.equal(_values(output), _values(wanted), "rows as they were in the input")


@CASES.case(PROCESSING, "random.split-counts-per-stratum", "DAT-123", "DAT-126", "DAT-108")
def split(ctx: CaseContext) -> None:
    """split appends a non-null string column of train/validation/test with floor(f·n)
    train and validation rows per stratum and the rest test, and keeps every row in order."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    table = _random_input()
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
                _values(output.drop_columns([column])), _values(table), "rows kept in order"
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
        expect.equal(_values(head.select(["id", "label"])), _values(table), "input rows first")
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
        version = client.write(name, _random_input())
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
