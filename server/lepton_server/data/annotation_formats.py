"""Label Studio JSON, COCO JSON and YOLO (spec/data.md §5.2, DAT-132 to DAT-138): the
export-only formats of an annotation export version, whose `label.<name>` columns say what
they hold in their Arrow field metadata (spec/annotation.md §3.6). Geometry is normalized to
the image as displayed (after its EXIF orientation); Label Studio wants percents of it, COCO
pixels of it (from the `annotation.image_*` columns) and YOLO normalized box centres.

Everything is built in memory before the job writes a byte, so a row that cannot be written
fails the job without partial files."""

from __future__ import annotations

import base64
import datetime
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from lepton.data.v1 import file_format_pb2 as ff
from lepton_server.data import arrow_types
from lepton_server.runtime.errors import InvalidArgument, invalid_argument, invalid_field

# The field metadata keys of an annotation export's label columns, as spec/annotation.md §3.6
# names them. Duplicated on purpose: the data layer must not import the annotation layer.
KIND_KEY = b"lepton.label.kind"
CLASSES_KEY = b"lepton.label.classes"
SOURCE_KEY = b"lepton.label.source_column"

LABEL_STUDIO = ff.FILE_FORMAT_LABEL_STUDIO_JSON
COCO = ff.FILE_FORMAT_COCO_JSON
YOLO = ff.FILE_FORMAT_YOLO
FORMATS = frozenset({LABEL_STUDIO, COCO, YOLO})
NAMES = {LABEL_STUDIO: "Label Studio JSON", COCO: "COCO JSON", YOLO: "YOLO"}
PLAIN = frozenset({ff.COMPRESSION_UNSPECIFIED, ff.COMPRESSION_NONE})

# The annotation columns of spec/annotation.md §3.6 that the writers read.
TASK, ROW_INDEX, DATASET_VERSION = (
    "annotation.task",
    "annotation.row_index",
    "annotation.dataset_version",
)
WIDTH, HEIGHT, ORIENTATION = (
    "annotation.image_width",
    "annotation.image_height",
    "annotation.image_orientation",
)
NAME, CREATOR, GROUND_TRUTH, SOURCE_PREDICTION = (
    "annotation.name",
    "annotation.creator",
    "annotation.ground_truth",
    "annotation.source_prediction",
)
ANNOTATION_COLUMNS = frozenset(
    {TASK, ROW_INDEX, DATASET_VERSION, WIDTH, HEIGHT, ORIENTATION}
    | {NAME, CREATOR, GROUND_TRUTH, SOURCE_PREDICTION}
)

BOX, POLYGON, KEYPOINT, SPAN = "BOUNDING_BOX", "POLYGON", "KEYPOINT", "SPAN"
IMAGE_KINDS = frozenset({BOX, POLYGON, KEYPOINT})
COCO_KINDS = (BOX, POLYGON, KEYPOINT)  # the first label of the first kind present (DAT-135)
# The canonical Arrow type of each kind's column (spec/annotation.md §3.6).
_POINT = "struct<x: double, y: double>"
LABEL_TYPES = {
    "CLASSIFICATION": "string",
    "TEXT": "string",
    "MULTI_LABEL": "list<item: string>",
    "RATING": "int32",
    BOX: "list<item: struct<class_name: string, x: double, y: double, width: double, "
    "height: double>>",
    POLYGON: f"list<item: struct<class_name: string, points: list<item: {_POINT}>>>",
    SPAN: "list<item: struct<class_name: string, start: int64, end: int64, text: string>>",
    KEYPOINT: "list<item: struct<class_name: string, x: double, y: double>>",
}
# Label Studio's size of a keypoint, in percent of the image width (its `value.width`).
KEYPOINT_WIDTH = 1.0
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_FILE_EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Label:
    """One `label.<name>` column of an annotation export version."""

    column: str
    name: str
    kind: str
    classes: tuple[str, ...]
    source: str  # the labelled column; "" when the label has none

    @property
    def to_name(self) -> str:
        """Label Studio's `to_name`: the source column, else its usual object tag name."""
        return self.source or ("image" if self.kind in IMAGE_KINDS else "text")


