"""ImportAnnotations on a real server: a Label Studio export in Label Studio's own documented
task format and a COCO file come into a project without losing what they hold, and a bad
file changes nothing."""

from __future__ import annotations

import json

import grpc
import pyarrow as pa
import pytest
from support.status_details import error_info

from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb

URIS = [f"https://example.com/photos/{name}.jpg" for name in ("moon", "mars", "venus")]
TAG = ap.LabelSpec(
    name="tag",
    kind=ap.LABEL_KIND_BOUNDING_BOX,
    source_column="image",
    classes=["Moonwalker", "Rover"],
)
MOOD = ap.LabelSpec(name="mood", kind=ap.LABEL_KIND_CLASSIFICATION, classes=["calm", "busy"])


def box(x, y, w, h, name="Moonwalker", **extra):
    return {
        "from_name": "tag",
        "to_name": "img",
        "type": "rectanglelabels",
        "value": {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "rotation": 0,
            "rectanglelabels": [name],
        },
        **extra,
    }


LABEL_STUDIO = [
    {
        "id": 7,
        "data": {"image": URIS[0]},
        "annotations": [
            {
                "id": 70,
                "completed_by": 10,
                "result": [
                    box(50.0, 5.0, 12.5, 10.0),
                    {
                        "from_name": "mood",
                        "to_name": "img",
                        "type": "choices",
                        "value": {"choices": ["calm"]},
                    },
                ],
                "was_cancelled": False,
                "ground_truth": True,
                "lead_time": 4.25,
            },
            {
                "id": 71,
                "completed_by": {"id": 11, "email": "ann@example.com"},
                "result": [],
                "was_cancelled": True,
            },
        ],
        "predictions": [
            {
                "model_version": "model 1",
                "score": 0.75,
                "result": [box(10.0, 30.0, 40.0, 12.0, score=0.75)],
            },
            {"model_version": "model 2", "result": [box(10.0, 50.0, 40.0, 30.0, "Rover")]},
        ],
    },
    {"id": 8, "data": {"image": "https://example.com/photos/pluto.jpg"}, "annotations": []},
]


@pytest.fixture(scope="module")
def project(server):
    stub = server.stub()
    version = server.data.load_data(pa.table({"image": URIS}), "datasets/photos").name
    created = stub.CreateAnnotationProject(
        pb.CreateAnnotationProjectRequest(
            annotation_project_id="imported",
            annotation_project=ap.AnnotationProject(
                dataset_version=version, label_specs=[TAG, MOOD]
            ),
        )
    ).annotation_project
    return created.name


def test_a_label_studio_export_imports_without_loss(server, project):
    stub = server.stub()
    response = stub.ImportAnnotations(
        pb.ImportAnnotationsRequest(
            parent=project,
            format=pb.ANNOTATION_IMPORT_FORMAT_LABEL_STUDIO_JSON,
            content=json.dumps(LABEL_STUDIO).encode(),
            match_column="image",
        )
    )
    assert (response.annotation_count, response.prediction_count) == (2, 2)
    assert (response.created_task_count, response.unmatched_count) == (1, 1)
    assert list(response.unmatched) == ["https://example.com/photos/pluto.jpg"]
    task = f"{project}/tasks/row-0"
    annotations = stub.ListAnnotations(pb.ListAnnotationsRequest(parent=task)).annotations
    done = next(a for a in annotations if not a.skipped)
    skipped = next(a for a in annotations if a.skipped)
    assert (done.external_author, done.creator, done.ground_truth) == ("10", "alice", True)
    assert done.lead_duration.ToNanoseconds() == 4_250_000_000
    value = done.results[0].bounding_box
    assert (value.class_name, value.x, value.y, value.width, value.height) == (
        "Moonwalker",
        0.5,
        0.05,
        0.125,
        0.1,
    )
    assert done.results[1].classification.class_name == "calm"
    assert skipped.external_author == "ann@example.com" and not skipped.results
    predictions = stub.ListPredictions(pb.ListPredictionsRequest(parent=task)).predictions
    by_version = {p.inference_model_version: p for p in predictions}
    assert sorted(by_version) == ["model 1", "model 2"]
    assert by_version["model 1"].score == 0.75 and by_version["model 1"].results[0].score == 0.75
    assert by_version["model 2"].results[0].bounding_box.class_name == "Rover"
    assert {p.inference_model for p in predictions} == {"label-studio"}


def test_a_coco_file_imports_pixels_as_normalized_boxes(server, project):
    stub = server.stub()
    coco = {
        "images": [{"id": 1, "file_name": "mars.jpg", "width": 200, "height": 100}],
        "categories": [{"id": 3, "name": "Rover"}],
        "annotations": [
            {"id": 9, "image_id": 1, "category_id": 3, "bbox": [20, 10, 50, 40], "score": 0.6}
        ],
    }
    response = stub.ImportAnnotations(
        pb.ImportAnnotationsRequest(
            parent=project,
            format=pb.ANNOTATION_IMPORT_FORMAT_COCO_JSON,
            content=json.dumps(coco).encode(),
            match_column="image",
            label="tag",
            as_predictions=True,
        )
    )
    assert (response.prediction_count, response.created_task_count) == (1, 1)
    (prediction,) = stub.ListPredictions(
        pb.ListPredictionsRequest(parent=f"{project}/tasks/row-1")
    ).predictions
    value = prediction.results[0].bounding_box
    assert (value.x, value.y, value.width, value.height) == (0.1, 0.1, 0.25, 0.4)
    assert (prediction.inference_model, prediction.score) == ("coco", 0.6)


def test_a_file_that_does_not_fit_changes_nothing(server, project):
    stub = server.stub()
    before = stub.ListAnnotationTasks(
        pb.ListAnnotationTasksRequest(parent=project)
    ).annotation_tasks
    bad = [
        {"data": {"image": URIS[2]}, "annotations": [{"result": [box(10, 10, 10, 10, "Dragon")]}]}
    ]
    for content, reason in (
        (b"{not json", "IMPORT_PARSE_ERROR"),
        (json.dumps(bad).encode(), "LABEL_SCHEMA_MISMATCH"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            stub.ImportAnnotations(
                pb.ImportAnnotationsRequest(
                    parent=project,
                    format=pb.ANNOTATION_IMPORT_FORMAT_LABEL_STUDIO_JSON,
                    content=content,
                    match_column="image",
                )
            )
        assert (caught.value.code(), error_info(caught.value).reason) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            reason,
        )
    after = stub.ListAnnotationTasks(pb.ListAnnotationTasksRequest(parent=project)).annotation_tasks
    assert [t.name for t in after] == [t.name for t in before]
