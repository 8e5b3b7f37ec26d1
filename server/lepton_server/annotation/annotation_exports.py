"""Annotation export jobs (spec/annotation.md §3.6, ANN-047 to ANN-053): the chosen human
annotations of a project, joined to their rows, committed as one new version of a dataset,
whose lineage names the job. Predictions are never read. The commit goes through the data
layer hosted by the same server (a client cannot claim such a lineage), so servers that
reach their data layer elsewhere do not offer export jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lepton.data.v1 import annotation_export_job_pb2 as ej
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at
from lepton.data.v1 import dataset_pb2 as resources
from lepton_server.aip import resource_names
from lepton_server.aip.jobs.collection import JobCollection
from lepton_server.aip.jobs.runner import Cancelled, JobHandle
from lepton_server.aip.labels import check_labels
from lepton_server.aip.request_ids import StoredRequestIds, check_request_id
from lepton_server.aip.standard_fields import MAX_DESCRIPTION, check_text
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.dataset_rows import DatasetRows, arrow_schema
from lepton_server.annotation.export_tables import ExportRows, added_columns, chosen
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.task_states import COMPLETED
from lepton_server.runtime.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    LeptonError,
    invalid_field,
)

KIND = "exportJobs"
OUTPUTS = ("status", "output_version", "written_row_count")


@dataclass(frozen=True)
class ExportPlan:
    project: ap.AnnotationProject
    source_columns: tuple[str, ...]
    source_schema: pa.Schema
    states: frozenset[int]


class AnnotationExports:
    """Export jobs of the store's projects, committing through the data layer's catalog."""

    def __init__(
        self,
        store: AnnotationStore,
        *,
        projects: Projects,
        rows: DatasetRows,
        collection: JobCollection,
        catalog: Callable[[], Any],
    ) -> None:
        self.store = store
        self.projects = projects
        self.rows = rows
        self.collection = collection
        self.catalog = catalog  # the data layer's DatasetCatalog
        self.request_ids = StoredRequestIds(store)

    def _plan(self, request: pb.CreateAnnotationExportJobRequest) -> ExportPlan:
        """Every check of ANN-049 and ANN-051, before a job exists."""
        check_request_id(request.request_id)
        project = self.projects.stored(request.parent, "parent")
        job = request.annotation_export_job
        prefix = "annotation_export_job"
        resource_names.parse(
            job.destination_dataset, ("datasets",), f"{prefix}.destination_dataset"
        )
        for i, tag in enumerate(job.tags):
            resource_names.check_id(tag, f"{prefix}.tags[{i}]", "tag id")
        for i, state in enumerate(job.task_states):
            if state not in at.TaskState.values() or state == at.TASK_STATE_UNSPECIFIED:
                raise invalid_field(f"{prefix}.task_states[{i}]", "name a task state")
        check_text(job.description, f"{prefix}.description", MAX_DESCRIPTION)
        check_labels(job.labels, f"{prefix}.labels")
        schema = arrow_schema(self.rows.version(project.dataset_version, "dataset_version"))
        columns = tuple(job.source_columns) or tuple(schema.names)
        added = added_columns(project.label_specs)
        for i, column in enumerate(job.source_columns):
            if schema.get_field_index(column) < 0:
                raise InvalidArgument(
                    reason="COLUMN_NOT_FOUND",
                    message=f"the version has no column {column!r}",
                    metadata={"column": column},
                    violations=[FieldViolation(f"{prefix}.source_columns[{i}]", "no such column")],
                )
        for column in columns:
            if column in added:
                raise FailedPrecondition(
                    reason="COLUMN_NAME_CONFLICT",
                    message=f"the source column {column!r} has the name of an exported column",
                    metadata={"column": column},
                )
        self.catalog().dataset_row(job.destination_dataset, f"{prefix}.destination_dataset")
        return ExportPlan(
            project=project,
            source_columns=columns,
            source_schema=schema,
            states=frozenset(job.task_states) or frozenset({COMPLETED}),
        )

    async def create(self, request: pb.CreateAnnotationExportJobRequest) -> ej.AnnotationExportJob:
        plan = await asyncio.to_thread(self._plan, request)
        return self.collection.create(
            self.request_ids,
            "CreateAnnotationExportJob",
            request,
            request.annotation_export_job,
            id_field="annotation_export_job_id",
            outputs=OUTPUTS,
            work=lambda handle: self._work(handle, plan),
        )

    def _table(self, plan: ExportPlan, selection: int) -> tuple[pa.Table, list[str], int]:
        """The exported table, its input versions and the number of selected tasks: the
        tasks and annotations read in one transaction (one instant of the project, ANN-047),
        the rows from their immutable versions afterwards."""
        rows = ExportRows(plan.project.label_specs, plan.source_columns, plan.source_schema)
        with self.store.atomic():
            tasks = [t for t in self.store.tasks(plan.project.name) if t.state in plan.states]
            annotations = self.store.annotations(project=plan.project.name)
        tasks.sort(key=lambda t: (t.row_index, t.name))
        by_task: dict[str, list] = {}
        for annotation in annotations:
            by_task.setdefault(annotation.name.rsplit("/annotations/", 1)[0], []).append(annotation)
        for task in tasks:
            for annotation in chosen(by_task.get(task.name, []), selection):
                rows.add(task, annotation)
        versions = sorted({t.dataset_version for t in tasks} | {plan.project.dataset_version})
        versions.remove(plan.project.dataset_version)
        return rows.table(self._source), [plan.project.dataset_version, *versions], len(tasks)

    def _source(
        self, version: str, columns: list[str], indexes: list[int], tasks: list[str]
    ) -> pa.Table:
        """Rows of a version, read once per export; the tasks' row copies when the version is
        gone (ANN-012)."""
        try:
            return self.rows.columns(version, columns).take(pa.array(indexes, pa.int64()))
        except LeptonError:
            return pa.concat_tables(
                pa.ipc.open_stream(pa.py_buffer(self.store.task_row(task))).read_all()
                for task in tasks
            )

    async def _work(self, handle: JobHandle, plan: ExportPlan) -> None:
        from lepton_server.data.version_writes import Commit  # noqa: PLC0415  (data layer)

        job: ej.AnnotationExportJob = handle.job
        table, inputs, total = await asyncio.to_thread(self._table, plan, job.selection)
        handle.progress(total, total, "tasks")
        if handle.stopping:
            raise Cancelled()
        catalog = self.catalog()
        commit = Commit(
            mode=resources.WRITE_MODE_OVERWRITE,
            lineage=resources.Lineage(
                origin=resources.VERSION_ORIGIN_ANNOTATION_EXPORT,
                source=job.name,
                input_versions=inputs,
            ),
            tags=tuple(job.tags),
            description=job.description,
            expected_parent=job.expected_parent_version
            if job.HasField("expected_parent_version")
            else None,
        )
        with handle.committing():
            dataset = catalog.dataset_row(job.destination_dataset, "destination_dataset")
            version = await catalog.commit_table(dataset, table, commit)

        def record(done: ej.AnnotationExportJob) -> None:
            done.output_version = version.name
            done.written_row_count = version.row_count

        handle.update(record)
