"""The geometry of a task's image (ANN-055): width, height and EXIF orientation read from the
image header with Pillow, without decoding the pixels, when a label is drawn on a binary
column; or the client's value, checked."""

from __future__ import annotations

import io

import pyarrow as pa
from PIL import Image, UnidentifiedImageError

from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_task_pb2 as at
from lepton_server.annotation.label_schemas import IMAGE_KINDS
from lepton_server.runtime.errors import invalid_field

EXIF_ORIENTATION = 0x0112
MAX_SIDE = 1 << 30


def check_geometry(geometry: at.ImageGeometry, field: str) -> None:
    if not 1 <= geometry.width <= MAX_SIDE:
        raise invalid_field(f"{field}.width", "must be at least 1")
    if not 1 <= geometry.height <= MAX_SIDE:
        raise invalid_field(f"{field}.height", "must be at least 1")
    if not 0 <= geometry.orientation <= 8:
        raise invalid_field(f"{field}.orientation", "an EXIF orientation is from 1 to 8 (0: 1)")


def image_columns(specs: list[ap.LabelSpec], schema: pa.Schema) -> list[str]:
    """The binary columns the project's image labels are drawn on, in schema order."""
    columns = {s.source_column for s in specs if s.kind in IMAGE_KINDS and s.source_column}
    binary = [
        f.name
        for f in schema
        if f.name in columns and (pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type))
    ]
    return binary


def read_geometry(image: bytes | None) -> at.ImageGeometry | None:
    """The size and orientation of encoded image bytes; None when they are no image."""
    if not image:
        return None
    try:
        with Image.open(io.BytesIO(image)) as picture:
            width, height = picture.size
            orientation = picture.getexif().get(EXIF_ORIENTATION, 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    return at.ImageGeometry(width=width, height=height, orientation=orientation)
