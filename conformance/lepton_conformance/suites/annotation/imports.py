"""annotation-core cases of ImportAnnotations (spec/annotation.md §3.11): a Label Studio export
and a COCO file read into a project, items matched to rows by task name or column value
(whole, then last path segment), tasks created for matched rows, unmatched items counted
(ANN-069); geometry normalized exactly (ANN-070); the importer as creator, the tool's author,
flags, durations, model versions and scores kept (ANN-071)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from lepton.data.v1 import annotation_pb2 as an
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import one
from lepton_conformance.suites.annotation.annotation_client import (
    AnnotationClient,
    classification,
    seconds,
)
from lepton_conformance.suites.annotation.annotation_data import own_dataset
from lepton_conformance.suites.annotation.import_files import (
    COCO,
    LABEL_STUDIO,
    ROWS,
    choices,
    coco_file,
    import_project,
    import_request,
    imported,
    ls_annotation,
    ls_result,
    ls_task,
    rectangle,
)
from lepton_conformance.suites.annotation.principals import check_creator
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()


def _results(rows: list[dict[str, Any]]) -> list[an.LabelResult]:
    return [json_format.ParseDict(row, an.LabelResult()) for row in rows]


def _box(name: str, *sides: float, score: float = 0.0) -> dict[str, Any]:
    """A box result (x, y, width, height) in the proto3 JSON form."""
    value = {"className": name, **dict(zip(("x", "y", "width", "height"), sides, strict=True))}
    return {"label": "box", "boundingBox": value, "score": score}


def _counts(response: Any) -> tuple[int, ...]:
    return (
        response.annotation_count,
        response.prediction_count,
        response.created_task_count,
        response.unmatched_count,
    )


def _principal(client: AnnotationClient, task: str) -> str:
    """The caller's principal, as an annotation it creates records it (GEN-014)."""
    return client.annotate(task, [classification("animal", "cat")]).creator


