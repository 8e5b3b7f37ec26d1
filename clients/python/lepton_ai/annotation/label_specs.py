"""`Label`: the label schema of an annotation project as short calls, one per kind of label
(spec/annotation.md §3.2), each returning a `LabelSpec`.

    schema = [
        Label.classification("sentiment", ["pos", "neg"], source_column="text"),
        Label.bounding_box("objects", ["car", "person"], source_column="image"),
        Label.rating("quality", max_rating=5),
    ]
"""

from __future__ import annotations

from collections.abc import Iterable

from lepton.data.v1 import annotation_project_pb2 as projects

LabelSpec = projects.LabelSpec
LabelKind = projects.LabelKind


def _spec(
    name: str,
    kind: LabelKind.ValueType,
    classes: Iterable[str] = (),
    *,
    source_column: str = "",
    description: str = "",
    max_rating: int = 0,
) -> LabelSpec:
    if isinstance(classes, str):
        raise TypeError(f"classes of label {name!r} must be a list of names, not one string")
    return LabelSpec(
        name=name,
        kind=kind,
        classes=list(classes),
        source_column=source_column,
        description=description,
        max_rating=max_rating,
    )


class Label:
    """Builders of `LabelSpec`s. Labels of an image (boxes, polygons, keypoints) and spans of a
    text need their `source_column`; the other kinds describe the whole row when it is empty.
    The order of `classes` is the class index order of prediction decoders."""

    @staticmethod
    def classification(
        name: str, classes: Iterable[str], *, source_column: str = "", description: str = ""
    ) -> LabelSpec:
        """Exactly one of `classes` per annotation."""
        return _spec(
            name,
            LabelKind.LABEL_KIND_CLASSIFICATION,
            classes,
            source_column=source_column,
            description=description,
        )

    @staticmethod
    def multi_label(
        name: str, classes: Iterable[str], *, source_column: str = "", description: str = ""
    ) -> LabelSpec:
        """Any subset of `classes` per annotation."""
        return _spec(
            name,
            LabelKind.LABEL_KIND_MULTI_LABEL,
            classes,
            source_column=source_column,
            description=description,
        )

    @staticmethod
    def bounding_box(
        name: str, classes: Iterable[str], *, source_column: str, description: str = ""
    ) -> LabelSpec:
        """Rectangles with a class on the image in `source_column` (bytes or a URI)."""
        return _spec(
            name,
            LabelKind.LABEL_KIND_BOUNDING_BOX,
            classes,
            source_column=source_column,
            description=description,
        )

    @staticmethod
    def polygon(
        name: str, classes: Iterable[str], *, source_column: str, description: str = ""
    ) -> LabelSpec:
        """Closed polygons with a class on the image in `source_column`."""
        return _spec(
            name,
            LabelKind.LABEL_KIND_POLYGON,
            classes,
            source_column=source_column,
            description=description,
        )

    @staticmethod
    def keypoint(
        name: str, classes: Iterable[str], *, source_column: str, description: str = ""
    ) -> LabelSpec:
        """Points with a class (e.g. the joints of a pose) on the image in `source_column`."""
        return _spec(
            name,
            LabelKind.LABEL_KIND_KEYPOINT,
            classes,
            source_column=source_column,
            description=description,
        )

    @staticmethod
    def span(
        name: str, classes: Iterable[str], *, source_column: str, description: str = ""
    ) -> LabelSpec:
        """Character ranges with a class of the text in `source_column` (e.g. entities)."""
        return _spec(
            name,
            LabelKind.LABEL_KIND_SPAN,
            classes,
            source_column=source_column,
            description=description,
        )

    @staticmethod
    def text(name: str, *, source_column: str = "", description: str = "") -> LabelSpec:
        """Free text, e.g. a transcription or a caption."""
        return _spec(
            name, LabelKind.LABEL_KIND_TEXT, source_column=source_column, description=description
        )

    @staticmethod
    def rating(
        name: str, *, max_rating: int = 5, source_column: str = "", description: str = ""
    ) -> LabelSpec:
        """A whole number from 1 to `max_rating` (2 to 100)."""
        return _spec(
            name,
            LabelKind.LABEL_KIND_RATING,
            source_column=source_column,
            description=description,
            max_rating=max_rating,
        )


def kind_name(kind: LabelKind.ValueType) -> str:
    """ "bounding_box" for LABEL_KIND_BOUNDING_BOX, and so on."""
    return LabelKind.Name(kind).removeprefix("LABEL_KIND_").lower()
