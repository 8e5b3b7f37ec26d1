"""The table an annotation export job commits (spec/annotation.md §3.6, ANN-048, ANN-050):
per exported row the selected source columns of the task's row copy, the annotation columns
and one `label.<name>` column per label, typed by its kind. Label columns carry their kind,
classes and source column as Arrow field metadata, so a reader (the data layer's Label Studio,
COCO and YOLO writers) knows what they hold without the project."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from lepton.data.v1 import annotation_export_job_pb2 as ej
from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_task_pb2 as at

KIND_KEY, CLASSES_KEY, SOURCE_KEY = (
    b"lepton.label.kind",
    b"lepton.label.classes",
    b"lepton.label.source_column",
)
_POINT = pa.struct([("x", pa.float64()), ("y", pa.float64())])
LABEL_TYPES: dict[int, pa.DataType] = {
    ap.LABEL_KIND_CLASSIFICATION: pa.string(),
    ap.LABEL_KIND_TEXT: pa.string(),
    ap.LABEL_KIND_MULTI_LABEL: pa.list_(pa.string()),
    ap.LABEL_KIND_RATING: pa.int32(),
    ap.LABEL_KIND_BOUNDING_BOX: pa.list_(
        pa.struct(
            [("class_name", pa.string())]
            + [(side, pa.float64()) for side in ("x", "y", "width", "height")]
        )
    ),
    ap.LABEL_KIND_POLYGON: pa.list_(
        pa.struct([("class_name", pa.string()), ("points", pa.list_(_POINT))])
    ),
    ap.LABEL_KIND_SPAN: pa.list_(
        pa.struct(
            [
                ("class_name", pa.string()),
                ("start", pa.int64()),
                ("end", pa.int64()),
                ("text", pa.string()),
            ]
        )
    ),
    ap.LABEL_KIND_KEYPOINT: pa.list_(
        pa.struct([("class_name", pa.string()), ("x", pa.float64()), ("y", pa.float64())])
    ),
}
SINGLE = frozenset(
    {
        ap.LABEL_KIND_CLASSIFICATION,
        ap.LABEL_KIND_TEXT,
        ap.LABEL_KIND_MULTI_LABEL,
        ap.LABEL_KIND_RATING,
    }
)
ANNOTATION_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("annotation.task", pa.string()),
    ("annotation.row_index", pa.int64()),
    ("annotation.dataset_version", pa.string()),
    ("annotation.image_width", pa.int32()),
    ("annotation.image_height", pa.int32()),
    ("annotation.image_orientation", pa.int32()),
    ("annotation.name", pa.string()),
    ("annotation.creator", pa.string()),
    ("annotation.ground_truth", pa.bool_()),
    ("annotation.source_prediction", pa.string()),
)
ADDED = frozenset(name for name, _ in ANNOTATION_COLUMNS)


def added_columns(specs: Sequence[ap.LabelSpec]) -> set[str]:
    return set(ADDED) | {f"label.{spec.name}" for spec in specs}


def label_field(spec: ap.LabelSpec) -> pa.Field:
    metadata = {
        KIND_KEY: ap.LabelKind.Name(spec.kind).removeprefix("LABEL_KIND_").encode(),
        CLASSES_KEY: json.dumps(list(spec.classes)).encode(),
        SOURCE_KEY: spec.source_column.encode(),
    }
    return pa.field(f"label.{spec.name}", LABEL_TYPES[spec.kind], metadata=metadata)


def _newest(annotations: Sequence[an.Annotation]) -> an.Annotation | None:
    return max(annotations, key=lambda a: (a.update_time.ToNanoseconds(), a.name), default=None)


def chosen(annotations: Sequence[an.Annotation], selection: int) -> list[an.Annotation | None]:
    """The annotations that become a task's rows (ANN-048): one (or None) per task, or every
    non-skipped one for ALL."""
    if len(annotations) == 1 and selection != ej.ANNOTATION_SELECTION_ALL:
        # The common case, without sorting: a task's single annotation.
        return [None if annotations[0].skipped else annotations[0]]
    eligible = [a for a in annotations if not a.skipped]
    if selection == ej.ANNOTATION_SELECTION_ALL:
        return sorted(eligible, key=lambda a: (a.create_time.ToNanoseconds(), a.name))
    if selection != ej.ANNOTATION_SELECTION_LATEST:
        truth = _newest([a for a in eligible if a.ground_truth])
        if truth is not None:
            return [truth]
    return [_newest(eligible)]


_SINGLE_VALUES = {
    ap.LABEL_KIND_CLASSIFICATION: lambda r: r.classification.class_name,
    ap.LABEL_KIND_TEXT: lambda r: r.text.text,
    ap.LABEL_KIND_MULTI_LABEL: lambda r: list(r.multi_label.class_names),
    ap.LABEL_KIND_RATING: lambda r: r.rating.rating,
}
_LIST_ITEMS = {
    ap.LABEL_KIND_BOUNDING_BOX: lambda r: {
        "class_name": r.bounding_box.class_name,
        "x": r.bounding_box.x,
        "y": r.bounding_box.y,
        "width": r.bounding_box.width,
        "height": r.bounding_box.height,
    },
    ap.LABEL_KIND_POLYGON: lambda r: {
        "class_name": r.polygon.class_name,
        "points": [{"x": q.x, "y": q.y} for q in r.polygon.points],
    },
    ap.LABEL_KIND_SPAN: lambda r: {
        "class_name": r.span.class_name,
        "start": r.span.start,
        "end": r.span.end,
        "text": r.span.text,
    },
    ap.LABEL_KIND_KEYPOINT: lambda r: {
        "class_name": r.keypoint.class_name,
        "x": r.keypoint.x,
        "y": r.keypoint.y,
    },
}


def _value(spec: ap.LabelSpec, annotation: an.Annotation | None) -> object:
    """The label column's value of one row (ANN-050)."""
    if annotation is None:
        return None
    results = [r for r in annotation.results if r.label == spec.name]
    if spec.kind in _SINGLE_VALUES:
        return _SINGLE_VALUES[spec.kind](results[0]) if results else None
    return [_LIST_ITEMS[spec.kind](r) for r in results]