def _by_task(items: list[Any], kind: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for item in items:
        found.setdefault(item.name.rsplit(f"/{kind}/", 1)[0], []).append(item)
    return found


def _full_result() -> list[dict[str, Any]]:
    """Label Studio results of every kind: percent geometry, one multi-label item."""
    return [
        rectangle(33.3, 12.5, 50.0, 37.5, "cat"),
        choices("animal", "dog"),
        choices("tags", "indoor", "night"),
        ls_result(
            "outline", "polygonlabels",
            {"points": [[10.0, 20.0], [50.0, 20.0], [30.0, 60.0]], "polygonlabels": ["lake"]},
        ),
        ls_result("entity", "labels", {"start": 0, "end": 5, "text": "Alice", "labels": ["PER"]}),
        ls_result("caption", "textarea", {"text": ["line one", "line two"]}),
        ls_result("joint", "keypointlabels",
                  {"x": 25.0, "y": 75.0, "width": 0.5, "keypointlabels": ["nose"]}),
        ls_result("quality", "rating", {"rating": 4}),
    ]  # fmt: skip


FULL_WANTED = [
    _box("cat", 33.3 / 100, 12.5 / 100, 50.0 / 100, 37.5 / 100),
    {"label": "animal", "classification": {"className": "dog"}},
    {"label": "tags", "multiLabel": {"classNames": ["indoor", "night"]}},
    {"label": "outline", "polygon": {"className": "lake", "points": [
        {"x": 10.0 / 100, "y": 20.0 / 100}, {"x": 50.0 / 100, "y": 20.0 / 100},
        {"x": 30.0 / 100, "y": 60.0 / 100}]}},
    {"label": "entity", "span": {"className": "PER", "start": 0, "end": 5, "text": "Alice"}},
    {"label": "caption", "text": {"text": "line one\nline two"}},
    {"label": "joint", "keypoint": {"className": "nose", "x": 25.0 / 100, "y": 75.0 / 100}},
    {"label": "quality", "rating": {"rating": 4}},
]  # fmt: skip


@CASES.case(
    CORE,
    "imports.label-studio-annotations-and-predictions",
    "ANN-069",
    "ANN-070",
    "ANN-071",
    "GEN-014",
)
def label_studio(ctx: CaseContext) -> None:
    """A Label Studio export: tasks match rows by data[match_key] (whole, or its last path
    segment) or by meta.lepton_task; matched rows without a task get one; every result kind
    maps to its label with percent geometry divided by 100; annotations have the importer
    as creator and keep completed_by (id, or the email of an object), ground_truth,
    was_cancelled and lead_time; predictions keep model_version ("unknown" when absent),
    score and result scores, under inference_model "label-studio"; unmatched tasks are
    counted and named."""
    with (
        own_dataset(ctx, ROWS) as (_, version),
        AnnotationClient(ctx) as client,
    ):
        project = import_project(client, version)
        existing = client.create_task(project.name, 3)
        principal = _principal(client, client.create_task(project.name, 4).name)
        content = [
            ls_task(
                1,
                "/data/upload/7/a.jpg",
                [
                    ls_annotation(_full_result(), 7, ground_truth=True, lead_time=12.5),
                    ls_annotation([], {"id": 3, "email": "ann@example.com"}, was_cancelled=True),
                ],
                [
                    {
                        "id": 5,
                        "model_version": "yolo-8",
                        "score": 0.875,
                        "created_ago": "1 day",
                        "result": [rectangle(10.0, 10.0, 20.0, 30.0, "dog", score=0.75)],
                    },
                ],
            ),
            ls_task(
                2,
                "b.jpg",
                [ls_annotation([choices("animal", "cat")], {"id": 4, "first_name": "Bo"})],
                [{"id": 6, "score": 0.25, "result": [choices("animal", "bird", score=0.5)]}],
            ),
            ls_task(3, "/data/upload/7/zzz.jpg", [ls_annotation([choices("animal", "dog")], 8)]),
            ls_task(
                4,
                "elsewhere/not-a-row.png",
                [ls_annotation([choices("animal", "bird")], 9)],
                meta={"lepton_task": existing.name},
            ),
        ]
        request = import_request(
            project.name, LABEL_STUDIO, content, match_column="file", match_key="image"
        )
        response = imported(client, request)
        expect.equal(
            _counts(response),
            (4, 2, 2, 1),
            "(annotation_count, prediction_count, created_task_count, unmatched_count)",
        )
        expect.equal(list(response.unmatched), ["/data/upload/7/zzz.jpg"], "unmatched")
        tasks = {t.row_index: t for t in client.tasks(project.name)}
        expect.equal(sorted(tasks), [0, 1, 3, 4], "the rows with a task")
        annotations = _by_task(client.annotations(f"{project.name}/tasks/-"), "annotations")
        predictions = _by_task(client.predictions(f"{project.name}/tasks/-"), "predictions")

        def of(row: int, count: int, predicted: int) -> tuple[list[Any], list[Any]]:
            name = tasks[row].name
            found = annotations.get(name, []), predictions.get(name, [])
            expect.equal(
                tuple(len(f) for f in found),
                (count, predicted),
                f"the number of (annotations, predictions) of {name}",
            )
            return found

        both, (prediction,) = of(0, 2, 1)
        cancelled, full = sorted(both, key=lambda a: not a.skipped)
        for annotation in (full, cancelled):
            check_creator(ctx, annotation.creator, f"creator of {annotation.name}")
            expect.equal(annotation.creator, principal, "creator: the importer's principal")
        expect.equal(
            (full.external_author, full.ground_truth, full.skipped, full.lead_duration),
            ("7", True, False, seconds(12.5)),
            "(external_author, ground_truth, skipped, lead_duration) of the annotation",
        )
        expect.equal(list(full.results), _results(FULL_WANTED), "the imported results")
        expect.equal(
            (cancelled.external_author, cancelled.skipped, cancelled.ground_truth),
            ("ann@example.com", True, False),
            "(external_author, skipped, ground_truth) of the cancelled annotation",
        )
        expect.equal(
            (prediction.inference_model, prediction.inference_model_version, prediction.score),
            ("label-studio", "yolo-8", 0.875),
            "(inference_model, inference_model_version, score) of the prediction",
        )
        expect.equal(
            list(prediction.results),
            _results([_box("dog", 0.1, 0.1, 0.2, 0.3, score=0.75)]),
            "the prediction's results with their scores",
        )
        check_creator(ctx, prediction.creator, "creator of the prediction")
        (second,), (guess,) = of(1, 1, 1)
        expect.equal(
            (second.external_author, list(second.results)),
            ("4", [classification("animal", "cat")]),
            "(external_author, results) of the task matched by its whole value",
        )
        bird = classification("animal", "bird")
        bird.score = 0.5
        expect.equal(
            (guess.inference_model_version, guess.score, list(guess.results)),
            ("unknown", 0.25, [bird]),
            "(inference_model_version, score, results) of a prediction without model_version",
        )
        (named,), _ = of(3, 1, 0)
        expect.equal(
            (named.external_author, list(named.results)),
            ("9", [classification("animal", "bird")]),
            "the annotation of the task meta.lepton_task names",
        )
        counted = client.task(tasks[0].name)
        expect.equal(
            (counted.annotation_count, counted.prediction_count),
            (2, 1),
            "(annotation_count, prediction_count) of the task created for the import",
        )


@CASES.case(
    CORE, "imports.coco-boxes-normalized-as-annotations-or-predictions", "ANN-069", "ANN-070",
    "ANN-071",
)  # fmt: skip
def coco(ctx: CaseContext) -> None:
    """A COCO file: images match rows by file_name (whole, or its last path segment), each
    image's objects become one annotation of the BOUNDING_BOX label with bbox [x, y, w, h]
    pixels as x / width, y / height, w / width, h / height, the importer as creator; with
    as_predictions one prediction per image whose score is the highest object score, model
    "coco", version "imported", object scores kept; unmatched images counted and named."""
    images = [(1, "images/train/a.jpg", 640, 480), (2, "c.png", 300, 200), (9, "nope.jpg", 8, 8)]
    objects = [
        (1, 3, [100.0, 50.0, 333.0, 211.0], 0.9),
        (1, 7, [0.0, 0.0, 64.0, 48.0], 0.35),
        (2, 3, [30.0, 20.0, 150.0, 100.0], 0.6),
    ]
    wanted = {
        0: [
            _box("cat", 100 / 640, 50 / 480, 333 / 640, 211 / 480),
            _box("dog", 0 / 640, 0 / 480, 64 / 640, 48 / 480),
        ],
        2: [_box("cat", 30 / 300, 20 / 200, 150 / 300, 100 / 200)],
    }
    scores = {0: [0.9, 0.35], 2: [0.6]}
    with (
        own_dataset(ctx, ROWS) as (_, version),
        AnnotationClient(ctx) as client,
    ):
        project = import_project(client, version)
        principal = _principal(client, client.create_task(project.name, 4).name)
        request = import_request(
            project.name, COCO, coco_file(images, objects), match_column="file", label="box"
        )
        response = imported(client, request)
        expect.equal(
            _counts(response),
            (2, 0, 2, 1),
            "(annotation_count, prediction_count, created_task_count, unmatched_count)",
        )
        expect.equal(list(response.unmatched), ["nope.jpg"], "unmatched")
        tasks = {t.row_index: t.name for t in client.tasks(project.name)}
        expect.equal(sorted(tasks), [0, 2, 4], "the rows with a task")
        for row, boxes in wanted.items():
            annotation = one(client.annotations(tasks[row]), f"annotations of {tasks[row]}")
            expect.equal(list(annotation.results), _results(boxes), f"the boxes of row {row}")
            expect.equal(annotation.creator, principal, "creator: the importer's principal")
            check_creator(ctx, annotation.creator, f"creator of {annotation.name}")
        request.as_predictions = True
        response = imported(client, request)
        expect.equal(
            _counts(response),
            (0, 2, 0, 1),
            "(annotation_count, prediction_count, created_task_count, unmatched_count) "
            "of the import as predictions",
        )
        for row, boxes in wanted.items():
            prediction = one(client.predictions(tasks[row]), f"predictions of {tasks[row]}")
            scored = [{**box, "score": s} for box, s in zip(boxes, scores[row], strict=True)]
            expect.equal(
                (
                    prediction.inference_model,
                    prediction.inference_model_version,
                    prediction.score,
                    list(prediction.results),
                ),
                ("coco", "imported", max(scores[row]), _results(scored)),
                f"(inference_model, inference_model_version, score, results) of row {row}",
            )
        expect.equal(
            len(client.annotations(f"{project.name}/tasks/-")),
            3,
            "annotations after the import as predictions",
        )
