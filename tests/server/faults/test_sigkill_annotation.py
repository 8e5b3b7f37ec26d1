"""An annotation server killed with SIGKILL while annotations, tasks and an export are being
written: after the restart every annotation and task the server acknowledged is there as it
was acknowledged, a write in flight is whole or absent, the project's task counts agree with
its tasks, an interrupted export ends FAILED (or finished) without leaving a partial version,
and the server takes new writes."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections import Counter

import grpc
import pyarrow as pa
import pytest
from support.polling import eventually
from support.servers import start_server

from lepton.data.v1 import annotation_export_job_pb2 as ej
from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton.data.v1 import annotation_task_pb2 as at
from lepton.type.v1 import job_pb2
from lepton_ai.data import DataManager

ROWS = 20_000
ANNOTATED = 1_000  # tasks made before the kill, annotated while it comes
AUTH = (("authorization", "Bearer ann"),)
pytestmark = pytest.mark.timeout(180)


def _serve(data_dir, tokens):
    server = start_server(["--services", "data,annotation", "--auth-tokens", str(tokens)], data_dir)
    return server, pb_grpc.AnnotationServiceStub(grpc.insecure_channel(server.address))


def _all(call, request, field: str) -> list:
    items = []
    while True:
        page = call(request, metadata=AUTH)
        items += getattr(page, field)
        if not page.next_page_token:
            return items
        request.page_token = page.next_page_token


class Writes:
    """What the server acknowledged, gathered by threads that write until it dies."""

    def __init__(self) -> None:
        self.annotations: dict[str, an.Annotation] = {}
        self.tasks: set[str] = set()
        self.attempted_annotations = 0

    def annotate(self, stub, project: str) -> None:
        with contextlib.suppress(grpc.RpcError):  # the server died under the call: expected
            for row in range(ANNOTATED):
                name = ("pos", "neg")[row % 2]
                result = an.LabelResult(
                    label="sentiment", classification=an.ClassificationValue(class_name=name)
                )
                request = pb.CreateAnnotationRequest(
                    parent=f"{project}/tasks/row-{row}", annotation=an.Annotation(results=[result])
                )
                self.attempted_annotations += 1
                made = stub.CreateAnnotation(request, metadata=AUTH, timeout=30).annotation
                self.annotations[made.name] = made

    def create_tasks(self, stub, project: str) -> None:
        request = pb.BatchCreateAnnotationTasksRequest(
            parent=project, row_range=pb.RowRange(offset=ANNOTATED)
        )
        with contextlib.suppress(grpc.RpcError):
            for response in stub.BatchCreateAnnotationTasks(request, metadata=AUTH, timeout=60):
                self.tasks |= {task.name for task in response.created_tasks}


@pytest.mark.parametrize("kill_after", [0.05, 0.5, 1.5])
def test_a_kill_among_annotation_writes_loses_nothing_acknowledged(tmp_path, kill_after):
    tokens = tmp_path / "tokens"
    tokens.write_text("ann alice\n")
    data_dir = tmp_path / "data"
    server, stub = _serve(data_dir, tokens)
    try:
        with DataManager.connect(server.address, token="ann", progress=False) as data:
            version = data.load_data(
                pa.table({"text": [f"review {i}" for i in range(ROWS)]}), "datasets/reviews"
            ).name
            data.create_dataset("exported")
        spec = ap.LabelSpec(
            name="sentiment", kind=ap.LABEL_KIND_CLASSIFICATION, classes=["pos", "neg"]
        )
        project = stub.CreateAnnotationProject(
            pb.CreateAnnotationProjectRequest(
                annotation_project_id="reviews",
                annotation_project=ap.AnnotationProject(
                    dataset_version=version, label_specs=[spec]
                ),
            ),
            metadata=AUTH,
        ).annotation_project.name
        first = pb.BatchCreateAnnotationTasksRequest(
            parent=project, row_range=pb.RowRange(limit=ANNOTATED)
        )
        *_, done = stub.BatchCreateAnnotationTasks(first, metadata=AUTH)
        assert done.created_count == ANNOTATED

        writes = Writes()
        writers = [
            threading.Thread(target=writes.annotate, args=(stub, project)),
            threading.Thread(target=writes.create_tasks, args=(stub, project)),
        ]
        for writer in writers:
            writer.start()
        export = stub.CreateAnnotationExportJob(
            pb.CreateAnnotationExportJobRequest(
                parent=project,
                annotation_export_job=ej.AnnotationExportJob(
                    destination_dataset="datasets/exported"
                ),
            ),
            metadata=AUTH,
        ).annotation_export_job.name
        # The sweep counts from the first acknowledged annotation.
        eventually(lambda: writes.annotations, timeout=30, what="a first annotation")
        time.sleep(kill_after)
    finally:  # also when the writes never got under way
        server.stop(signal.SIGKILL, timeout=30)
    for writer in writers:
        writer.join(timeout=60)

    server, stub = _serve(data_dir, tokens)
    try:
        # Every acknowledged annotation is there as acknowledged; of the one in flight, all or
        # nothing.
        every = pb.ListAnnotationsRequest(parent=f"{project}/tasks/-", page_size=1000)
        stored = {a.name: a for a in _all(stub.ListAnnotations, every, "annotations")}
        for name, made in writes.annotations.items():
            assert stored[name] == made
        assert len(stored) - len(writes.annotations) <= 1
        assert len(stored) <= writes.attempted_annotations
        # Every acknowledged task is there, and the counts agree with the tasks.
        listing = pb.ListAnnotationTasksRequest(parent=project, page_size=1000)
        tasks = _all(stub.ListAnnotationTasks, listing, "annotation_tasks")
        names = {task.name for task in tasks}
        assert writes.tasks <= names
        assert len(names) == len(tasks) >= ANNOTATED
        annotated = Counter(a.name.rsplit("/annotations/", 1)[0] for a in stored.values())
        for task in tasks:
            assert (task.state == at.TASK_STATE_NEW) == (not annotated[task.name]), task
        counts = stub.GetAnnotationProject(
            pb.GetAnnotationProjectRequest(name=project), metadata=AUTH
        ).annotation_project.task_counts
        states = Counter(task.state for task in tasks)
        assert counts.total_count == len(tasks)
        assert counts.new_count == states[at.TASK_STATE_NEW]
        assert counts.in_progress_count == states[at.TASK_STATE_IN_PROGRESS]
        assert counts.completed_count == states[at.TASK_STATE_COMPLETED]
        # The export the kill interrupted ended, and left a version only if it finished.
        job = stub.GetAnnotationExportJob(
            pb.GetAnnotationExportJobRequest(name=export), metadata=AUTH
        ).annotation_export_job
        assert job.status.state in (job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED)
        with DataManager.connect(server.address, token="ann", progress=False) as data:
            versions = [v.name for v in data.versions("datasets/exported")]
            assert versions == ([job.output_version] if job.output_version else [])
        # The restarted server writes: one more annotation, and an export holding them all.
        stub.CreateAnnotation(
            pb.CreateAnnotationRequest(
                parent=f"{project}/tasks/row-{ANNOTATED - 1}",
                annotation=an.Annotation(results=[stored[next(iter(stored))].results[0]]),
            ),
            metadata=AUTH,
        )
    finally:
        server.stop()