# --- checks at creation ------------------------------------------------------------------


def check_format(spec: ff.FormatSpec, field: str, *, export: bool) -> None:
    """DAT-132: export only, uncompressed, without options (INVALID_FIELD on `field.*`)."""
    if not export:
        raise invalid_field(f"{field}.format", f"{NAMES[spec.format]} is an export-only format")
    options = spec.WhichOneof("options")
    if options is not None:
        raise invalid_field(f"{field}.{options}", f"{NAMES[spec.format]} takes no options")
    if spec.compression not in PLAIN:
        raise invalid_field(f"{field}.compression", f"{NAMES[spec.format]} is not compressed")


def check_destination(spec: ff.FormatSpec, *, directory: bool, max_rows_per_file: int) -> None:
    """DAT-132: YOLO writes a directory tree, one label file per row."""
    if spec.format != YOLO:
        return
    if not directory:
        raise invalid_field(
            "export_job.destination_uri", "YOLO is written to a directory: end the URI with '/'"
        )
    if max_rows_per_file:
        raise invalid_field("export_job.max_rows_per_file", "YOLO writes one file per row")


def labels_of(schema: pa.Schema, field: str) -> list[Label]:
    """The label columns of `schema` in schema order; SCHEMA_MISMATCH for one whose
    metadata or type is not that of spec/annotation.md §3.6."""
    found = []
    for column in schema:
        metadata = column.metadata or {}
        if KIND_KEY not in metadata:
            continue
        kind = metadata[KIND_KEY].decode(errors="replace")
        if kind not in LABEL_TYPES or not column.name.startswith("label."):
            raise _mismatch(field, f"column {column.name!r} is not a label column of §3.6")
        if arrow_types.canonical_type(column.type) != LABEL_TYPES[kind]:
            raise _mismatch(field, f"label column {column.name!r} is not typed as a {kind}")
        try:
            classes = json.loads(metadata.get(CLASSES_KEY, b"[]"))
        except ValueError:
            classes = None
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise _mismatch(field, f"label column {column.name!r}: classes are no JSON array")
        source = metadata.get(SOURCE_KEY, b"").decode(errors="replace")
        found.append(Label(column.name, column.name[6:], kind, tuple(classes), source))
    return found


def check_exportable(schema: pa.Schema, spec: ff.FormatSpec, field: str) -> None:
    """DAT-132: the exported columns are those of an annotation export version, with what
    the format needs (SCHEMA_MISMATCH on `field`)."""
    labels = labels_of(schema, field)
    if not labels:
        raise _mismatch(field, f"{NAMES[spec.format]} needs an annotation export: no label column")
    if spec.format == COCO:
        if _first(labels, COCO_KINDS) is None:
            raise _mismatch(field, "COCO needs a BOUNDING_BOX, POLYGON or KEYPOINT label")
        for name in (WIDTH, HEIGHT):
            if schema.get_field_index(name) < 0:
                raise _mismatch(field, f"COCO needs the column {name!r} for pixel sizes")
    if spec.format == YOLO and _first(labels, (BOX,)) is None:
        raise _mismatch(field, "YOLO needs a BOUNDING_BOX label")


def _mismatch(field: str, description: str) -> InvalidArgument:
    return invalid_argument("SCHEMA_MISMATCH", field, description)


def _first(labels: Sequence[Label], kinds: Sequence[str]) -> Label | None:
    for kind in kinds:
        for label in labels:
            if label.kind == kind:
                return label
    return None


# --- the files of a job ------------------------------------------------------------------


def export_files(
    table: pa.Table, spec: ff.FormatSpec, *, directory: bool, rows_per_file: int
) -> list[tuple[str | None, bytes]]:
    """The files to write, as (name below the directory destination, or None for the file
    destination; content), in row order (DAT-133 to DAT-138)."""
    labels = labels_of(table.schema, "export_job.format")
    rows = table.to_pylist()
    if spec.format == YOLO:
        return _yolo(rows, labels, table.schema)
    if spec.format == COCO:
        documents = _coco(rows, labels, table.schema, _bounds(len(rows), rows_per_file))
    else:
        documents = [
            _label_studio(rows[start:end], start, labels, table.schema)
            for start, end in _bounds(len(rows), rows_per_file)
        ]
    encoded = [_json(document) for document in documents]
    if not directory:
        return [(None, encoded[0])]
    return [(f"part-{index:05d}.json", body) for index, body in enumerate(encoded)]


