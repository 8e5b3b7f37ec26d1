"""The annotation service end to end on a real server: projects, tasks with their rows and
image geometry, annotations attributed to the caller, predictions kept apart and accepted,
leases least confident first, reviews and agreement."""

from __future__ import annotations

import time

import grpc
import pyarrow as pa
import pytest
from google.protobuf.duration_pb2 import Duration
from support.status_details import error_info

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at

SENTIMENT = ap.LabelSpec(
    name="sentiment", kind=ap.LABEL_KIND_CLASSIFICATION, classes=["pos", "neg"]
)
OBJECTS = ap.LabelSpec(
    name="objects", kind=ap.LABEL_KIND_BOUNDING_BOX, source_column="image", classes=["cat"]
)
QUALITY = ap.LabelSpec(name="quality", kind=ap.LABEL_KIND_RATING, max_rating=3)


def make_project(server, project_id: str, **fields) -> ap.AnnotationProject:
    project = ap.AnnotationProject(
        dataset_version=server.version, label_specs=[SENTIMENT, OBJECTS, QUALITY], **fields
    )
    return (
        server.stub()
        .CreateAnnotationProject(
            pb.CreateAnnotationProjectRequest(
                annotation_project_id=project_id, annotation_project=project
            )
        )
        .annotation_project
    )


def batch(stub, parent: str, **fields) -> list[pb.BatchCreateAnnotationTasksResponse]:
    return list(
        stub.BatchCreateAnnotationTasks(
            pb.BatchCreateAnnotationTasksRequest(parent=parent, **fields)
        )
    )


def label(kind: str, value) -> an.LabelResult:
    return an.LabelResult(label=kind, **value)


def classify(name: str) -> an.LabelResult:
    return an.LabelResult(label="sentiment", classification=an.ClassificationValue(class_name=name))


def annotate(stub, task: str, *results, **fields) -> an.Annotation:
    request = pb.CreateAnnotationRequest(
        parent=task, annotation=an.Annotation(results=results, **fields)
    )
    return stub.CreateAnnotation(request).annotation


def reason(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), error_info(caught.value).reason


def test_project_tasks_rows_and_geometry(server):
    stub = server.stub()
    project = make_project(server, "flow")
    assert project.required_annotation_count == 1
    assert project.dataset_version == server.version
    responses = batch(stub, project.name)
    assert responses[-1].created_count == 6
    task = stub.GetAnnotationTask(pb.GetAnnotationTaskRequest(name=f"{project.name}/tasks/row-2"))
    task = task.annotation_task
    row = pa.ipc.open_stream(pa.py_buffer(task.row)).read_all()
    assert row.column("stars").to_pylist() == [2]
    assert (task.image_geometry.width, task.image_geometry.height) == (42, 20)
    assert task.image_geometry.orientation == 1
    counts = stub.GetAnnotationProject(pb.GetAnnotationProjectRequest(name=project.name))
    assert counts.annotation_project.task_counts.new_count == 6
    # Growing over a later version names the new tasks after their version.
    later = server.data.load_data(
        pa.table({"text": ["x"], "image": [b"no image"], "stars": [9]}),
        "datasets/reviews",
        mode="append",
    )
    grown = batch(stub, project.name, dataset_version=later.name, row_range=pb.RowRange(offset=6))
    created = grown[-1].created_tasks[0]
    assert created.name == f"{project.name}/tasks/{later.name.rsplit('/', 1)[1]}-row-6"
    assert created.dataset_version == later.name
    assert not created.HasField("image_geometry")
    assert (
        reason(lambda: batch(stub, project.name, dataset_version="datasets/nope/versions/v1"))[0]
        == grpc.StatusCode.NOT_FOUND
    )


