"""Pipeline runs (spec/data.md §6, §8.10-§8.12): declarative pipelines validated against the
input version's schema, run as job resources on the shared JobRunner (read through a
JobCollection), and committed as one version through the catalog's commit path; identical
runs reuse the earlier output."""

from __future__ import annotations

import asyncio
from typing import Any

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import pipeline_run_pb2 as run_pb
from lepton.data.v1 import processing_service_pb2 as pb
from lepton.type.v1 import digest_pb2, job_pb2
from lepton_server.aip import resource_names
from lepton_server.aip.filtering.fields import FieldType, FilterField
from lepton_server.aip.jobs.collection import JobCollection
from lepton_server.aip.jobs.runner import Cancelled, JobHandle, JobRunner
from lepton_server.aip.labels import check_labels
from lepton_server.data import pipelines
from lepton_server.data.dataset_catalog import DatasetCatalog
from lepton_server.data.dataset_resources import DATASET, MAX_DESCRIPTION
from lepton_server.data.pipelines import MAX_STEPS
from lepton_server.data.processing_executors import LocalExecutor, ProcessingExecutor
from lepton_server.data.version_writes import Commit, schema_message
from lepton_server.runtime.errors import invalid_field

KIND = "pipelineRuns"
# The filter fields of runs besides the standard job fields (collection.job_filter).
RUN_FIELDS = (
    FilterField("input_version", FieldType.RESOURCE_NAME, frozenset({"="})),
    FilterField("output_dataset", FieldType.RESOURCE_NAME, frozenset({"="})),
    FilterField("output_version", FieldType.RESOURCE_NAME, frozenset({"="})),
    FilterField("pipeline_fingerprint", FieldType.STRING, frozenset({"="})),
)


def _digest(hex_value: str) -> digest_pb2.Digest:
    return digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hex_value)


