"""What the annotation export cases share (spec/annotation.md §3.6, feature
`data.annotation.export_jobs`): a project over the shared fixture whose tasks hold every case
the selections tell apart (ground truth older than a later annotation, an annotation made newest
by an update, skipped annotations, a task without annotation, predictions beside them, a row
of the later version), a destination dataset, export jobs run to their end, and the rows §3.6
says the committed version holds, built here from what the cases created."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf.message import Message

from lepton.data.v1 import annotation_export_job_pb2 as ej
from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.case import Failed
from lepton_conformance.suites.annotation.annotation_checks import schema, standard_project
from lepton_conformance.suites.annotation.annotation_client import (
    COMPLETED,
    AnnotationClient,
    classification,
    mask,
    results,
    seconds,
)
from lepton_conformance.suites.annotation.annotation_data import (
    APPENDED_ROWS,
    FIRST_ROWS,
    GEOMETRY,
    AnnotationData,
)
from lepton_conformance.suites.annotation.annotation_jobs import EXPORT
from lepton_conformance.suites.data.dataset_client import DatasetClient

PREFER = ej.ANNOTATION_SELECTION_PREFER_GROUND_TRUTH
LATEST = ej.ANNOTATION_SELECTION_LATEST
ALL = ej.ANNOTATION_SELECTION_ALL
# Row 2's task carries a geometry set by the client, orientation 0 (reported as 1).
CLIENT_GEOMETRY = (640, 480, 0)
# One result of every kind, in the proto3 JSON form (boxes, points and keypoints dyadic, so
# exact in any binary floating point).
FULL_RESULTS = [
    {"label": "animal", "classification": {"className": "cat"}},
    {"label": "tags", "multiLabel": {"classNames": ["indoor", "night"]}},
    {"label": "box", "boundingBox": {"className": "cat", "x": 0.25, "y": 0.5, "width": 0.5,
                                     "height": 0.25}},
    {"label": "box", "boundingBox": {"className": "dog", "x": 0.125, "y": 0.0, "width": 0.375,
                                     "height": 0.75}},
    {"label": "outline", "polygon": {"className": "lake", "points": [
        {"x": 0.0, "y": 0.0}, {"x": 0.5, "y": 0.0}, {"x": 0.5, "y": 0.625}]}},
    {"label": "entity", "span": {"className": "PER", "start": 0, "end": 5}},
    {"label": "entity", "span": {"className": "LOC", "start": 17, "end": 22}},
    {"label": "caption", "text": {"text": "two animals"}},
    {"label": "joint", "keypoint": {"className": "nose", "x": 0.5, "y": 0.25}},
    {"label": "quality", "rating": {"rating": 4}},
    {"label": "stars", "rating": {"rating": 9}},
]  # fmt: skip
ANNOTATION_TYPES = [
    ("annotation.task", "string"),
    ("annotation.row_index", "int64"),
    ("annotation.dataset_version", "string"),
    ("annotation.image_width", "int32"),
    ("annotation.image_height", "int32"),
    ("annotation.image_orientation", "int32"),
    ("annotation.name", "string"),
    ("annotation.creator", "string"),
    ("annotation.ground_truth", "bool"),
    ("annotation.source_prediction", "string"),
]
BOX = "struct<class_name: string, x: double, y: double, width: double, height: double>"
LABEL_TYPES = {
    "LABEL_KIND_CLASSIFICATION": "string",
    "LABEL_KIND_TEXT": "string",
    "LABEL_KIND_MULTI_LABEL": "list<item: string>",
    "LABEL_KIND_BOUNDING_BOX": f"list<item: {BOX}>",
    "LABEL_KIND_POLYGON": "list<item: struct<class_name: string, points: "
    "list<item: struct<x: double, y: double>>>>",
    "LABEL_KIND_SPAN": "list<item: struct<class_name: string, start: int64, end: int64, "
    "text: string>>",
    "LABEL_KIND_KEYPOINT": "list<item: struct<class_name: string, x: double, y: double>>",
    "LABEL_KIND_RATING": "int32",
}
LIST_KINDS = {"LABEL_KIND_BOUNDING_BOX", "LABEL_KIND_POLYGON", "LABEL_KIND_SPAN"}
LIST_KINDS |= {"LABEL_KIND_KEYPOINT"}
SOURCE_ROWS = FIRST_ROWS.to_pylist() + APPENDED_ROWS.to_pylist()


@dataclass
class Annotated:
    """The annotated project: its tasks by row, the annotations by role, the predictions."""

    project: Any
    tasks: dict[int, Any]
    annotations: dict[str, Any]
    predictions: dict[str, Any]


def annotated_project(client: AnnotationClient, data: AnnotationData) -> Annotated:
    """The standard project over the fixture's first version with these tasks:

    - row 0: `truth` (ground truth, a result of every kind), then `late` (animal dog);
    - row 1: `empty` (no result), `bird` (animal bird), `skip` (skipped), then `empty`
      updated, so that it is the newest;
    - row 2 (geometry set by the client): `skip2` (skipped only) and a prediction;
    - row 3: nothing, state NEW;
    - row 4: `accepted` (animal dog, started from prediction `p4` of animal bird);
    - row 5: prediction `p5` only, state NEW;
    - row 6 of the second version: `appended` (animal cat).

    Every task but rows 3 and 5 is COMPLETED."""
    project = standard_project(client, data)
    parent = project.name
    width, height, orientation = CLIENT_GEOMETRY
    geometry = at.ImageGeometry(width=width, height=height, orientation=orientation)
    tasks = {row: client.create_task(parent, row) for row in (0, 1, 3, 4, 5)}
    tasks[2] = client.create_task(parent, 2, image_geometry=geometry)
    tasks[6] = client.create_task(parent, 6, dataset_version=data.second)
    made: dict[str, Any] = {}
    made["truth"] = client.annotate(tasks[0].name, results(FULL_RESULTS), ground_truth=True)
    made["late"] = client.annotate(tasks[0].name, [classification("animal", "dog")])
    made["empty"] = client.annotate(tasks[1].name, [])
    made["bird"] = client.annotate(tasks[1].name, [classification("animal", "bird")])
    made["skip"] = client.annotate(tasks[1].name, [], skipped=True)
    touched = pb.UpdateAnnotationRequest(
        annotation=an.Annotation(name=made["empty"].name, lead_duration=seconds(3)),
        update_mask=mask("lead_duration"),
    )
    made["empty"] = client.ok("UpdateAnnotation", touched).annotation
    made["skip2"] = client.annotate(tasks[2].name, [], skipped=True)
    predictions = {
        "p2": client.predict(tasks[2].name, [classification("animal", "cat")], score=0.9),
        "p4": client.predict(tasks[4].name, [classification("animal", "bird")], score=0.8),
        "p5": client.predict(tasks[5].name, [classification("animal", "dog")], score=0.7),
    }
    made["accepted"] = client.annotate(
        tasks[4].name,
        [classification("animal", "dog")],
        source_prediction=predictions["p4"].name,
    )
    made["appended"] = client.annotate(tasks[6].name, [classification("animal", "cat")])
    for row in (0, 1, 2, 4, 6):
        tasks[row] = client.set_state(tasks[row].name, COMPLETED)
    return Annotated(project, tasks, made, predictions)


@contextlib.contextmanager
def destination(client: AnnotationClient) -> Iterator[tuple[str, Any]]:
    """A scratch dataset with one version (tagged `exported`), deleted at the end: its name
    and that version."""
    datasets = DatasetClient(client.ctx)
    with datasets.scratch() as name:
        table = pa.table({"old": pa.array([1], pa.int64())})
        yield name, datasets.write(name, table, tags=["exported"])


def export_job(dataset: str, **fields: Any) -> ej.AnnotationExportJob:
    return ej.AnnotationExportJob(destination_dataset=dataset, **fields)


def run_export(client: AnnotationClient, parent: str, job: Message, job_id: str = "") -> Any:
    """Create an export job and wait for its end; the final job, which must have SUCCEEDED."""
    try:
        created = EXPORT.create(client, parent, job, job_id)
    except grpc.RpcError as error:
        raise Failed("CreateAnnotationExportJob to succeed", expect.describe(error)) from None
    return job_lifecycle.check_succeeded(EXPORT.wait(client, created.name))


def committed(client: AnnotationClient, final: Any) -> tuple[Any, pa.Table]:
    """The version an export job committed and its rows, read through DatasetService."""
    datasets = DatasetClient(client.ctx)
    expect.holds(bool(final.output_version), f"output_version of {final.name}", "empty")
    version = datasets.version(final.output_version)
    return version, datasets.read_table(version.name)


# --- what §3.6 says the rows are -----------------------------------------------------------


def label_value(kind: str, found: list[Any], text: str | None) -> Any:
    """A label column's value for an annotation's results of that label (ANN-050); `text` is
    the row's text, which spans cover."""
    if kind in LIST_KINDS:
        return [_item(kind, r, text or "") for r in found]
    if not found:
        return None
    value = found[0]
    return {
        "LABEL_KIND_CLASSIFICATION": lambda: value.classification.class_name,
        "LABEL_KIND_TEXT": lambda: value.text.text,
        "LABEL_KIND_MULTI_LABEL": lambda: list(value.multi_label.class_names),
        "LABEL_KIND_RATING": lambda: value.rating.rating,
    }[kind]()


