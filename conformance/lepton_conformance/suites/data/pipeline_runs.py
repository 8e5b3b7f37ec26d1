"""data-processing cases of pipeline runs: output versions and lineage, unknown references,
validation at creation, determinism, reuse and the empty pipeline (spec/data.md §8.11)."""

from __future__ import annotations

import uuid

import grpc

from lepton.data.v1 import dataset_pb2 as resources
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import lineage_fields
from lepton_conformance.suites.data.dataset_client import DatasetClient, unique_id
from lepton_conformance.suites.data.pipeline_checks import (
    CLEAN,
    INVALID,
    NOT_FOUND,
    RANDOM_STEPS,
    SHA256,
    VECTORS,
    input_table,
    random_input,
    runs_of,
    values_of,
)
from lepton_conformance.suites.data.processing_client import (
    ALWAYS_RECOMPUTE,
    ProcessingClient,
    fingerprint,
    pipeline,
)
from lepton_conformance.suites.data.profiles import PROCESSING

CASES = CaseList()


# --- runs -----------------------------------------------------------------------------------


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
        expect.equal(
            lineage_fields(output, "transform_fingerprint"),
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
        expect.equal(runs_of(processing, version.name), [], "runs of the input")


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
        version = client.write(name, input_table("wide"))
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
        expect.equal(runs_of(processing, version.name), [], "runs after the rejected requests")
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
        expect.equal(runs_of(processing, version.name), [first.name], "runs of the input")


@CASES.case(PROCESSING, "runs.recompute-is-deterministic", "DAT-101", "DAT-126")
def recompute(ctx: CaseContext) -> None:
    """Two REUSE_POLICY_ALWAYS_RECOMPUTE runs of the same pipeline with random steps on the
    same input commit two versions with the same content digest."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    steps = pipeline(RANDOM_STEPS)
    with client.scratch() as name:
        version = client.write(name, random_input())
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
    table = input_table("mixed")
    with client.scratch() as name:
        version = client.write(name, table)
        run = processing.succeeded(version.name, pipeline([]))
        output = client.version(run.output_version)
        expect.equal(output.schema.fields, version.schema.fields, "schema fields")
        expect.equal(output.content_digest, version.content_digest, "content digest")
        expect.equal(values_of(client.read_table(output.name)), values_of(table), "rows")
        expect.equal(list(run.step_reports), [], "step_reports of no step")
