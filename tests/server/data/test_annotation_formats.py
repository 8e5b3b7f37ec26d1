"""Label Studio JSON, COCO JSON and YOLO exports of annotation export versions on a real
server (spec/data.md §5.2, DAT-132 to DAT-138). The versions come from real annotation export
jobs; the files are read back by pycocotools, by Label Studio's own converter (run in its own
virtualenv, .venv-interop/interchange, which `make install` builds) and line by line."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pyarrow as pa
import pytest
from PIL import Image
from pycocotools.coco import COCO
from support.servers import start_server

from lepton.data.v1 import annotation_export_job_pb2 as ej
from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton.data.v1 import annotation_task_pb2 as at
from lepton.data.v1 import file_format_pb2 as ff
from lepton.type.v1 import job_pb2
from lepton_ai import InvalidArgumentError, JobFailedError
from lepton_ai.data import DataManager

REPO = Path(__file__).resolve().parents[3]
INTERCHANGE_PYTHON = REPO / ".venv-interop" / "interchange" / "bin" / "python"
READBACK = REPO / "interop" / "label_studio_readback.py"
SIZES = [(40, 20), (30, 50), (40, 20), (10, 10)]  # stored; row 2 has EXIF orientation 6
DISPLAYED = [(40, 20), (30, 50), (20, 40), (10, 10)]
BOXES = {
    0: [("cat", 0.1, 0.2, 0.3, 0.4), ("dog", 0.5, 0.25, 0.25, 0.5)],
    1: [],
    2: [("cat", 0.25, 0.125, 0.5, 0.25)],
}
TRIANGLE = [(0.1, 0.1), (0.9, 0.1), (0.5, 0.9)]
LABELS = [
    ap.LabelSpec(
        name="objects",
        kind=ap.LABEL_KIND_BOUNDING_BOX,
        source_column="image",
        classes=["cat", "dog"],
    ),
    ap.LabelSpec(
        name="outline", kind=ap.LABEL_KIND_POLYGON, source_column="image", classes=["cat"]
    ),
    ap.LabelSpec(
        name="points", kind=ap.LABEL_KIND_KEYPOINT, source_column="image", classes=["nose"]
    ),
    ap.LabelSpec(name="sentiment", kind=ap.LABEL_KIND_CLASSIFICATION, classes=["pos", "neg"]),
    ap.LabelSpec(name="topics", kind=ap.LABEL_KIND_MULTI_LABEL, classes=["a", "b"]),
    ap.LabelSpec(name="names", kind=ap.LABEL_KIND_SPAN, source_column="text", classes=["PER"]),
    ap.LabelSpec(name="note", kind=ap.LABEL_KIND_TEXT),
    ap.LabelSpec(name="quality", kind=ap.LABEL_KIND_RATING, max_rating=3),
]
LABEL_STUDIO_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="objects" toName="image">
    <Label value="cat"/><Label value="dog"/>
  </RectangleLabels>
</View>"""


