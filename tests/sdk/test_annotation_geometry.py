"""`to_pixels` and `point_to_pixels` (lepton_ai.annotation.image_geometry): normalized boxes
and points in pixels of the image as displayed and as stored, for every EXIF orientation
(spec/annotation.md §3.3). The expected pixels come from numpy's own rotations and flips of a
stored pixel array, not from the module's table."""

from __future__ import annotations

import numpy as np
import pytest

from lepton.data.v1 import annotation_task_pb2 as tasks
from lepton_ai import box, to_pixels
from lepton_ai.annotation import Task, displayed_size, keypoint, point_to_pixels

# How a viewer turns the stored pixel array (rows = y, columns = x) into the displayed one.
DISPLAY = {
    1: lambda a: a,
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, -1),  # rotated 90 degrees clockwise
    7: lambda a: np.rot90(a.T, 2),
    8: lambda a: np.rot90(a, 1),  # rotated 90 degrees counter-clockwise
}
STORED_W, STORED_H = 8, 5
STORED_RECT = (1, 2, 3, 2)  # x, y, width, height in stored pixels


def _stored_image() -> np.ndarray:
    image = np.zeros((STORED_H, STORED_W), dtype=np.uint8)
    x, y, w, h = STORED_RECT
    image[y : y + h, x : x + w] = 1
    return image


def _rect(image: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(image)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_box_converts_to_displayed_and_stored_pixels(orientation):
    displayed = DISPLAY[orientation](_stored_image())
    height, width = displayed.shape
    x, y, w, h = _rect(displayed)
    normalized = box("objects", "car", x / width, y / height, w / width, h / height)
    geometry = tasks.ImageGeometry(width=STORED_W, height=STORED_H, orientation=orientation)

    assert displayed_size(geometry) == (width, height)
    assert to_pixels(normalized, geometry) == pytest.approx((x, y, w, h))
    assert to_pixels(normalized.bounding_box, geometry, stored=True) == pytest.approx(STORED_RECT)


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_orientations_5_to_8_swap_the_displayed_width_and_height(orientation):
    geometry = tasks.ImageGeometry(width=4000, height=3000, orientation=orientation)
    assert displayed_size(geometry) == (3000, 4000)
    # x is a fraction of the displayed width, 3000 pixels; y of the displayed height, 4000.
    pixels = to_pixels(box("b", "c", 0.25, 0.5, 0.5, 0.25), geometry)
    assert pixels == pytest.approx((750, 2000, 1500, 1000))


def test_orientation_0_means_as_stored_and_tuples_and_tasks_are_geometries():
    normalized = box("b", "c", 0.5, 0.25, 0.25, 0.5)
    expected = (50.0, 50.0, 25.0, 100.0)
    assert to_pixels(normalized, tasks.ImageGeometry(width=100, height=200)) == expected
    assert to_pixels(normalized, (100, 200)) == expected
    assert to_pixels(normalized, (100, 200, 1)) == expected
    task = Task(tasks.AnnotationTask(image_geometry=tasks.ImageGeometry(width=100, height=200)))
    assert to_pixels(normalized, task) == expected


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_keypoint_lands_on_its_pixel(orientation):
    stored = np.zeros((STORED_H, STORED_W), dtype=np.uint8)
    stored[3, 6] = 1  # stored pixel x=6, y=3
    displayed = DISPLAY[orientation](stored)
    height, width = displayed.shape
    (y,), (x,) = np.nonzero(displayed)
    geometry = (STORED_W, STORED_H, orientation)
    centre = keypoint("joints", "wrist", (x + 0.5) / width, (y + 0.5) / height).keypoint
    assert point_to_pixels(centre, geometry) == pytest.approx((x + 0.5, y + 0.5))
    assert point_to_pixels(centre, geometry, stored=True) == pytest.approx((6.5, 3.5))


def test_unknown_or_invalid_geometry_is_a_value_error():
    normalized = box("b", "c", 0.1, 0.1, 0.1, 0.1)
    with pytest.raises(ValueError, match="unknown"):
        to_pixels(normalized, Task(tasks.AnnotationTask()))  # a task without image_geometry
    with pytest.raises(ValueError, match="1 to 8"):
        to_pixels(normalized, (10, 10, 9))
    with pytest.raises(ValueError, match="not a bounding box"):
        to_pixels(keypoint("k", "c", 0.1, 0.1), (10, 10))
