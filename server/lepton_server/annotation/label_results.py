"""Results of annotations and predictions checked against the project's label schema
(ANN-030): the label exists, the value is of its kind, classes are the label's, geometry lies
in the image, spans in the text (whose covered text the server fills in, ANN-031), ratings on
the scale, and single-result labels have one result."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pyarrow as pa

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton_server.annotation.label_schemas import SINGLE_RESULT, max_rating
from lepton_server.runtime.errors import FieldViolation, InvalidArgument

MAX_RESULTS = 10000
MAX_TEXT_BYTES = 1 << 20

VALUE_OF_KIND = {
    ap.LABEL_KIND_CLASSIFICATION: "classification",
    ap.LABEL_KIND_MULTI_LABEL: "multi_label",
    ap.LABEL_KIND_BOUNDING_BOX: "bounding_box",
    ap.LABEL_KIND_POLYGON: "polygon",
    ap.LABEL_KIND_SPAN: "span",
    ap.LABEL_KIND_TEXT: "text",
    ap.LABEL_KIND_KEYPOINT: "keypoint",
    ap.LABEL_KIND_RATING: "rating",
}


def mismatch(path: str, description: str) -> InvalidArgument:
    return InvalidArgument(
        reason="LABEL_SCHEMA_MISMATCH",
        message=f"{path}: {description}",
        violations=[FieldViolation(path, description)],
    )


def row_text(row: bytes, column: str) -> str | None:
    """The value of a string column in a task's row copy (None when null or absent)."""
    table = pa.ipc.open_stream(pa.py_buffer(row)).read_all()
    if column not in table.column_names or table.num_rows == 0:
        return None
    value = table.column(column)[0].as_py()
    return value if isinstance(value, str) else None


def check_results(
    results: Sequence[an.LabelResult],
    specs: Sequence[ap.LabelSpec],
    path: str,
    text_of: Callable[[str], str | None],
) -> None:
    """Check every result and fill in span texts in place; `path` is the results field
    ("annotation.results"), `text_of(column)` the row's text of a column."""
    if len(results) > MAX_RESULTS:
        raise InvalidArgument(
            reason="INVALID_FIELD",
            message=f"at most {MAX_RESULTS} results",
            violations=[FieldViolation(path, f"at most {MAX_RESULTS} results")],
        )
    by_name = {spec.name: spec for spec in specs}
    singles: set[str] = set()
    for i, result in enumerate(results):
        at = f"{path}[{i}]"
        spec = by_name.get(result.label)
        if spec is None:
            raise mismatch(f"{at}.label", f"the schema has no label {result.label!r}")
        kind = VALUE_OF_KIND[spec.kind]
        if result.WhichOneof("value") != kind:
            raise mismatch(f"{at}.{kind}", f"the label {spec.name!r} takes a {kind} value")
        if spec.kind in SINGLE_RESULT:
            if spec.name in singles:
                raise mismatch(at, f"the label {spec.name!r} takes one result")
            singles.add(spec.name)
        _check_value(result, spec, f"{at}.{kind}", text_of)


def _check_value(  # noqa: PLR0912  (one branch per label kind)
    result: an.LabelResult, spec: ap.LabelSpec, at: str, text_of: Callable[[str], str | None]
) -> None:
    classes = set(spec.classes)

    def known(name: str, where: str) -> None:
        if name not in classes:
            raise mismatch(where, f"{name!r} is not a class of the label {spec.name!r}")

    kind = spec.kind
    if kind == ap.LABEL_KIND_CLASSIFICATION:
        known(result.classification.class_name, f"{at}.class_name")
    elif kind == ap.LABEL_KIND_MULTI_LABEL:
        names = list(result.multi_label.class_names)
        for j, name in enumerate(names):
            known(name, f"{at}.class_names[{j}]")
            if name in names[:j]:
                raise mismatch(f"{at}.class_names[{j}]", f"{name!r} is repeated")
    elif kind == ap.LABEL_KIND_BOUNDING_BOX:
        box = result.bounding_box
        known(box.class_name, f"{at}.class_name")
        _check_box(box, at)
    elif kind == ap.LABEL_KIND_POLYGON:
        known(result.polygon.class_name, f"{at}.class_name")
        points = result.polygon.points
        if len(points) < 3:
            raise mismatch(f"{at}.points", "a polygon has at least 3 points")
        for j, point in enumerate(points):
            _check_point(point.x, point.y, f"{at}.points[{j}]")
    elif kind == ap.LABEL_KIND_KEYPOINT:
        known(result.keypoint.class_name, f"{at}.class_name")
        _check_point(result.keypoint.x, result.keypoint.y, at)
    elif kind == ap.LABEL_KIND_SPAN:
        _check_span(result.span, spec, at, text_of, known)
    elif kind == ap.LABEL_KIND_TEXT:
        if len(result.text.text.encode()) > MAX_TEXT_BYTES:
            raise mismatch(f"{at}.text", "at most 1 MiB of text")
    elif kind == ap.LABEL_KIND_RATING:
        top = max_rating(spec)
        if not 1 <= result.rating.rating <= top:
            raise mismatch(f"{at}.rating", f"a rating is from 1 to {top}")


def unit_interval(value: float) -> bool:
    """A finite number in [0, 1]: a score or a normalized coordinate."""
    return math.isfinite(value) and 0.0 <= value <= 1.0


def _check_point(x: float, y: float, at: str) -> None:
    if not unit_interval(x):
        raise mismatch(f"{at}.x", "must be in [0, 1]")
    if not unit_interval(y):
        raise mismatch(f"{at}.y", "must be in [0, 1]")


def _check_box(box: an.BoundingBoxValue, at: str) -> None:
    _check_point(box.x, box.y, at)
    for side, size, start in (("width", box.width, box.x), ("height", box.height, box.y)):
        if not (math.isfinite(size) and size > 0):
            raise mismatch(f"{at}.{side}", "must be positive")
        if start + size > 1.0 + 1e-12:
            raise mismatch(f"{at}.{side}", "the box must lie inside the image")


def _check_span(
    span: an.SpanValue,
    spec: ap.LabelSpec,
    at: str,
    text_of: Callable[[str], str | None],
    known: Callable[[str, str], None],
) -> None:
    known(span.class_name, f"{at}.class_name")
    text = text_of(spec.source_column) or ""
    if span.start < 0:
        raise mismatch(f"{at}.start", "must be at least 0")
    if span.end <= span.start:
        raise mismatch(f"{at}.end", "must be greater than start")
    if span.end > len(text):
        raise mismatch(f"{at}.end", f"the text has {len(text)} characters")
    span.text = text[span.start : span.end]
