"""annotation-core cases of image geometry (ANN-055): read from a PNG or JPEG (with its EXIF
orientation) in the binary source column of an image label, the client's value when it sets
one, unset otherwise, and refused when out of range."""

from __future__ import annotations

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as task_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import INVALID, unchanged
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient, label_specs
from lepton_conformance.suites.annotation.annotation_data import GEOMETRY, shared_data
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Geometry = task_pb.ImageGeometry
Task = task_pb.AnnotationTask
FIELD = "annotation_task.image_geometry"


def _geometry(task: Task) -> tuple[int, int, int] | None:
    if not task.HasField("image_geometry"):
        return None
    geometry = task.image_geometry
    return (geometry.width, geometry.height, geometry.orientation)


def _project(client: AnnotationClient, version: str, kind: str, column: str) -> str:
    specs = label_specs([{"name": "mark", "kind": kind, "source_column": column, "classes": ["a"]}])
    return client.create_project(version, specs).name


@CASES.case(CORE, "geometry.read-from-the-image", "ANN-055")
def read_from_image(ctx: CaseContext) -> None:
    """A task of a project with a box, polygon or keypoint label on a binary column reports
    the stored width and height of its PNG or JPEG and the EXIF orientation (1 when absent);
    bytes that are no image leave it unset."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        for kind in ("LABEL_KIND_BOUNDING_BOX", "LABEL_KIND_POLYGON", "LABEL_KIND_KEYPOINT"):
            parent = _project(client, data.second, kind, "image")
            for row, wanted in enumerate(GEOMETRY):
                task = client.create_task(parent, row)
                expect.equal(_geometry(task), wanted, f"image_geometry of row {row} ({kind})")
                expect.equal(
                    _geometry(client.task(task.name)), wanted, f"image_geometry in Get, row {row}"
                )


@CASES.case(CORE, "geometry.unset-without-an-image-label", "ANN-055")
def unset_without_image(ctx: CaseContext) -> None:
    """Without a box, polygon or keypoint label on a binary column (a classification only,
    or a box on an image URI string column) a task has no image_geometry."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        classify = client.create_project(
            data.first,
            label_specs(
                [
                    {
                        "name": "a",
                        "kind": "LABEL_KIND_CLASSIFICATION",
                        "source_column": "image",
                        "classes": ["x"],
                    }
                ]
            ),
        ).name
        by_uri = _project(client, data.first, "LABEL_KIND_BOUNDING_BOX", "text")
        for parent in (classify, by_uri):
            task = client.create_task(parent, 0)
            expect.equal(_geometry(task), None, "image_geometry without an image label")


@CASES.case(CORE, "geometry.client-value-wins-and-updates-replace-it", "ANN-055", "ANN-022")
def client_geometry(ctx: CaseContext) -> None:
    """A geometry set at creation is kept as sent (even over an image); UpdateAnnotationTask
    with image_geometry in the mask replaces it; width or height below 1 or an orientation
    outside 0 to 8 is INVALID_FIELD on image_geometry, creating or changing nothing."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        parent = _project(client, data.first, "LABEL_KIND_BOUNDING_BOX", "image")
        task = client.create_task(
            parent, 0, image_geometry=Geometry(width=640, height=480, orientation=6)
        )
        expect.equal(_geometry(task), (640, 480, 6), "the client's image_geometry over the image's")
        uri = _project(client, data.first, "LABEL_KIND_BOUNDING_BOX", "text")
        by_client = client.create_task(uri, 1, image_geometry=Geometry(width=10, height=20))
        expect.equal(_geometry(by_client), (10, 20, 0), "the client's image_geometry")
        updated = client.update_task(
            Task(name=task.name, image_geometry=Geometry(width=5, height=7, orientation=8)),
            "image_geometry",
        )
        expect.equal(_geometry(updated), (5, 7, 8), "image_geometry after an update")
        for bad in (
            Geometry(width=0, height=5),
            Geometry(width=5, height=0),
            Geometry(width=5, height=5, orientation=9),
            Geometry(width=-3, height=5, orientation=1),
            Geometry(width=5, height=5, orientation=-1),
        ):
            request = pb.CreateAnnotationTaskRequest(
                parent=parent, annotation_task=Task(row_index=2, image_geometry=bad)
            )
            expect.rejects(
                lambda request=request: client.call("CreateAnnotationTask", request),
                INVALID,
                "INVALID_FIELD",
                field=FIELD,
            )
            change = pb.UpdateAnnotationTaskRequest(
                annotation_task=Task(name=task.name, image_geometry=bad)
            )
            change.update_mask.paths.append("image_geometry")
            expect.rejects(
                lambda change=change: client.call("UpdateAnnotationTask", change),
                INVALID,
                "INVALID_FIELD",
                field=FIELD,
            )
        expect.equal(len(client.tasks(parent)), 1, "tasks after the refused creations")
        unchanged(updated, client.task(task.name), "the task after the refused updates")