def _bounds(count: int, rows_per_file: int) -> list[tuple[int, int]]:
    if not rows_per_file or count <= rows_per_file:
        return [(0, count)]
    return [(start, min(start + rows_per_file, count)) for start in range(0, count, rows_per_file)]


def _json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode()


def displayed_size(row: dict[str, Any]) -> tuple[int, int] | None:
    """(width, height) of the row's image as displayed, or None when unknown: orientations
    5 to 8 turn the image a quarter (spec/annotation.md §3.3)."""
    width, height = row.get(WIDTH), row.get(HEIGHT)
    if not width or not height:
        return None
    return (height, width) if (row.get(ORIENTATION) or 1) >= 5 else (width, height)


def sniff(image: bytes | None) -> str | None:
    """The image type of encoded bytes ("png", "jpeg", ...) from their magic number."""
    if not image:
        return None
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "webp"
    return next((kind for magic, kind in _MAGIC if image.startswith(magic)), None)


def _task_stem(row: dict[str, Any], position: int) -> str:
    """The task id (`row-3`, `v2-row-7`), else `row-<row index>`, else the row position."""
    task = row.get(TASK)
    if task:
        stem = task.rsplit("/", 1)[-1]
    elif row.get(ROW_INDEX) is not None:
        stem = f"row-{row[ROW_INDEX]}"
    else:
        stem = f"row-{position}"
    return _UNSAFE.sub("_", stem)


def _is_text(schema: pa.Schema, column: str) -> bool:
    index = schema.get_field_index(column) if column else -1
    kind = schema.field(index).type if index >= 0 else pa.null()
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _image_bytes(row: dict[str, Any], column: str) -> bytes | None:
    value = row.get(column) if column else None
    return value if isinstance(value, bytes) else None


def _extension(image: bytes | None) -> str | None:
    kind = sniff(image)
    return _FILE_EXTENSIONS.get(kind, kind) if kind else None


def _classes(label: Label, rows: Sequence[dict[str, Any]]) -> list[str]:
    """The label's classes, then any other class a row names, in order of appearance."""
    classes = list(label.classes)
    seen = set(classes)
    for row in rows:
        for item in row.get(label.column) or ():
            if item["class_name"] not in seen:
                seen.add(item["class_name"])
                classes.append(item["class_name"])
    return classes


def _annotated(row: dict[str, Any], labels: Sequence[Label]) -> bool:
    """Whether the row holds an annotation: its name, or without that column any label."""
    if NAME in row:
        return row[NAME] is not None
    return any(row.get(label.column) is not None for label in labels)


# --- Label Studio JSON (DAT-133, DAT-134) --------------------------------------------------


def _label_studio(
    rows: Sequence[dict[str, Any]], start: int, labels: Sequence[Label], schema: pa.Schema
) -> list[dict[str, Any]]:
    label_columns = {label.column for label in labels}
    sources = [
        f.name for f in schema if f.name not in ANNOTATION_COLUMNS and f.name not in label_columns
    ]
    tasks = []
    for offset, row in enumerate(rows):
        number = start + offset + 1
        annotations = []
        if _annotated(row, labels):
            size = displayed_size(row)
            results = [r for label in labels for r in _ls_results(row, label, size)]
            annotations.append(
                {
                    "id": number,
                    "completed_by": row.get(CREATOR),
                    "ground_truth": bool(row.get(GROUND_TRUTH)),
                    "was_cancelled": False,
                    "result": results,
                }
            )
        tasks.append(
            {
                "id": number,
                "data": {name: _ls_data(row[name]) for name in sources},
                "meta": {
                    "lepton_task": row.get(TASK),
                    "lepton_row_index": row.get(ROW_INDEX),
                    "lepton_dataset_version": row.get(DATASET_VERSION),
                    "lepton_annotation": row.get(NAME),
                    "lepton_source_prediction": row.get(SOURCE_PREDICTION) or None,
                },
                "annotations": annotations,
                "predictions": [],
            }
        )
    return tasks