def _item(kind: str, result: Any, text: str) -> dict[str, Any]:
    if kind == "LABEL_KIND_BOUNDING_BOX":
        box = result.bounding_box
        sides = {side: getattr(box, side) for side in ("x", "y", "width", "height")}
        return {"class_name": box.class_name, **sides}
    if kind == "LABEL_KIND_POLYGON":
        shape = result.polygon
        points = [{"x": p.x, "y": p.y} for p in shape.points]
        return {"class_name": shape.class_name, "points": points}
    if kind == "LABEL_KIND_KEYPOINT":
        point = result.keypoint
        return {"class_name": point.class_name, "x": point.x, "y": point.y}
    span = result.span
    covered = text[span.start : span.end]
    return {"class_name": span.class_name, "start": span.start, "end": span.end, "text": covered}


def expected_geometry(row: int) -> tuple[int, int, int] | tuple[None, None, None]:
    """(width, height, orientation) of row `row`'s task in annotated_project: the client's
    for row 2 (orientation 0 reported as 1), else the image's; nulls when not an image."""
    if row == 2:
        width, height, orientation = CLIENT_GEOMETRY
        return width, height, orientation or 1
    return GEOMETRY[row] or (None, None, None)


def expected_row(task: Any, annotation: Any | None, sources: list[str]) -> dict[str, Any]:
    """The exported row of `task` with `annotation` (None: no annotation)."""
    source = SOURCE_ROWS[task.row_index]
    row: dict[str, Any] = {column: source[column] for column in sources}
    width, height, orientation = expected_geometry(task.row_index)
    row.update(
        {
            "annotation.task": task.name,
            "annotation.row_index": task.row_index,
            "annotation.dataset_version": task.dataset_version,
            "annotation.image_width": width,
            "annotation.image_height": height,
            "annotation.image_orientation": orientation,
            "annotation.name": annotation.name if annotation else None,
            "annotation.creator": annotation.creator if annotation else None,
            "annotation.ground_truth": annotation.ground_truth if annotation else None,
            "annotation.source_prediction": annotation.source_prediction if annotation else None,
        }
    )
    for spec in schema():
        column = f"label.{spec['name']}"
        if annotation is None:
            row[column] = None
            continue
        mine = [r for r in annotation.results if r.label == spec["name"]]
        row[column] = label_value(spec["kind"], mine, source["text"])
    return row


def check_label_fields(table: pa.Table) -> None:
    """Each `label.<name>` field: the type of its kind and the metadata of its label."""
    for spec in schema():
        field = table.schema.field(f"label.{spec['name']}")
        metadata = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        classes = metadata.get("lepton.label.classes")
        expect.equal(
            (
                metadata.get("lepton.label.kind"),
                json.loads(classes) if classes is not None else None,
                metadata.get("lepton.label.source_column"),
            ),
            (
                spec["kind"].removeprefix("LABEL_KIND_"),
                spec.get("classes", []),
                spec.get("sourceColumn", spec.get("source_column", "")),
            ),
            f"the metadata (kind, classes, source_column) of {field.name}",
        )
