"""A job the server stopped between its commit and its record of it (a SIGKILL in that
window): at the next start the version its lineage names is found, recorded on the job, and
the job is SUCCEEDED, not FAILED with its version left behind. A job that committed nothing
still ends FAILED JOB_INTERRUPTED."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.csv as pa_csv
from google.protobuf.message import Message
from support.servers import start_server
from test_job_memory import _import

from lepton.data.v1 import annotation_export_job_pb2 as ej
from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as annotation_pb
from lepton.data.v1 import annotation_service_pb2_grpc as annotation_grpc
from lepton.data.v1 import dataset_pb2
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton.type.v1 import job_pb2
from lepton_server.aip.jobs.runner import INTERRUPTED
from lepton_server.aip.jobs.store import JobTable

S = job_pb2


@contextlib.contextmanager
def _serving(args: list[str], data_dir: Path) -> Iterator[grpc.Channel]:
    """`lepton serve` on `data_dir` and a channel to it, both closed at the end."""
    server = start_server(args, data_dir)
    try:
        with grpc.insecure_channel(server.address) as channel:
            yield channel
    finally:
        server.stop()


def _as_if_stopped_before_its_record(jobs: JobTable, job: Message, *recorded: str) -> None:
    """The stored job as it was just before it recorded its output: RUNNING, without the
    fields `recorded`."""
    stored = type(job)()
    stored.CopyFrom(job)
    for field in recorded:
        stored.ClearField(field)
    stored.status.state = S.JOB_STATE_RUNNING
    del stored.status.history[-1]
    parent, kind, _ = job.name.rsplit("/", 2)
    created = job.status.create_time.ToNanoseconds()
    raw = stored.SerializeToString()
    jobs.put(job.name, kind, parent, created, raw, state=S.JOB_STATE_RUNNING)


def test_an_import_that_committed_before_the_stop_succeeds_with_its_version(tmp_path):
    (tmp_path / "files").mkdir()
    source = tmp_path / "files" / "rows.csv"
    pa_csv.write_csv(pa.table({"id": list(range(10))}), source)
    with _serving(["--services", "data"], tmp_path) as channel:
        stub = pb_grpc.DatasetServiceStub(channel)
        stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="t"), timeout=30)
        committed = _import(stub, source.as_uri())
        assert committed.status.state == S.JOB_STATE_SUCCEEDED
        source.unlink()
        lost = _import(stub, source.as_uri())  # fails: nothing to import, nothing committed
    jobs = JobTable(tmp_path / "data" / "jobs.sqlite")
    _as_if_stopped_before_its_record(jobs, committed, "output_version")
    _as_if_stopped_before_its_record(jobs, lost, "output_version")
    jobs.close()

    with _serving(["--services", "data"], tmp_path) as channel:
        stub = pb_grpc.DatasetServiceStub(channel)
        found = stub.GetImportJob(pb.GetImportJobRequest(name=committed.name)).import_job
        assert found.status.state == S.JOB_STATE_SUCCEEDED
        assert found.output_version == committed.output_version
        failed = stub.GetImportJob(pb.GetImportJobRequest(name=lost.name)).import_job
        assert failed.status.state == S.JOB_STATE_FAILED
        assert failed.status.error.reason == INTERRUPTED
        assert not failed.output_version


def test_an_annotation_export_that_committed_before_the_stop_succeeds_with_its_version(
    tmp_path,
):
    args = ["--services", "data,annotation"]
    with _serving(args, tmp_path) as channel:
        data = pb_grpc.DatasetServiceStub(channel)
        annotation = annotation_grpc.AnnotationServiceStub(channel)
        for dataset_id in ("reviews", "exported"):
            data.CreateDataset(pb.CreateDatasetRequest(dataset_id=dataset_id))
        version = _write(data, "datasets/reviews", pa.table({"text": ["good", "bad"]}))
        spec = ap.LabelSpec(name="mood", kind=ap.LABEL_KIND_CLASSIFICATION, classes=["+", "-"])
        project = annotation.CreateAnnotationProject(
            annotation_pb.CreateAnnotationProjectRequest(
                annotation_project_id="p",
                annotation_project=ap.AnnotationProject(
                    dataset_version=version, label_specs=[spec]
                ),
            )
        ).annotation_project.name
        list(
            annotation.BatchCreateAnnotationTasks(
                annotation_pb.BatchCreateAnnotationTasksRequest(parent=project)
            )
        )
        result = an.LabelResult(label="mood", classification=an.ClassificationValue(class_name="+"))
        annotation.CreateAnnotation(
            annotation_pb.CreateAnnotationRequest(
                parent=f"{project}/tasks/row-0", annotation=an.Annotation(results=[result])
            )
        )
        created = annotation.CreateAnnotationExportJob(
            annotation_pb.CreateAnnotationExportJobRequest(
                parent=project,
                annotation_export_job=ej.AnnotationExportJob(
                    destination_dataset="datasets/exported"
                ),
            )
        ).annotation_export_job
        *_, last = annotation.WatchAnnotationExportJob(
            annotation_pb.WatchAnnotationExportJobRequest(name=created.name)
        )
        exported = last.annotation_export_job
        assert exported.status.state == S.JOB_STATE_SUCCEEDED and exported.output_version
    jobs = JobTable(tmp_path / "annotation" / "jobs.sqlite")
    _as_if_stopped_before_its_record(jobs, exported, "output_version", "written_row_count")
    jobs.close()

    with _serving(args, tmp_path) as channel:
        found = (
            annotation_grpc.AnnotationServiceStub(channel)
            .GetAnnotationExportJob(annotation_pb.GetAnnotationExportJobRequest(name=exported.name))
            .annotation_export_job
        )
    assert found.status.state == S.JOB_STATE_SUCCEEDED
    assert found.output_version == exported.output_version
    assert found.written_row_count == exported.written_row_count


def _write(stub: pb_grpc.DatasetServiceStub, dataset: str, table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    header = pb.WriteVersionHeader(parent=dataset, mode=dataset_pb2.WRITE_MODE_OVERWRITE)
    requests = [
        pb.WriteVersionRequest(header=header),
        pb.WriteVersionRequest(arrow_data=sink.getvalue().to_pybytes()),
    ]
    return stub.WriteVersion(iter(requests), timeout=30).version.name