def _percent(value: float) -> float:
    return value * 100


_LS_SINGLE = {
    "CLASSIFICATION": ("choices", lambda v: {"choices": [v]}),
    "MULTI_LABEL": ("choices", lambda v: {"choices": list(v)}),
    "TEXT": ("textarea", lambda v: {"text": [v]}),
    "RATING": ("rating", lambda v: {"rating": v}),
}
_LS_ITEMS = {
    SPAN: (
        "labels",
        lambda s: {
            "start": s["start"],
            "end": s["end"],
            "text": s["text"],
            "labels": [s["class_name"]],
        },
    ),
    BOX: (
        "rectanglelabels",
        lambda b: {
            "x": _percent(b["x"]),
            "y": _percent(b["y"]),
            "width": _percent(b["width"]),
            "height": _percent(b["height"]),
            "rotation": 0,
            "rectanglelabels": [b["class_name"]],
        },
    ),
    POLYGON: (
        "polygonlabels",
        lambda p: {
            "points": [[_percent(q["x"]), _percent(q["y"])] for q in p["points"]],
            "closed": True,
            "polygonlabels": [p["class_name"]],
        },
    ),
    KEYPOINT: (
        "keypointlabels",
        lambda k: {
            "x": _percent(k["x"]),
            "y": _percent(k["y"]),
            "width": KEYPOINT_WIDTH,
            "keypointlabels": [k["class_name"]],
        },
    ),
}


def _ls_values(label: Label, value: Any) -> list[tuple[str, dict[str, Any]]]:
    """(type, value) of each Label Studio result item of one label column value."""
    if label.kind in _LS_SINGLE:
        kind, make = _LS_SINGLE[label.kind]
        return [(kind, make(value))]
    kind, make = _LS_ITEMS[label.kind]
    return [(kind, make(item)) for item in value]


def _ls_results(
    row: dict[str, Any], label: Label, size: tuple[int, int] | None
) -> list[dict[str, Any]]:
    value = row.get(label.column)
    if value is None:
        return []
    results = []
    for index, (kind, item) in enumerate(_ls_values(label, value)):
        result: dict[str, Any] = {
            "id": f"{label.name}-{index}",
            "from_name": label.name,
            "to_name": label.to_name,
            "type": kind,
            "origin": "manual",
            "value": item,
        }
        if label.kind in IMAGE_KINDS:
            result["image_rotation"] = 0
            if size is not None:
                result["original_width"], result["original_height"] = size
        results.append(result)
    return results


def _ls_data(value: Any) -> Any:
    """A task data value: an image as a data URI, other bytes base64, the rest as JSON."""
    if isinstance(value, bytes):
        kind = sniff(value)
        mime = f"image/{kind}" if kind else "application/octet-stream"
        return f"data:{mime};base64,{base64.b64encode(value).decode()}"
    return _plain(value)


def _plain(value: Any) -> Any:  # noqa: PLR0911 - one case per type
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


# --- COCO JSON (DAT-135, DAT-136) ----------------------------------------------------------


