"""`LabelResult` values of annotations and predictions as short calls, one per kind of label,
and `results_from`, which builds them from plain Python values by the project's schema.

    box("objects", "car", 0.1, 0.2, 0.3, 0.4)      # normalized x, y, width, height
    results_from(schema, {"sentiment": "pos", "quality": 4,
                          "objects": [("car", 0.1, 0.2, 0.3, 0.4)]})

`score` is a model's confidence in [0, 1]: predictions only; annotations need 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lepton.data.v1 import annotation_pb2 as values
from lepton.data.v1 import annotation_project_pb2 as projects
from lepton_ai.annotation.label_specs import kind_name

LabelResult = values.LabelResult
LabelKind = projects.LabelKind
PointLike = values.Point | tuple[float, float]
Results = LabelResult | Iterable[LabelResult] | Mapping[str, Any]


def classification(label: str, class_name: str, *, score: float = 0.0) -> LabelResult:
    """One class of a CLASSIFICATION label."""
    value = values.ClassificationValue(class_name=class_name)
    return LabelResult(label=label, classification=value, score=score)


def multi_label(label: str, class_names: Iterable[str], *, score: float = 0.0) -> LabelResult:
    """A subset of the classes of a MULTI_LABEL label (empty: none applies)."""
    if isinstance(class_names, str):
        raise TypeError(f"class names of {label!r} must be a list, not one string")
    value = values.MultiLabelValue(class_names=list(class_names))
    return LabelResult(label=label, multi_label=value, score=score)


def box(  # noqa: PLR0917 (the geometry reads best positionally)
    label: str,
    class_name: str,
    x: float,
    y: float,
    width: float,
    height: float,
    *,
    score: float = 0.0,
) -> LabelResult:
    """A rectangle of a BOUNDING_BOX label: left, top, width and height as fractions of the
    image as displayed (after its EXIF orientation; see `to_pixels`)."""
    value = values.BoundingBoxValue(class_name=class_name, x=x, y=y, width=width, height=height)
    return LabelResult(label=label, bounding_box=value, score=score)


def polygon(
    label: str, class_name: str, points: Iterable[PointLike], *, score: float = 0.0
) -> LabelResult:
    """A closed polygon of a POLYGON label: at least 3 normalized (x, y) vertices."""
    value = values.PolygonValue(class_name=class_name, points=[_point(p) for p in points])
    return LabelResult(label=label, polygon=value, score=score)


def keypoint(label: str, class_name: str, x: float, y: float, *, score: float = 0.0) -> LabelResult:
    """A point of a KEYPOINT label, normalized."""
    value = values.KeypointValue(class_name=class_name, x=x, y=y)
    return LabelResult(label=label, keypoint=value, score=score)


def span(label: str, class_name: str, start: int, end: int, *, score: float = 0.0) -> LabelResult:
    """Characters [start, end) of the text of a SPAN label, in code points (a Python str's
    indexes); the server fills in the covered text."""
    value = values.SpanValue(class_name=class_name, start=start, end=end)
    return LabelResult(label=label, span=value, score=score)


def rating(label: str, value: int, *, score: float = 0.0) -> LabelResult:
    """A rating of a RATING label, from 1 to its max_rating."""
    return LabelResult(label=label, rating=values.RatingValue(rating=value), score=score)


def text(label: str, value: str, *, score: float = 0.0) -> LabelResult:
    """The free text of a TEXT label."""
    return LabelResult(label=label, text=values.TextValue(text=value), score=score)


def _point(point: PointLike) -> values.Point:
    if isinstance(point, values.Point):
        return point
    x, y = point
    return values.Point(x=x, y=y)


# --------------------------------------------------------------------- plain values by schema


def results_from(schema: Sequence[projects.LabelSpec], results: Results) -> list[LabelResult]:
    """The results of `results`: LabelResults as they are, or a mapping {label name: value}
    read by the kind of each label of `schema`: a class name (classification), class names
    (multi-label), a str (text), an int (rating), or for the labels that allow many results
    one item or a list of items, each a LabelResult or a tuple of the arguments after the
    label of `box`, `polygon`, `keypoint` or `span` (e.g. ("car", 0.1, 0.2, 0.3, 0.4))."""
    if isinstance(results, LabelResult):
        return [results]
    if not isinstance(results, Mapping):
        return list(results)
    kinds = {spec.name: spec.kind for spec in schema}
    built: list[LabelResult] = []
    for label, value in results.items():
        if label not in kinds:
            raise ValueError(f"no label {label!r} in the schema ({', '.join(kinds)})")
        built.extend(_results_of(label, kinds[label], value))
    return built


_SINGLE = {
    LabelKind.LABEL_KIND_CLASSIFICATION: classification,
    LabelKind.LABEL_KIND_MULTI_LABEL: multi_label,
    LabelKind.LABEL_KIND_TEXT: text,
    LabelKind.LABEL_KIND_RATING: rating,
}
_MANY = {
    LabelKind.LABEL_KIND_BOUNDING_BOX: box,
    LabelKind.LABEL_KIND_POLYGON: polygon,
    LabelKind.LABEL_KIND_KEYPOINT: keypoint,
    LabelKind.LABEL_KIND_SPAN: span,
}


def _results_of(label: str, kind: LabelKind.ValueType, value: Any) -> list[LabelResult]:
    if isinstance(value, LabelResult):
        return [value]
    if kind in _SINGLE:
        return [_SINGLE[kind](label, value)]
    if kind not in _MANY:
        raise ValueError(f"label {label!r} has kind {kind_name(kind)}, which has no values")
    items = [value] if _is_item(value) else list(value)
    return [item if isinstance(item, LabelResult) else _MANY[kind](label, *item) for item in items]


def _is_item(value: Any) -> bool:
    """One box/polygon/keypoint/span tuple (its first element a class name), not a list."""
    return isinstance(value, tuple) and bool(value) and isinstance(value[0], str)