def test_annotations_are_attributed_and_kept_apart(server):
    alice, bob = server.stub("ann"), server.stub("bob-token")
    project = make_project(server, "apart")
    batch(alice, project.name, row_range=pb.RowRange(limit=2))
    task = f"{project.name}/tasks/row-0"
    made = annotate(alice, task, classify("pos"), creator="mallory")
    assert made.creator == "alice"
    assert alice.GetAnnotationTask(
        pb.GetAnnotationTaskRequest(name=task)
    ).annotation_task.state == (at.TASK_STATE_IN_PROGRESS)
    prediction = bob.CreatePrediction(
        pb.CreatePredictionRequest(
            parent=task,
            prediction=an.Prediction(
                results=[
                    an.LabelResult(
                        label="sentiment",
                        score=0.7,
                        classification=an.ClassificationValue(class_name="neg"),
                    )
                ],
                inference_model="m",
                inference_model_version="1",
                score=0.7,
            ),
        )
    ).prediction
    assert prediction.creator == "bob"
    listed = alice.ListAnnotations(pb.ListAnnotationsRequest(parent=task)).annotations
    assert [a.name for a in listed] == [made.name]
    assert [
        p.name for p in alice.ListPredictions(pb.ListPredictionsRequest(parent=task)).predictions
    ] == [prediction.name]
    code, why = reason(
        lambda: annotate(
            alice,
            task,
            label("sentiment", {"classification": an.ClassificationValue(class_name="meh")}),
        )
    )
    assert (code, why) == (grpc.StatusCode.INVALID_ARGUMENT, "LABEL_SCHEMA_MISMATCH")
    code, why = reason(
        lambda: annotate(alice, task, label("quality", {"rating": an.RatingValue(rating=4)}))
    )
    assert why == "LABEL_SCHEMA_MISMATCH"
    # Accepting turns the prediction into an annotation of the caller, linked to its source.
    accepted = alice.AcceptPredictions(
        pb.AcceptPredictionsRequest(parent=project.name, complete_tasks=True)
    )
    assert (accepted.accepted_count, accepted.already_accepted_count) == (1, 0)
    again = alice.AcceptPredictions(pb.AcceptPredictionsRequest(parent=project.name))
    assert (again.accepted_count, again.already_accepted_count) == (0, 1)
    sourced = alice.ListAnnotations(
        pb.ListAnnotationsRequest(parent=task, filter=f'source_prediction = "{prediction.name}"')
    ).annotations
    assert len(sourced) == 1 and sourced[0].results[0].score == 0
    assert sourced[0].results[0].classification.class_name == "neg"
    state = alice.GetAnnotationTask(pb.GetAnnotationTaskRequest(name=task)).annotation_task.state
    assert state == at.TASK_STATE_COMPLETED
    # A rejection by another principal sends the task back; one's own review is refused.
    review = bob.CreateReview(
        pb.CreateReviewRequest(
            parent=made.name, review=an.Review(verdict=an.REVIEW_VERDICT_REJECTED)
        )
    ).review
    assert review.creator == "bob"
    assert alice.GetAnnotation(
        pb.GetAnnotationRequest(name=made.name)
    ).annotation.review_verdict == (an.REVIEW_VERDICT_REJECTED)
    state = alice.GetAnnotationTask(pb.GetAnnotationTaskRequest(name=task)).annotation_task.state
    assert state == at.TASK_STATE_REJECTED
    own = pb.CreateReviewRequest(
        parent=made.name, review=an.Review(verdict=an.REVIEW_VERDICT_ACCEPTED)
    )
    assert reason(lambda: alice.CreateReview(own)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SELF_REVIEW",
    )


def test_leases_least_confident_first_and_expiry(server):
    alice, bob, carol = (server.stub(t) for t in ("ann", "bob-token", "carol-token"))
    project = make_project(server, "leases", required_annotation_count=2)
    batch(alice, project.name, row_range=pb.RowRange(limit=3))
    for row, score in ((0, 0.9), (2, 0.2)):
        alice.CreatePrediction(
            pb.CreatePredictionRequest(
                parent=f"{project.name}/tasks/row-{row}",
                prediction=an.Prediction(
                    inference_model="m", inference_model_version="1", score=score
                ),
            )
        )
    short = Duration(seconds=1)
    first = alice.AcquireNextTask(
        pb.AcquireNextTaskRequest(parent=project.name, lease_duration=short)
    )
    assert first.annotation_task.name.endswith("row-2")
    assert [lease.holder for lease in first.annotation_task.leases] == ["alice"]
    renewed = alice.AcquireNextTask(
        pb.AcquireNextTaskRequest(parent=project.name, lease_duration=short)
    )
    assert renewed.annotation_task.name == first.annotation_task.name
    assert len(renewed.annotation_task.leases) == 1
    # Overlap 2: bob may take the same task; carol then gets the next least confident one.
    assert bob.AcquireNextTask(
        pb.AcquireNextTaskRequest(parent=project.name)
    ).annotation_task.name.endswith("row-2")
    assert carol.AcquireNextTask(
        pb.AcquireNextTaskRequest(parent=project.name)
    ).annotation_task.name.endswith("row-0")
    bob.ReleaseTaskLease(pb.ReleaseTaskLeaseRequest(name=first.annotation_task.name))
    assert reason(
        lambda: bob.ReleaseTaskLease(pb.ReleaseTaskLeaseRequest(name=first.annotation_task.name))
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "LEASE_NOT_HELD")
    time.sleep(1.3)
    task = alice.GetAnnotationTask(pb.GetAnnotationTaskRequest(name=first.annotation_task.name))
    assert list(task.annotation_task.leases) == []
    # Annotating ends the lease and the task no longer goes to that annotator.
    held = alice.AcquireNextTask(
        pb.AcquireNextTaskRequest(parent=project.name)
    ).annotation_task.name
    annotate(alice, held, classify("pos"))
    after = alice.GetAnnotationTask(pb.GetAnnotationTaskRequest(name=held)).annotation_task
    assert list(after.leases) == [] and after.annotator_count == 1
    assert (
        alice.AcquireNextTask(pb.AcquireNextTaskRequest(parent=project.name)).annotation_task.name
        != held
    )


