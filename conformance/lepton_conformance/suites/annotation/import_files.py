"""What the ImportAnnotations cases share (spec/annotation.md §3.11): a dataset of their own
whose rows name image files, a project over it, the import call, and files built in the
documented shape of each tool — a Label Studio JSON export (an array of tasks with `data`,
`meta`, `annotations` and `predictions`; rectangles, polygons and keypoints in percent of the
image; `completed_by` an id or an object with an email) and a COCO detection file (`images`,
`annotations` with `bbox` in pixels, `categories`)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient, label_specs

LABEL_STUDIO = pb.ANNOTATION_IMPORT_FORMAT_LABEL_STUDIO_JSON
COCO = pb.ANNOTATION_IMPORT_FORMAT_COCO_JSON
FILES = ["a.jpg", "b.jpg", "c.png", "d.jpg", "e.jpg"]
TEXTS = ["Alice met Bob", "hello there", "Zürich 🚀", "plain", "six"]
ROWS = pa.table({"file": pa.array(FILES, pa.string()), "text": pa.array(TEXTS, pa.string())})
SCHEMA = [
    {"name": "animal", "kind": "LABEL_KIND_CLASSIFICATION", "classes": ["cat", "dog", "bird"]},
    {"name": "tags", "kind": "LABEL_KIND_MULTI_LABEL", "classes": ["indoor", "outdoor", "night"]},
    {"name": "box", "kind": "LABEL_KIND_BOUNDING_BOX", "sourceColumn": "file",
     "classes": ["cat", "dog"]},
    {"name": "outline", "kind": "LABEL_KIND_POLYGON", "sourceColumn": "file",
     "classes": ["lake"]},
    {"name": "entity", "kind": "LABEL_KIND_SPAN", "sourceColumn": "text", "classes": ["PER"]},
    {"name": "caption", "kind": "LABEL_KIND_TEXT"},
    {"name": "joint", "kind": "LABEL_KIND_KEYPOINT", "sourceColumn": "file",
     "classes": ["nose", "tail"]},
    {"name": "quality", "kind": "LABEL_KIND_RATING"},
]  # fmt: skip


def import_project(client: AnnotationClient, version: str) -> Any:
    return client.create_project(version, label_specs(SCHEMA))


def import_request(parent: str, format_: int, content: Any, **fields: Any) -> Any:
    """An ImportAnnotationsRequest; `content` is JSON data, or bytes sent as they are."""
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    return pb.ImportAnnotationsRequest(parent=parent, format=format_, content=raw, **fields)


def imported(client: AnnotationClient, request: Any) -> Any:
    return client.ok("ImportAnnotations", request)


# --- Label Studio --------------------------------------------------------------------------


def ls_result(from_name: str, kind: str, value: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """One item of a Label Studio `result` list."""
    to_name = "text" if kind in ("labels",) else "image"
    item = {"id": f"r-{from_name}", "from_name": from_name, "to_name": to_name, "type": kind}
    if kind in ("rectanglelabels", "polygonlabels", "keypointlabels"):
        item.update({"original_width": 640, "original_height": 480, "image_rotation": 0})
    return {**item, "value": value, "origin": "manual", **extra}


def rectangle(x: float, y: float, width: float, height: float, label: str, **extra: Any):
    value = {"x": x, "y": y, "width": width, "height": height, "rotation": 0,
             "rectanglelabels": [label]}  # fmt: skip
    return ls_result("box", "rectanglelabels", value, **extra)


def choices(from_name: str, *names: str, **extra: Any) -> dict[str, Any]:
    return ls_result(from_name, "choices", {"choices": list(names)}, **extra)


def ls_annotation(result: list[dict[str, Any]], completed_by: Any, **fields: Any):
    """One entry of a task's `annotations`, as Label Studio exports it."""
    entry = {
        "id": 1000 + len(result),
        "completed_by": completed_by,
        "result": result,
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": "2024-05-01T10:00:00.000000Z",
        "updated_at": "2024-05-01T10:05:00.000000Z",
        "lead_time": 1.5,
        "prediction": {},
        "result_count": len(result),
        "task": 1,
        "project": 1,
        "parent_prediction": None,
        "parent_annotation": None,
    }
    return {**entry, **fields}


def ls_task(
    task_id: int,
    image: str,
    annotations: list[dict[str, Any]],
    predictions: list[dict[str, Any]] = (),
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Label Studio task."""
    return {
        "id": task_id,
        "data": {"image": image, "caption_hint": "ignored"},
        "meta": meta or {},
        "annotations": annotations,
        "predictions": list(predictions),
        "created_at": "2024-05-01T09:00:00.000000Z",
        "updated_at": "2024-05-01T10:05:00.000000Z",
        "inner_id": task_id,
        "total_annotations": len(annotations),
        "cancelled_annotations": 0,
        "total_predictions": len(predictions),
        "file_upload": image.rsplit("/", 1)[-1],
        "project": 1,
    }


# --- COCO ----------------------------------------------------------------------------------


def coco_file(
    images: list[tuple[int, str, int, int]],
    objects: list[tuple[int, int, list[float], float | None]],
) -> dict[str, Any]:
    """A COCO detection file: images (id, file_name, width, height); objects (image id,
    category id, bbox in pixels, score or None); categories cat (3) and dog (7)."""
    annotations = []
    for i, (image_id, category, bbox, score) in enumerate(objects, start=1):
        item = {"id": i, "image_id": image_id, "category_id": category, "bbox": bbox,
                "area": bbox[2] * bbox[3], "iscrowd": 0, "segmentation": []}  # fmt: skip
        if score is not None:
            item["score"] = score
        annotations.append(item)
    return {
        "info": {"description": "conformance", "version": "1.0"},
        "licenses": [],
        "images": [
            {"id": i, "file_name": name, "width": w, "height": h, "license": 0}
            for i, name, w, h in images
        ],
        "annotations": annotations,
        "categories": [
            {"id": 3, "name": "cat", "supercategory": "animal"},
            {"id": 7, "name": "dog", "supercategory": "animal"},
        ],
    }