class Processing:
    """ValidatePipeline and the creation of pipeline runs over one dataset catalog; `runs`
    gets, lists, cancels and watches them."""

    def __init__(
        self,
        catalog: DatasetCatalog,
        runner: JobRunner,
        executor: ProcessingExecutor | None = None,
    ) -> None:
        self.catalog = catalog
        self.runner = runner
        self.executor = executor or LocalExecutor()
        self.runs = JobCollection(
            runner,
            KIND,
            catalog.tokens,
            extra_fields=RUN_FIELDS,
            values={"pipeline_fingerprint": lambda run: run.pipeline_fingerprint.hex},
        )

    def _input(self, reference: str, field: str) -> tuple[Any, Any, pa.Schema, str]:
        dataset, row = self.catalog.resolve(reference, field)
        version = resources.DatasetVersion.FromString(row.message)
        schema = pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))
        return dataset, row, schema, version.name

    @staticmethod
    def _check_size(pipeline: Any, field: str) -> None:
        if len(pipeline.steps) > MAX_STEPS:
            raise invalid_field(f"{field}.steps", f"at most {MAX_STEPS} steps")

    def validate(self, request: pb.ValidatePipelineRequest) -> pb.ValidatePipelineResponse:
        """DAT-092: the schema after every step, and the fingerprint; creates nothing."""
        _, _, schema, canonical = self._input(request.input_version, "input_version")
        self._check_size(request.pipeline, "pipeline")
        schemas = pipelines.step_output_schemas(request.pipeline, schema, "pipeline")
        return pb.ValidatePipelineResponse(
            input_version=canonical,
            output_schema=schema_message(schemas[-1] if schemas else schema),
            step_output_schemas=[schema_message(s) for s in schemas],
            pipeline_fingerprint=_digest(pipelines.fingerprint(request.pipeline)),
        )

    def create(self, request: pb.CreatePipelineRunRequest) -> run_pb.PipelineRun:
        given = request.pipeline_run
        dataset, row, schema, canonical = self._input(
            given.input_version, "pipeline_run.input_version"
        )
        self._check_size(given.pipeline, "pipeline_run.pipeline")
        pipelines.validate(given.pipeline, schema, "pipeline_run.pipeline")
        output = given.output_dataset or f"datasets/{dataset.id}"
        output_row = self.catalog.dataset_row(output, "pipeline_run.output_dataset")
        if len(given.description) > MAX_DESCRIPTION:
            raise invalid_field("pipeline_run.description", f"at most {MAX_DESCRIPTION} characters")
        for i, tag in enumerate(given.output_tags):
            resource_names.check_id(tag, f"pipeline_run.output_tags[{i}]", "tag id")
        check_labels(given.labels, "pipeline_run.labels")

        def create() -> run_pb.PipelineRun:
            run = self.runs.draft(
                given,
                "",
                job_id=request.pipeline_run_id,
                id_field="pipeline_run_id",
                prefix="r",
                outputs=("output_version", "output_reused", "step_reports"),
                what="pipeline run id",
            )
            run.input_version = canonical
            run.output_dataset = output
            fingerprint = pipelines.fingerprint(given.pipeline)
            run.pipeline_fingerprint.CopyFrom(_digest(fingerprint))
            reused = self._reusable(run)
            if reused is None:
                return self.runner.create(
                    KIND, "", run, lambda handle: self._run(handle, dataset, row, output_row)
                )
            return self._reuse(run, reused, output_row)

        return self.runs.create_once(self.catalog, "CreatePipelineRun", "", request, create)

    def _reusable(self, run: run_pb.PipelineRun) -> run_pb.PipelineRun | None:
        """DAT-102: an earlier SUCCEEDED run of the same input, pipeline and output dataset
        whose output version still exists."""
        if run.reuse_policy == run_pb.REUSE_POLICY_ALWAYS_RECOMPUTE:
            return None
        for earlier in self.runner.list(KIND, None):
            same = (
                earlier.status.state == job_pb2.JOB_STATE_SUCCEEDED
                and earlier.input_version == run.input_version
                and earlier.output_dataset == run.output_dataset
                and earlier.pipeline_fingerprint.hex == run.pipeline_fingerprint.hex
            )
            if same:
                try:
                    self.catalog.get_version(earlier.output_version)
                except Exception:
                    continue
                return earlier
        return None

    def _reuse(
        self, run: run_pb.PipelineRun, earlier: run_pb.PipelineRun, output: Any
    ) -> run_pb.PipelineRun:
        """DAT-102: the run completes at creation with the earlier output, its step reports
        copied and its output tags moved to that version."""
        for tag in run.output_tags:
            self.catalog.set_tag_now(output, tag, earlier.output_version)

        def record(job: run_pb.PipelineRun) -> None:
            job.output_version = earlier.output_version
            job.output_reused = True
            job.step_reports.extend(earlier.step_reports)

        return self.runner.create_succeeded(KIND, "", run, record)

    async def _run(self, handle: JobHandle, dataset: Any, row: Any, output: Any) -> None:
        run: run_pb.PipelineRun = handle.job
        loop = asyncio.get_running_loop()
        table = await loop.run_in_executor(None, self.catalog.version_table, dataset, row)

        def progress(completed: int, total: int) -> None:
            loop.call_soon_threadsafe(handle.progress, completed, total, "steps")

        try:
            result = await loop.run_in_executor(
                None,
                lambda: self.executor.run(
                    run.pipeline, table, on_progress=progress, should_stop=lambda: handle.stopping
                ),
            )
        except pipelines.PipelineCancelled:
            raise Cancelled from None
        if handle.stopping:
            raise Cancelled
        commit = Commit(
            mode=resources.WRITE_MODE_OVERWRITE,
            lineage=resources.Lineage(
                origin=resources.VERSION_ORIGIN_PIPELINE,
                source=run.name,
                input_versions=[run.input_version],
                transform_fingerprint=run.pipeline_fingerprint,
            ),
            tags=tuple(run.output_tags),
            description=run.description,
        )
        with handle.committing():
            version = await self.catalog.commit_table(output, result.table, commit)

        def record(job: run_pb.PipelineRun) -> None:
            job.output_version = version.name
            job.step_reports.extend(result.step_reports)

        handle.update(record)


__all__ = ["DATASET", "Processing"]