def test_agreement_is_chance_corrected(server):
    alice, bob, carol = (server.stub(t) for t in ("ann", "bob-token", "carol-token"))
    project = make_project(server, "agree")
    batch(alice, project.name)
    values = {"alice": "pos pos neg neg pos pos", "bob": "pos neg neg neg pos pos"}
    for stub, who in ((alice, "alice"), (bob, "bob")):
        for row, value in enumerate(values[who].split()):
            annotate(stub, f"{project.name}/tasks/row-{row}", classify(value))
    for row, value in enumerate(["pos", "pos", "neg", "neg", "neg", "pos"]):
        annotate(carol, f"{project.name}/tasks/row-{row}", classify(value), ground_truth=True)
    report = alice.ComputeAgreement(
        pb.ComputeAgreementRequest(parent=project.name, labels=["sentiment"])
    )
    (sentiment,) = report.labels
    (pair,) = sentiment.pairs
    # 5 of 6 agree; p_e = 4/6*3/6 + 2/6*3/6 = 0.5, kappa = (5/6 - 0.5) / 0.5.
    assert pair.cohen_kappa == pytest.approx(2 / 3)
    assert sentiment.task_count == 6 and sentiment.annotator_count == 2
    alice_row = next(a for a in sentiment.annotators if a.annotator == "alice")
    assert alice_row.ground_truth_accuracy == pytest.approx(5 / 6)
    assert not sentiment.HasField("box_f1")
    code, why = reason(
        lambda: alice.ComputeAgreement(
            pb.ComputeAgreementRequest(parent=project.name, labels=["x"])
        )
    )
    assert (code, why) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")


def test_export_commits_human_labels_with_lineage_and_a_stable_digest(server):
    from lepton.data.v1 import annotation_export_job_pb2 as ej  # noqa: PLC0415
    from lepton.type.v1 import job_pb2  # noqa: PLC0415

    alice, bob = server.stub("ann"), server.stub("bob-token")
    project = make_project(server, "export")
    batch(alice, project.name, row_range=pb.RowRange(limit=3))
    box = an.LabelResult(
        label="objects",
        bounding_box=an.BoundingBoxValue(class_name="cat", x=0.1, y=0.2, width=0.3, height=0.4),
    )
    for row in (0, 1):
        task = f"{project.name}/tasks/row-{row}"
        annotate(alice, task, classify("pos"), box)
        truth = annotate(bob, task, classify("neg"), ground_truth=True) if row == 1 else None
        alice.UpdateAnnotationTask(
            pb.UpdateAnnotationTaskRequest(
                annotation_task=at.AnnotationTask(name=task, state=at.TASK_STATE_COMPLETED)
            )
        )
    # A prediction is never exported.
    alice.CreatePrediction(
        pb.CreatePredictionRequest(
            parent=f"{project.name}/tasks/row-0",
            prediction=an.Prediction(
                inference_model="m",
                inference_model_version="1",
                score=0.5,
                results=[classify("neg")],
            ),
        )
    )
    server.data.create_dataset("exported", exist_ok=True)

    def export() -> ej.AnnotationExportJob:
        job = alice.CreateAnnotationExportJob(
            pb.CreateAnnotationExportJobRequest(
                parent=project.name,
                annotation_export_job=ej.AnnotationExportJob(
                    destination_dataset="datasets/exported", source_columns=["stars"]
                ),
            )
        ).annotation_export_job
        *_, last = alice.WatchAnnotationExportJob(pb.WatchAnnotationExportJobRequest(name=job.name))
        return last.annotation_export_job

    first = export()
    assert first.status.state == job_pb2.JOB_STATE_SUCCEEDED, first.status
    version = server.data.get_version(first.output_version)
    assert version.lineage.source == first.name
    assert list(version.lineage.input_versions) == [server.version]
    table = server.data.read(first.output_version)
    assert table.column("annotation.task").to_pylist() == [
        f"{project.name}/tasks/row-0",
        f"{project.name}/tasks/row-1",
    ]
    assert table.column("label.sentiment").to_pylist() == ["pos", "neg"]  # ground truth first
    assert table.column("annotation.creator").to_pylist() == ["alice", "bob"]
    assert table.column("annotation.image_width").to_pylist() == [40, 41]
    boxes = table.column("label.objects").to_pylist()
    assert boxes[0] == [{"class_name": "cat", "x": 0.1, "y": 0.2, "width": 0.3, "height": 0.4}]
    assert boxes[1] == []
    assert table.schema.field("label.objects").metadata[b"lepton.label.kind"] == b"BOUNDING_BOX"
    second = export()
    assert server.data.get_version(second.output_version).content_digest == version.content_digest
    assert truth is None or truth.ground_truth
