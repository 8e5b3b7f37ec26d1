"""Normalized image geometry (boxes, points) in pixels, honouring the image's EXIF orientation
(spec/annotation.md §3.3). Normalized coordinates refer to the image as displayed, after its
orientation is applied; for orientations 5 to 8 the displayed width and height are the stored
height and width.

    x, y, width, height = to_pixels(result.bounding_box, task.image_geometry)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lepton.data.v1 import annotation_pb2 as values
from lepton.data.v1 import annotation_task_pb2 as tasks

ImageGeometry = tasks.ImageGeometry
# An ImageGeometry, (width, height[, orientation]) of the stored image, or anything with an
# `image_geometry` (a task).
GeometryLike = Any
Pixels = tuple[float, float, float, float]

# Where a displayed normalized point (u, v) lies in the stored image, by EXIF orientation
# (1: as stored, 2: mirrored, 3: rotated 180, 4: flipped, 5: transposed, 6: to be rotated 90
# degrees clockwise, 7: transversed, 8: to be rotated 90 degrees counter-clockwise).
_STORED_POINT: dict[int, Callable[[float, float], tuple[float, float]]] = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),
    3: lambda u, v: (1 - u, 1 - v),
    4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (v, 1 - u),
    7: lambda u, v: (1 - v, 1 - u),
    8: lambda u, v: (1 - v, u),
}


def image_geometry(geometry: GeometryLike) -> ImageGeometry:
    """`geometry` as an ImageGeometry with orientation 1 to 8; ValueError when it is unknown
    (a task without one) or invalid."""
    geometry = getattr(geometry, "image_geometry", geometry)
    if isinstance(geometry, tuple):
        geometry = ImageGeometry(
            width=geometry[0], height=geometry[1], orientation=(geometry[2:] or (1,))[0]
        )
    if not isinstance(geometry, ImageGeometry):
        raise TypeError(f"not an image geometry: {geometry!r}")
    if geometry.width < 1 or geometry.height < 1:
        raise ValueError("the image geometry is unknown (width and height must be at least 1)")
    orientation = geometry.orientation or 1
    if orientation not in _STORED_POINT:
        raise ValueError(f"EXIF orientation must be 1 to 8, not {orientation}")
    return ImageGeometry(width=geometry.width, height=geometry.height, orientation=orientation)


def displayed_size(geometry: GeometryLike) -> tuple[int, int]:
    """Width and height in pixels of the image as displayed."""
    geometry = image_geometry(geometry)
    if geometry.orientation >= 5:
        return geometry.height, geometry.width
    return geometry.width, geometry.height


def point_to_pixels(
    point: values.Point | values.KeypointValue | tuple[float, float],
    geometry: GeometryLike,
    *,
    stored: bool = False,
) -> tuple[float, float]:
    """A normalized point in pixels of the displayed image, or with `stored` of the image as
    stored (its pixel array before the orientation is applied)."""
    u, v = point if isinstance(point, tuple) else (point.x, point.y)
    geometry = image_geometry(geometry)
    if not stored:
        width, height = displayed_size(geometry)
        return u * width, v * height
    s, t = _STORED_POINT[geometry.orientation](u, v)
    return s * geometry.width, t * geometry.height


def to_pixels(
    box: values.BoundingBoxValue | values.LabelResult,
    geometry: GeometryLike,
    *,
    stored: bool = False,
) -> Pixels:
    """A normalized box as pixel (x, y, width, height) of the image as displayed (x = box.x times
    the displayed width, ...), or with `stored` the same rectangle in the stored image's pixels
    (rotated or mirrored back, so its corners swap and, for orientations 5 to 8, width and
    height exchange)."""
    if isinstance(box, values.LabelResult):
        if box.WhichOneof("value") != "bounding_box":
            raise ValueError(f"result of {box.label!r} is not a bounding box")
        box = box.bounding_box
    corners = [
        point_to_pixels((box.x, box.y), geometry, stored=stored),
        point_to_pixels((box.x + box.width, box.y + box.height), geometry, stored=stored),
    ]
    xs, ys = sorted(c[0] for c in corners), sorted(c[1] for c in corners)
    return xs[0], ys[0], xs[1] - xs[0], ys[1] - ys[0]
