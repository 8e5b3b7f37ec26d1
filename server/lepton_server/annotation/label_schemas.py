"""Label schemas (spec/annotation.md §3.2, ANN-004, ANN-005, ANN-009, ANN-054): each label's
name, kind, classes and rating scale checked, its source column checked against the dataset
version's Arrow schema, and an update allowed only as an append-only extension."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pyarrow as pa

from lepton.data.v1 import annotation_project_pb2 as ap
from lepton_server.runtime.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    invalid_field,
)

LABEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_CLASSES = 10000
MAX_CLASS_NAME = 256
MAX_LABEL_DESCRIPTION = 16384
DEFAULT_MAX_RATING, MIN_MAX_RATING, MAX_MAX_RATING = 5, 2, 100

CLASSLESS = frozenset({ap.LABEL_KIND_TEXT, ap.LABEL_KIND_RATING})
# Kinds drawn on an image: their source column holds the image bytes or its URI.
IMAGE_KINDS = frozenset({ap.LABEL_KIND_BOUNDING_BOX, ap.LABEL_KIND_POLYGON, ap.LABEL_KIND_KEYPOINT})
NEEDS_COLUMN = IMAGE_KINDS | {ap.LABEL_KIND_SPAN}
# At most one result of these kinds per label in one annotation or prediction (ANN-030).
SINGLE_RESULT = frozenset(
    {
        ap.LABEL_KIND_CLASSIFICATION,
        ap.LABEL_KIND_MULTI_LABEL,
        ap.LABEL_KIND_TEXT,
        ap.LABEL_KIND_RATING,
    }
)


def max_rating(spec: ap.LabelSpec) -> int:
    return spec.max_rating or DEFAULT_MAX_RATING


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _is_image(kind: pa.DataType) -> bool:
    binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
    return binary or pa.types.is_fixed_size_binary(kind) or _is_text(kind)


def check_label_specs(specs: Sequence[ap.LabelSpec], schema: pa.Schema, field: str) -> None:
    """INVALID_ARGUMENT for the first label of `specs` that breaks §3.2 (ANN-004, ANN-005)."""
    if not specs:
        raise invalid_field(field, "a project needs at least one label")
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        path = f"{field}[{i}]"
        if not LABEL_NAME.match(spec.name):
            raise invalid_field(f"{path}.name", f"{spec.name!r} is not ^[a-z][a-z0-9_]{{0,62}}$")
        if spec.name in seen:
            raise invalid_field(f"{path}.name", f"the label {spec.name!r} is defined twice")
        seen.add(spec.name)
        if spec.kind not in ap.LabelKind.values() or spec.kind == ap.LABEL_KIND_UNSPECIFIED:
            raise invalid_field(f"{path}.kind", "a label needs a kind")
        _check_classes(spec, path)
        if len(spec.description) > MAX_LABEL_DESCRIPTION:
            raise invalid_field(
                f"{path}.description", f"at most {MAX_LABEL_DESCRIPTION} characters"
            )
        if spec.kind == ap.LABEL_KIND_RATING:
            if spec.max_rating and not MIN_MAX_RATING <= spec.max_rating <= MAX_MAX_RATING:
                raise invalid_field(f"{path}.max_rating", "must be 0 (5) or from 2 to 100")
        elif spec.max_rating:
            raise invalid_field(f"{path}.max_rating", "only a RATING label has a max_rating")
        _check_column(spec, schema, path)


def _check_classes(spec: ap.LabelSpec, path: str) -> None:
    kind_name = ap.LabelKind.Name(spec.kind).removeprefix("LABEL_KIND_")
    if spec.kind in CLASSLESS:
        if spec.classes:
            raise invalid_field(f"{path}.classes", f"a {kind_name} label has no classes")
        return
    if not spec.classes:
        raise invalid_field(f"{path}.classes", f"a {kind_name} label needs at least one class")
    if len(spec.classes) > MAX_CLASSES:
        raise invalid_field(f"{path}.classes", f"at most {MAX_CLASSES} classes")
    seen: set[str] = set()
    for j, name in enumerate(spec.classes):
        if not 1 <= len(name) <= MAX_CLASS_NAME:
            raise invalid_field(f"{path}.classes[{j}]", "a class name has 1 to 256 characters")
        if name in seen:
            raise invalid_field(f"{path}.classes[{j}]", f"the class {name!r} is listed twice")
        seen.add(name)


def _check_column(spec: ap.LabelSpec, schema: pa.Schema, path: str) -> None:
    if not spec.source_column:
        if spec.kind in NEEDS_COLUMN:
            raise invalid_field(f"{path}.source_column", "this kind of label needs a column")
        return
    index = schema.get_field_index(spec.source_column)
    if index < 0:
        raise InvalidArgument(
            reason="COLUMN_NOT_FOUND",
            message=f"the version has no column {spec.source_column!r}",
            metadata={"column": spec.source_column},
            violations=[FieldViolation(f"{path}.source_column", "no such column")],
        )
    kind = schema.field(index).type
    fits = (
        _is_image(kind)
        if spec.kind in IMAGE_KINDS
        else _is_text(kind)
        if spec.kind == ap.LABEL_KIND_SPAN
        else True
    )
    if not fits:
        wanted = "binary or string" if spec.kind in IMAGE_KINDS else "string"
        raise InvalidArgument(
            reason="SCHEMA_MISMATCH",
            message=f"column {spec.source_column!r} is {kind}, this label needs {wanted}",
            metadata={"column": spec.source_column},
            violations=[FieldViolation(f"{path}.source_column", f"is {kind}, needs {wanted}")],
        )


def check_extension(old: Sequence[ap.LabelSpec], new: Sequence[ap.LabelSpec]) -> None:
    """FAILED_PRECONDITION [INCOMPATIBLE_LABEL_SCHEMA_CHANGE] unless `new` keeps every label
    of `old` in place with its name, kind, column, scale and classes, appending only
    (ANN-009)."""
    if len(new) < len(old):
        raise _incompatible("labels may not be removed")
    for i, (before, after) in enumerate(zip(old, new, strict=False)):
        same = (
            before.name == after.name
            and before.kind == after.kind
            and before.source_column == after.source_column
            and before.max_rating == after.max_rating
        )
        if not same:
            raise _incompatible(f"label {i} ({before.name!r}) must keep its name, kind and column")
        if list(after.classes[: len(before.classes)]) != list(before.classes):
            raise _incompatible(f"label {before.name!r} may only append classes")


def _incompatible(message: str) -> FailedPrecondition:
    return FailedPrecondition(reason="INCOMPATIBLE_LABEL_SCHEMA_CHANGE", message=message)