def _coco(
    rows: Sequence[dict[str, Any]],
    labels: Sequence[Label],
    schema: pa.Schema,
    bounds: Sequence[tuple[int, int]],
) -> list[dict[str, Any]]:
    label = _first(labels, COCO_KINDS)
    assert label is not None  # check_exportable
    classes = _classes(label, rows)
    category = {name: index for index, name in enumerate(classes, 1)}
    categories = []
    for name in classes:
        entry: dict[str, Any] = {"id": category[name], "name": name, "supercategory": label.name}
        if label.kind == KEYPOINT:
            entry["keypoints"], entry["skeleton"] = [name], []
        categories.append(entry)
    text = _is_text(schema, label.source)
    images: list[dict[str, Any]] = []
    shapes: list[list[dict[str, Any]]] = []  # per row
    count = 0
    for position, row in enumerate(rows):
        size = displayed_size(row)
        if size is None:
            raise invalid_argument(
                "SCHEMA_MISMATCH",
                "export_job.version",
                f"row {position} has no image geometry: COCO needs the image's pixel size",
                row=str(position),
            )
        width, height = size
        image_id = position + 1
        if text and row.get(label.source):
            file_name = row[label.source]
        else:
            extension = _extension(_image_bytes(row, label.source))
            stem = _task_stem(row, position)
            file_name = f"{stem}.{extension}" if extension else stem
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        shapes.append([])
        for item in row.get(label.column) or ():
            count += 1
            shape = {"id": count, "image_id": image_id, "category_id": category[item["class_name"]]}
            shape.update(_coco_shape(label.kind, item, width, height), iscrowd=0)
            shapes[-1].append(shape)
    return [
        {
            "info": {"description": "Lepton annotation export", "version": "1.0"},
            "licenses": [],
            "images": images[start:end],
            "annotations": [shape for row_shapes in shapes[start:end] for shape in row_shapes],
            "categories": categories,
        }
        for start, end in bounds
    ]


def _coco_shape(kind: str, item: dict[str, Any], width: int, height: int) -> dict[str, Any]:
    """The geometry of one COCO annotation, in pixels of the image as displayed."""
    if kind == BOX:
        w, h = item["width"] * width, item["height"] * height
        return {"bbox": [item["x"] * width, item["y"] * height, w, h], "area": w * h}
    if kind == POLYGON:
        xs = [q["x"] * width for q in item["points"]]
        ys = [q["y"] * height for q in item["points"]]
        left, top = min(xs), min(ys)
        return {
            "segmentation": [[c for point in zip(xs, ys, strict=True) for c in point]],
            "bbox": [left, top, max(xs) - left, max(ys) - top],
            "area": _shoelace(xs, ys),
        }
    x, y = item["x"] * width, item["y"] * height
    return {"keypoints": [x, y, 2], "num_keypoints": 1, "bbox": [x, y, 0.0, 0.0], "area": 0.0}


def _shoelace(xs: Sequence[float], ys: Sequence[float]) -> float:
    twice = sum(
        xs[i] * ys[(i + 1) % len(xs)] - xs[(i + 1) % len(xs)] * ys[i] for i in range(len(xs))
    )
    return abs(twice) / 2


# --- YOLO (DAT-137) ------------------------------------------------------------------------


def _yolo(
    rows: Sequence[dict[str, Any]], labels: Sequence[Label], schema: pa.Schema
) -> list[tuple[str | None, bytes]]:
    label = _first(labels, (BOX,))
    assert label is not None  # check_exportable
    classes = _classes(label, rows)
    index = {name: i for i, name in enumerate(classes)}
    files: list[tuple[str | None, bytes]] = [
        ("classes.txt", "".join(f"{c}\n" for c in classes).encode())
    ]
    text = _is_text(schema, label.source)
    used: set[str] = set()
    for position, row in enumerate(rows):
        boxes = row.get(label.column)
        if boxes is None:
            continue  # no annotation: neither labelled nor known to be background
        if text and row.get(label.source):
            name = row[label.source].rstrip("/").rsplit("/", 1)[-1]
            stem = _UNSAFE.sub("_", name.rsplit(".", 1)[0] if "." in name[1:] else name)
        else:
            stem = _task_stem(row, position)
        stem = _unique(stem, used)
        lines = [
            f"{index[b['class_name']]} {b['x'] + b['width'] / 2:.6f} "
            f"{b['y'] + b['height'] / 2:.6f} {b['width']:.6f} {b['height']:.6f}\n"
            for b in boxes
        ]
        files.append((f"labels/{stem}.txt", "".join(lines).encode()))
        image = _image_bytes(row, label.source)
        if image:
            files.append((f"images/{stem}.{_extension(image) or 'bin'}", image))
    return files


def _unique(stem: str, used: set[str]) -> str:
    """`stem`, or `stem-2`, `stem-3`, ... for the second and later rows of the same name."""
    candidate, count = stem, 1
    while candidate in used:
        count += 1
        candidate = f"{stem}-{count}"
    used.add(candidate)
    return candidate