@dataclass
class ExportRows:
    """The exported table, built one row at a time: where each row's source values are
    (a task's version and row index), its annotation columns and its label values."""

    specs: Sequence[ap.LabelSpec]
    source_columns: Sequence[str]
    source_schema: pa.Schema

    def __post_init__(self) -> None:
        self.rows: list[tuple[str, int, str]] = []  # (version, row index, task name)
        self.columns: dict[str, list] = {name: [] for name, _ in ANNOTATION_COLUMNS}
        self.labels: dict[str, list] = {spec.name: [] for spec in self.specs}

    def add(self, task: at.AnnotationTask, annotation: an.Annotation | None) -> None:
        name, row_index, version = task.name, task.row_index, task.dataset_version
        self.rows.append((version, row_index, name))
        geometry = task.image_geometry if task.HasField("image_geometry") else None
        values = (
            name,
            row_index,
            version,
            geometry.width if geometry else None,
            geometry.height if geometry else None,
            (geometry.orientation or 1) if geometry else None,
            annotation.name if annotation else None,
            annotation.creator if annotation else None,
            annotation.ground_truth if annotation else None,
            annotation.source_prediction if annotation else None,
        )
        for (name, _), value in zip(ANNOTATION_COLUMNS, values, strict=True):
            self.columns[name].append(value)
        for spec in self.specs:
            self.labels[spec.name].append(_value(spec, annotation))

    def table(self, source: Callable[[str, list[str], list[int], list[str]], pa.Table]) -> pa.Table:
        """The table; `source(version, columns, row indexes, task names)` reads the source
        columns of rows of one version, in the order asked."""
        fields = [self.source_schema.field(name) for name in self.source_columns]
        source_schema = pa.schema(fields)
        fields += [pa.field(name, kind) for name, kind in ANNOTATION_COLUMNS]
        fields += [label_field(spec) for spec in self.specs]
        by_version: dict[str, list[int]] = {}
        for position, (version, _, _) in enumerate(self.rows):
            by_version.setdefault(version, []).append(position)
        parts, order = [], []
        for version, positions in by_version.items():
            taken = source(
                version,
                list(self.source_columns),
                [self.rows[i][1] for i in positions],
                [self.rows[i][2] for i in positions],
            )
            parts.append(taken.select(list(self.source_columns)).cast(source_schema))
            order.extend(positions)
        if parts:
            # Back to row order: each version's rows were read together.
            combined = pa.concat_tables(parts)
            inverse = [0] * len(order)
            for taken_at, position in enumerate(order):
                inverse[position] = taken_at
            arrays = list(combined.take(pa.array(inverse, pa.int64())).columns)
        else:
            arrays = [pa.array([], f.type) for f in source_schema]
        arrays += [pa.array(self.columns[name], kind) for name, kind in ANNOTATION_COLUMNS]
        arrays += [pa.array(self.labels[s.name], LABEL_TYPES[s.kind]) for s in self.specs]
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