def picture(width: int, height: int, *, orientation: int = 1) -> bytes:
    """A PNG, or with an EXIF orientation a JPEG carrying it, of `width` x `height` pixels."""
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), "gray")
    if orientation == 1:
        image.save(out, "PNG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


IMAGES = [
    picture(*SIZES[0]),
    picture(*SIZES[1]),
    picture(*SIZES[2], orientation=6),
    picture(*SIZES[3]),
]


@dataclass
class Exports:
    data: DataManager
    files: Path
    photos: str  # a plain version (no label columns)
    labelled: str  # the annotation export of the photos project
    links: str  # an annotation export whose images are URIs, every row with geometry
    links_partly: str  # the same with a row whose geometry is unknown
    address: str = ""  # the server's


def box_result(name: str, x: float, y: float, w: float, h: float) -> an.LabelResult:
    value = an.BoundingBoxValue(class_name=name, x=x, y=y, width=w, height=h)
    return an.LabelResult(label="objects", bounding_box=value)


class Annotator:
    """The annotation service as one principal."""

    def __init__(self, address: str) -> None:
        self.stub = pb_grpc.AnnotationServiceStub(grpc.insecure_channel(address))
        self.metadata = (("authorization", "Bearer ann"),)

    def __getattr__(self, name: str):
        method = getattr(self.stub, name)
        return lambda request: method(request, metadata=self.metadata)

    def project(self, project_id: str, version: str, specs: list[ap.LabelSpec]) -> str:
        project = ap.AnnotationProject(dataset_version=version, label_specs=specs)
        request = pb.CreateAnnotationProjectRequest(
            annotation_project_id=project_id, annotation_project=project
        )
        name = self.CreateAnnotationProject(request).annotation_project.name
        list(self.BatchCreateAnnotationTasks(pb.BatchCreateAnnotationTasksRequest(parent=name)))
        return name

    def annotate(self, task: str, *results: an.LabelResult) -> None:
        annotation = an.Annotation(results=results)
        self.CreateAnnotation(pb.CreateAnnotationRequest(parent=task, annotation=annotation))

    def update(self, task: str, mask: str, **fields) -> None:
        request = pb.UpdateAnnotationTaskRequest(
            annotation_task=at.AnnotationTask(name=task, **fields)
        )
        request.update_mask.paths.append(mask)
        self.UpdateAnnotationTask(request)

    def export(self, project: str, destination: str, states=()) -> str:
        job = ej.AnnotationExportJob(destination_dataset=destination, task_states=states)
        request = pb.CreateAnnotationExportJobRequest(parent=project, annotation_export_job=job)
        name = self.CreateAnnotationExportJob(request).annotation_export_job.name
        watch = self.stub.WatchAnnotationExportJob(
            pb.WatchAnnotationExportJobRequest(name=name), metadata=self.metadata
        )
        *_, last = watch
        done = last.annotation_export_job
        assert done.status.state == job_pb2.JOB_STATE_SUCCEEDED, done.status
        return done.output_version


def label_photos(annotator: Annotator, version: str) -> str:
    project = annotator.project("photos", version, LABELS)
    tasks = [f"{project}/tasks/row-{row}" for row in range(4)]
    polygon = an.PolygonValue(class_name="cat", points=[an.Point(x=x, y=y) for x, y in TRIANGLE])
    annotator.annotate(
        tasks[0],
        *(box_result(*box) for box in BOXES[0]),
        an.LabelResult(label="outline", polygon=polygon),
        an.LabelResult(label="points", keypoint=an.KeypointValue(class_name="nose", x=0.5, y=0.5)),
        an.LabelResult(label="sentiment", classification=an.ClassificationValue(class_name="pos")),
        an.LabelResult(label="topics", multi_label=an.MultiLabelValue(class_names=["a", "b"])),
        an.LabelResult(label="names", span=an.SpanValue(class_name="PER", start=0, end=3)),
        an.LabelResult(label="note", text=an.TextValue(text="two animals")),
        an.LabelResult(label="quality", rating=an.RatingValue(rating=3)),
    )
    annotator.annotate(
        tasks[1],
        an.LabelResult(label="sentiment", classification=an.ClassificationValue(class_name="neg")),
    )
    annotator.annotate(tasks[2], *(box_result(*box) for box in BOXES[2]))
    annotator.CreateAnnotation(  # row 3 is skipped: a row without an annotation
        pb.CreateAnnotationRequest(parent=tasks[3], annotation=an.Annotation(skipped=True))
    )
    for task in tasks:
        annotator.update(task, "state", state=at.TASK_STATE_COMPLETED)
    return project


def label_links(annotator: Annotator, version: str) -> str:
    spec = ap.LabelSpec(
        name="objects", kind=ap.LABEL_KIND_BOUNDING_BOX, source_column="uri", classes=["cat"]
    )
    project = annotator.project("links", version, [spec])
    for row in range(3):
        task = f"{project}/tasks/row-{row}"
        annotator.annotate(task, box_result("cat", 0.5, 0.5, 0.25, 0.5))
        if row < 2:  # row 2 has no geometry and stays in progress
            geometry = at.ImageGeometry(width=100, height=50, orientation=1)
            annotator.update(task, "image_geometry", image_geometry=geometry)
            annotator.update(task, "state", state=at.TASK_STATE_COMPLETED)
    return project


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Iterator[Exports]:
    root = tmp_path_factory.mktemp("annotation-formats")
    files = root / "files"
    files.mkdir()
    (root / "tokens").write_text("ann alice\n")
    process = start_server(
        [
            "--services",
            "data,annotation",
            "--auth-tokens",
            str(root / "tokens"),
            "--file-root",
            str(files),
        ],
        root / "data",
    )
    data = DataManager.connect(process.address, token="ann", progress=False)
    try:
        texts = ["Ann met Bob", "nothing here", "rotated", "skipped"]
        photos = data.load_data(pa.table({"text": texts, "image": IMAGES}), "datasets/photos")
        uris = ["s3://bucket/cats/a.png", "s3://bucket/cats/b.jpg", "s3://bucket/c.png"]
        links = data.load_data(pa.table({"uri": uris}), "datasets/links")
        for dataset in ("labelled", "linked"):
            data.create_dataset(dataset, exist_ok=True)
        annotator = Annotator(process.address)
        photos_project = label_photos(annotator, photos.name)
        links_project = label_links(annotator, links.name)
        yield Exports(
            data=data,
            files=files,
            photos=photos.name,
            labelled=annotator.export(photos_project, "datasets/labelled"),
            links=annotator.export(links_project, "datasets/linked"),
            links_partly=annotator.export(
                links_project,
                "datasets/linked",
                states=[at.TASK_STATE_COMPLETED, at.TASK_STATE_IN_PROGRESS],
            ),
            address=process.address,
        )
    finally:
        data.close()
        process.stop()


def pixels(box: tuple, size: tuple[int, int]) -> list[float]:
    _, x, y, w, h = box
    width, height = size
    return [x * width, y * height, w * width, h * height]


def test_coco_is_read_by_pycocotools_in_pixels_of_the_displayed_image(exports):
    target = exports.files / "photos.coco.json"
    written = exports.data.save_data(exports.labelled, target.as_uri(), format="coco")
    assert written == [target.as_uri()]
    coco = COCO(str(target))
    images = coco.loadImgs(coco.getImgIds())
    assert [(i["id"], i["width"], i["height"]) for i in images] == [
        (row + 1, *DISPLAYED[row]) for row in range(4)
    ]
    assert [i["file_name"] for i in images] == ["row-0.png", "row-1.png", "row-2.jpg", "row-3.png"]
    assert coco.loadCats(coco.getCatIds()) == [
        {"id": 1, "name": "cat", "supercategory": "objects"},
        {"id": 2, "name": "dog", "supercategory": "objects"},
    ]
    for row in range(4):
        found = coco.loadAnns(coco.getAnnIds(imgIds=[row + 1]))
        expected = BOXES.get(row, [])
        assert [a["bbox"] for a in found] == [pixels(b, DISPLAYED[row]) for b in expected]
        assert [coco.cats[a["category_id"]]["name"] for a in found] == [b[0] for b in expected]
        assert all(a["iscrowd"] == 0 and a["area"] == a["bbox"][2] * a["bbox"][3] for a in found)
    # The rotated JPEG (stored 40x20, orientation 6) is 20 wide and 40 high as displayed.
    assert (coco.imgs[3]["width"], coco.imgs[3]["height"]) == (20, 40)
    assert coco.loadAnns(coco.getAnnIds(imgIds=[3]))[0]["bbox"] == [5.0, 5.0, 10.0, 10.0]


def test_coco_of_polygon_and_keypoint_labels_in_parts(exports):
    columns = ["image", "annotation.task", "annotation.image_width", "annotation.image_height"]
    columns += ["annotation.image_orientation"]
    target = exports.files / "outline"
    written = exports.data.save_data(
        exports.labelled,
        target.as_uri() + "/",
        format="coco",
        columns=[*columns, "label.outline"],
        max_rows_per_file=2,
    )
    assert [uri.rsplit("/", 1)[1] for uri in written] == ["part-00000.json", "part-00001.json"]
    coco = COCO(str(target / "part-00000.json"))
    (polygon,) = coco.loadAnns(coco.getAnnIds())
    assert polygon["image_id"] == 1
    assert polygon["segmentation"] == [[4.0, 2.0, 36.0, 2.0, 20.0, 18.0]]
    assert polygon["bbox"] == [4.0, 2.0, 32.0, 16.0]
    assert polygon["area"] == 256.0
    assert coco.annToRLE(polygon)["size"] == [20, 40]  # pycocotools reads the polygon
    second = COCO(str(target / "part-00001.json"))
    assert sorted(second.imgs) == [3, 4]  # ids continue across parts
    assert second.dataset["annotations"] == []
    points = exports.files / "points.coco.json"
    exports.data.save_data(
        exports.labelled, points.as_uri(), format="coco", columns=[*columns, "label.points"]
    )
    coco = COCO(str(points))
    assert coco.dataset["categories"] == [
        {"id": 1, "name": "nose", "supercategory": "points", "keypoints": ["nose"], "skeleton": []}
    ]
    (point,) = coco.loadAnns(coco.getAnnIds())
    assert (point["keypoints"], point["num_keypoints"]) == ([20.0, 10.0, 2], 1)


def test_coco_names_uri_images_and_needs_their_geometry(exports):
    target = exports.files / "links.coco.json"
    exports.data.save_data(exports.links, target.as_uri(), format="coco")
    coco = COCO(str(target))
    assert [(i["file_name"], i["width"], i["height"]) for i in coco.dataset["images"]] == [
        ("s3://bucket/cats/a.png", 100, 50),
        ("s3://bucket/cats/b.jpg", 100, 50),
    ]
    assert [a["bbox"] for a in coco.dataset["annotations"]] == [[50.0, 25.0, 25.0, 25.0]] * 2
    failing = exports.files / "partly.coco.json"
    with pytest.raises(JobFailedError) as raised:
        exports.data.save_data(exports.links_partly, failing.as_uri(), format="coco")
    assert (raised.value.code, raised.value.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "SCHEMA_MISMATCH",
    )
    assert not failing.exists()


def test_label_studio_tasks_have_documented_result_shapes(exports):
    target = exports.files / "photos.label-studio.json"
    exports.data.save_data(exports.labelled, target.as_uri(), format="label-studio")
    tasks = json.loads(target.read_text())
    assert [t["id"] for t in tasks] == [1, 2, 3, 4]
    first = tasks[0]
    assert first["data"]["text"] == "Ann met Bob"
    assert first["data"]["image"].startswith("data:image/png;base64,")
    assert tasks[2]["data"]["image"].startswith("data:image/jpeg;base64,")
    assert first["meta"]["lepton_task"].endswith("/tasks/row-0")
    assert first["meta"]["lepton_row_index"] == 0
    (annotation,) = first["annotations"]
    assert (annotation["completed_by"], annotation["ground_truth"]) == ("alice", False)
    by_type: dict[str, list[dict]] = {}
    for result in annotation["result"]:
        by_type.setdefault(result["type"], []).append(result)
    boxes = by_type["rectanglelabels"]
    assert [(r["from_name"], r["to_name"]) for r in boxes] == [("objects", "image")] * 2
    assert (boxes[0]["original_width"], boxes[0]["original_height"]) == (40, 20)
    value = dict(boxes[0]["value"])
    assert value.pop("rectanglelabels") == ["cat"]
    assert value == pytest.approx({"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0})
    points = by_type["polygonlabels"][0]["value"]["points"]
    assert [c for point in points for c in point] == pytest.approx([10, 10, 90, 10, 50, 90])
    assert by_type["keypointlabels"][0]["value"]["x"] == 50
    choices = [r["value"]["choices"] for r in by_type["choices"]]
    assert choices == [["pos"], ["a", "b"]]
    assert by_type["choices"][0]["to_name"] == "text"
    span = by_type["labels"][0]
    assert (span["to_name"], span["value"]) == (
        "text",
        {"start": 0, "end": 3, "text": "Ann", "labels": ["PER"]},
    )
    assert by_type["textarea"][0]["value"] == {"text": ["two animals"]}
    assert by_type["rating"][0]["value"] == {"rating": 3}
    assert len({r["id"] for r in annotation["result"]}) == len(annotation["result"])
    rotated = tasks[2]["annotations"][0]["result"][0]
    assert (rotated["original_width"], rotated["original_height"]) == (20, 40)
    assert tasks[3]["annotations"] == []  # skipped: no annotation
    assert [r["type"] for r in tasks[1]["annotations"][0]["result"]] == ["choices"]
    # Stable: the same version exports the same bytes.
    again = exports.files / "again.label-studio.json"
    exports.data.save_data(exports.labelled, again.as_uri(), format="label-studio")
    assert again.read_bytes() == target.read_bytes()


@pytest.mark.skipif(
    not INTERCHANGE_PYTHON.exists(),
    reason="no .venv-interop/interchange: `make install` (or `make test`) builds it",
)
def test_label_studio_converter_reads_the_boxes_back(exports):
    target = exports.files / "readback.label-studio.json"
    exports.data.save_data(exports.labelled, target.as_uri(), format="label-studio")
    request = {"config": LABEL_STUDIO_CONFIG, "input": str(target), "format": "COCO"}
    done = subprocess.run(
        [str(INTERCHANGE_PYTHON), str(READBACK)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    converted = json.loads(done.stdout)
    names = {c["id"]: c["name"] for c in converted["categories"]}
    assert [(i["width"], i["height"]) for i in converted["images"] if i["width"]] == [
        DISPLAYED[0],
        DISPLAYED[2],
    ]
    by_image: dict[int, list] = {}
    for annotation in converted["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    for row, expected in BOXES.items():
        found = by_image.get(row, [])
        assert [names[a["category_id"]] for a in found] == [b[0] for b in expected]
        for annotation, box in zip(found, expected, strict=True):
            assert annotation["bbox"] == pytest.approx(pixels(box, DISPLAYED[row]))


def test_yolo_writes_classes_labels_and_images(exports):
    target = exports.files / "yolo"
    written = exports.data.save_data(exports.labelled, target.as_uri() + "/", format="yolo")
    names = [uri.removeprefix(target.as_uri() + "/") for uri in written]
    assert names == [
        "classes.txt",
        "labels/row-0.txt",
        "images/row-0.png",
        "labels/row-1.txt",
        "images/row-1.png",
        "labels/row-2.txt",
        "images/row-2.jpg",
    ]
    assert (target / "classes.txt").read_text() == "cat\ndog\n"
    assert (target / "labels/row-0.txt").read_text() == (
        "0 0.250000 0.400000 0.300000 0.400000\n1 0.625000 0.500000 0.250000 0.500000\n"
    )
    assert (target / "labels/row-1.txt").read_text() == ""
    assert (target / "labels/row-2.txt").read_text() == "0 0.500000 0.250000 0.500000 0.250000\n"
    assert (target / "images/row-2.jpg").read_bytes() == IMAGES[2]
    links = exports.files / "yolo-links"
    exports.data.save_data(exports.links, links.as_uri() + "/", format="yolo")
    assert sorted(p.name for p in (links / "labels").iterdir()) == ["a.txt", "b.txt"]
    assert not (links / "images").exists()


def test_annotation_formats_are_checked_at_creation(exports):
    def reason(call, *args, **kwargs) -> tuple[str, list[str]]:
        with pytest.raises(InvalidArgumentError) as raised:
            call(*args, **kwargs)
        return raised.value.reason, [f for f, _ in raised.value.field_violations]

    files, data = exports.files, exports.data
    for name in ("coco", "label-studio", "yolo"):
        destination = (files / f"plain-{name}").as_uri() + ("/" if name == "yolo" else ".json")
        assert reason(data.save_data, exports.photos, destination, format=name) == (
            "SCHEMA_MISMATCH",
            ["export_job.format"],
        )
    to_file = (files / "yolo.txt").as_uri()
    assert reason(data.save_data, exports.labelled, to_file, format="yolo") == (
        "INVALID_FIELD",
        ["export_job.destination_uri"],
    )
    gzip = ff.FormatSpec(format=ff.FILE_FORMAT_COCO_JSON, compression=ff.COMPRESSION_GZIP)
    to_json = (files / "c.json").as_uri()
    assert reason(data.save_data, exports.labelled, to_json, format=gzip) == (
        "INVALID_FIELD",
        ["export_job.format.compression"],
    )
    (files / "in.json").write_text("[]")
    source = (files / "in.json").as_uri()
    assert reason(data.load_data, source, "datasets/imported", format="coco") == (
        "INVALID_FIELD",
        ["import_job.format.format"],
    )
    with pytest.raises(ValueError, match="export-only"):
        data.save_data(exports.labelled, files / "local.json", format="coco")


def test_a_label_studio_export_imports_back_with_boxes_geometry_and_attribution(exports):
    """The round trip: the export written as Label Studio JSON, read into a new project over
    the same rows, holds the same results, on tasks of the same geometry, by the same
    annotator."""
    path = exports.files / "round-trip.json"
    exports.data.save_data(exports.labelled, path.as_uri(), format="label-studio")
    annotator = Annotator(exports.address)
    project = annotator.project("photos-again", exports.photos, LABELS)
    response = annotator.ImportAnnotations(
        pb.ImportAnnotationsRequest(
            parent=project,
            format=pb.ANNOTATION_IMPORT_FORMAT_LABEL_STUDIO_JSON,
            content=path.read_bytes(),
            match_column="text",
        )
    )
    assert (response.annotation_count, response.unmatched_count) == (3, 0)
    original = {
        a.name.split("/")[3]: a for a in _annotations(annotator, "annotationProjects/photos")
    }
    imported = {a.name.split("/")[3]: a for a in _annotations(annotator, project)}
    assert sorted(imported) == ["row-0", "row-1", "row-2"]
    for row, again in imported.items():
        before = original[row]
        assert (again.external_author, again.creator) == (before.creator, "alice")
        assert [r.label for r in again.results] == [r.label for r in before.results]
        for was, now in zip(before.results, again.results, strict=True):
            if was.HasField("bounding_box"):
                for side in ("x", "y", "width", "height"):
                    assert getattr(now.bounding_box, side) == pytest.approx(
                        getattr(was.bounding_box, side), abs=1e-12
                    )
            elif was.HasField("polygon"):
                assert now.polygon.class_name == was.polygon.class_name
                points = [c for q in now.polygon.points for c in (q.x, q.y)]
                assert points == pytest.approx([c for q in was.polygon.points for c in (q.x, q.y)])
            elif was.HasField("keypoint"):
                assert (now.keypoint.x, now.keypoint.y) == pytest.approx(
                    (was.keypoint.x, was.keypoint.y)
                )
            else:
                assert now == was
        task = annotator.GetAnnotationTask(
            pb.GetAnnotationTaskRequest(name=f"{project}/tasks/{row}")
        ).annotation_task
        assert (
            task.image_geometry
            == annotator.GetAnnotationTask(
                pb.GetAnnotationTaskRequest(name=f"annotationProjects/photos/tasks/{row}")
            ).annotation_task.image_geometry
        )


def _annotations(annotator: Annotator, project: str) -> list[an.Annotation]:
    request = pb.ListAnnotationsRequest(parent=f"{project}/tasks/-", filter="skipped = false")
    return list(annotator.ListAnnotations(request).annotations)
