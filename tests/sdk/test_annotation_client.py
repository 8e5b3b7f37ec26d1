"""The annotation SDK (AnnotationClient, Annotator, DataManager.annotate_data) against a real
`lepton serve --services data,annotation` on loopback that requires tokens, so that every
annotation, prediction and review is attributed to the principal of the caller's token:
alice holds the DataManager (and the projects it opens), bob a client of his own."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image, ImageOps
from support.sdk_samples import unique
from support.servers import start_server

from lepton.data.v1 import annotation_pb2 as values
from lepton.data.v1 import annotation_task_pb2 as tasks
from lepton_ai import (
    AnnotationClient,
    AnnotationProjectHandle,
    Annotator,
    DataManager,
    Label,
    box,
    to_pixels,
)
from lepton_ai.annotation import classification
from lepton_ai.errors import (
    AbortedError,
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnauthenticatedError,
)

REVIEWS = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "text": ["great food", "slow service", "awful", "fine"],
    }
)
SENTIMENT = Label.classification("sentiment", ["pos", "neg"], source_column="text")
State = tasks.TaskState


@pytest.fixture(scope="module")
def address(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("annotation")
    tokens = root / "tokens"
    tokens.write_text("alice-token alice\nbob-token bob\n")
    server = start_server(
        ["--services", "data,annotation", "--auth-tokens", str(tokens)], root / "data"
    )
    yield server.address
    server.stop()


@pytest.fixture
def data(address):
    with DataManager.connect(address, token="alice-token", progress=False) as manager:
        yield manager


@pytest.fixture
def bob(address):
    with AnnotationClient.connect(address, token="bob-token", progress=False) as client:
        yield client


def _dataset(data: DataManager, table: pa.Table = REVIEWS) -> str:
    dataset = unique("reviews")
    data.load_data(table, dataset)
    return dataset


def _project(data: DataManager, **options) -> AnnotationProjectHandle:
    options.setdefault("schema", [SENTIMENT])
    return data.annotate_data(_dataset(data), Annotator(**options))


# ------------------------------------------------------------------------ opening projects


def test_annotate_data_opens_a_project_with_one_task_per_row(data):
    dataset = _dataset(data)
    project = data.annotate_data(dataset, Annotator(schema=[SENTIMENT], instructions="Be fair."))
    assert isinstance(project, AnnotationProjectHandle)
    assert project.name.startswith(f"annotationProjects/{dataset}-")
    assert project.project.dataset_version == data.get_version(dataset).name
    assert project.project.instructions == "Be fair."
    assert project.schema == [SENTIMENT]
    counts = project.project.task_counts
    assert (counts.total_count, counts.new_count) == (4, 4)
    assert [t.name for t in project.tasks()] == [f"{project.name}/tasks/row-{i}" for i in range(4)]
    assert project.client.channel is data.channel  # same address, TLS and token


def test_annotate_data_takes_a_tag_a_version_message_and_a_selection_of_rows(data):
    dataset = _dataset(data)
    version = data.tag(dataset, "raw").version
    by_tag = data.annotate_data(dataset, Annotator(schema=[SENTIMENT], rows=range(1, 3)), tag="raw")
    assert by_tag.project.dataset_version == version
    assert [t.row_index for t in by_tag.tasks()] == [1, 2]
    project_id = unique("picked")
    picked = data.annotate_data(
        data.get_version(version), Annotator(schema=[SENTIMENT], rows=[3, 0], project_id=project_id)
    )
    assert picked.name == f"annotationProjects/{project_id}"
    assert [t.row_index for t in picked.tasks()] == [0, 3]


def test_a_project_grows_over_a_later_version_of_its_dataset(data):
    dataset = _dataset(data)
    project = data.annotate_data(dataset, Annotator(schema=[SENTIMENT]))
    later = data.load_data(pa.table({"id": [5, 6], "text": ["ok", "bad"]}), dataset, mode="append")
    grown = data.annotate_data(dataset, Annotator(project=project.name, rows=range(4, 6)))
    assert grown.name == project.name
    version_id = later.name.rsplit("/", 1)[1]
    added = list(grown.tasks(filter=f'dataset_version = "{later.name}"', with_rows=True))
    assert [t.name for t in added] == [f"{project.name}/tasks/{version_id}-row-{i}" for i in (4, 5)]
    assert added[1].row.column("text").to_pylist() == ["bad"]
    assert grown.project.task_counts.total_count == 6
    assert grown.task(0).row.column("text").to_pylist() == ["great food"]


def test_batch_creation_skips_rows_that_have_a_task(data):
    project = _project(data, rows=range(0, 2))
    client = project.client
    assert [t.row_index for t in client.batch_create_tasks(project, range(0, 4))] == [2, 3]
    assert client.batch_create_tasks(project) == []
    with pytest.raises(AlreadyExistsError):
        client.create_task(project, 1)


# ------------------------------------------------------------------ leases and annotations


def test_an_acquired_task_carries_its_row_and_the_callers_lease(data):
    project = _project(data)
    before = datetime.now(timezone.utc)
    task = project.next_task(lease_duration=timedelta(minutes=2))
    assert task.name.endswith("/tasks/row-0")
    assert task.row.equals(REVIEWS.slice(0, 1))
    assert [lease.holder for lease in task.leases] == ["alice"]
    assert before + timedelta(minutes=2) <= task.lease_expire_time
    assert task.lease_expire_time <= datetime.now(timezone.utc) + timedelta(minutes=2)
    assert project.next_task(lease_duration=60).name == task.name  # the same lease, renewed
    assert list(project.release(task).leases) == []
    with pytest.raises(FailedPreconditionError) as raised:
        project.release(task)
    assert raised.value.reason == "LEASE_NOT_HELD"


def test_an_annotation_is_created_by_the_principal_of_the_token(data):
    project = _project(data)
    task = project.next_task()
    annotation = project.annotate(task, {"sentiment": "pos"}, lead_duration=12.5)
    assert annotation.creator == "alice"
    assert annotation.lead_duration.ToTimedelta() == timedelta(seconds=12.5)
    assert [r.classification.class_name for r in annotation.results] == ["pos"]
    after = project.task(task.name)
    assert (after.state, list(after.leases), after.annotator_count) == (
        State.TASK_STATE_IN_PROGRESS,
        [],
        1,
    )
    assert [a.name for a in project.annotations(filter='creator = "alice"')] == [annotation.name]
    assert list(project.annotations(filter='creator = "bob"')) == []


def test_an_annotation_is_updated_conditionally_and_deleted(data):
    project = _project(data)
    client = project.client
    annotation = project.annotate(project.task(0), {"sentiment": "pos"})
    changed = client.update_annotation(
        annotation, results={"sentiment": "neg"}, etag=annotation.etag
    )
    assert [r.classification.class_name for r in changed.results] == ["neg"]
    with pytest.raises(AbortedError) as raised:
        client.update_annotation(annotation, ground_truth=True, etag=annotation.etag)
    assert raised.value.reason == "ETAG_MISMATCH"
    client.delete_annotation(changed)
    with pytest.raises(NotFoundError):
        client.get_annotation(changed.name)


def test_a_result_outside_the_schema_is_a_label_schema_mismatch(data):
    project = _project(data)
    with pytest.raises(InvalidArgumentError) as raised:
        project.annotate(project.task(0), [classification("sentiment", "meh")])
    assert raised.value.reason == "LABEL_SCHEMA_MISMATCH"
    assert raised.value.field_violations[0][0].startswith("annotation.results[0]")
    with pytest.raises(ValueError, match="no label 'colour'"):
        project.annotate(project.task(0), {"colour": "red"})


def test_task_states_follow_the_lifecycle(data):
    project = _project(data)
    client = project.client
    with pytest.raises(FailedPreconditionError) as raised:
        project.complete(project.task(0))
    assert raised.value.reason == "TASK_HAS_NO_ANNOTATIONS"
    project.annotate(project.task(0), {"sentiment": "neg"})
    assert project.complete(project.task(0)).state == State.TASK_STATE_COMPLETED
    with pytest.raises(FailedPreconditionError) as raised:
        client.update_task(project.task(0), state="new")
    assert raised.value.reason == "INVALID_TASK_TRANSITION"
    assert raised.value.metadata["from"].endswith("COMPLETED")
    assignee = client.update_task(project.task(1), assignee="carol", labels={"batch": "1"})
    assert (assignee.assignee, dict(assignee.labels)) == ("carol", {"batch": "1"})
    assert [t.row_index for t in project.tasks(filter="state = NEW")] == [1, 2, 3]
    assert [t.row_index for t in project.tasks(filter='assignee = "carol"')] == [1]
    assert client.get_task(project.task(1), with_row=False).row is None


# ---------------------------------------------------------------------------- predictions


def test_accepted_predictions_become_annotations_of_the_caller_that_name_their_source(data, bob):
    project = _project(data)
    first, second = project.task(0), project.task(1)
    confident = project.add_prediction(
        first, [classification("sentiment", "pos", score=0.9)], model="models/sentiment@3"
    )
    assert (confident.inference_model, confident.inference_model_version) == ("sentiment", "3")
    assert (confident.score, confident.creator, confident.prediction_job) == (0.9, "alice", "")
    project.add_prediction(second, {"sentiment": "neg"}, model="sentiment", version="3", score=0.4)

    accepted = bob.accept_predictions(project.name, min_score=0.5, complete_tasks=True)
    assert (accepted.accepted_count, accepted.already_accepted_count) == (1, 0)
    (annotation,) = bob.annotations(first)
    assert (annotation.creator, annotation.source_prediction) == ("bob", confident.name)
    assert [(r.classification.class_name, r.score) for r in annotation.results] == [("pos", 0.0)]
    assert bob.get_task(first).state == State.TASK_STATE_COMPLETED
    assert list(bob.annotations(second)) == []
    again = bob.accept_predictions(project.name, min_score=0.5)
    assert (again.accepted_count, again.already_accepted_count) == (0, 1)
    assert bob.get_prediction(confident.name) == confident  # predictions never change
    assert next(project.predictions(order_by="score desc")).name == confident.name


def test_the_least_confident_task_is_handed_out_first(data):
    project = _project(data)
    project.add_prediction(project.task(2), {"sentiment": "pos"}, model="m@1", score=0.8)
    project.add_prediction(project.task(3), {"sentiment": "neg"}, model="m@1", score=0.3)
    task = project.next_task()
    assert (task.row_index, task.prediction_score) == (3, 0.3)


# ------------------------------------------------------------------ reviews and agreement


def test_a_rejecting_review_by_another_principal_sends_the_task_back(data, bob):
    project = _project(data)
    annotation = project.annotate(project.task(0), {"sentiment": "pos"})
    project.complete(project.task(0))
    with pytest.raises(FailedPreconditionError) as raised:
        project.review(annotation, "rejected")
    assert raised.value.reason == "SELF_REVIEW"
    review = bob.create_review(annotation, "rejected", comment="it is a complaint")
    assert (review.creator, review.verdict) == ("bob", values.REVIEW_VERDICT_REJECTED)
    assert project.task(0).state == State.TASK_STATE_REJECTED
    assert bob.get_annotation(annotation.name).review_verdict == values.REVIEW_VERDICT_REJECTED
    assert [r.name for r in bob.reviews(annotation)] == [review.name]


def test_agreement_of_two_annotators_who_acquire_their_tasks(data, bob):
    project = _project(data, required_annotation_count=2)
    alice_says = {0: "pos", 1: "pos", 2: "neg", 3: "neg"}
    bob_says = {0: "pos", 1: "neg", 2: "neg", 3: "neg"}
    while (task := project.next_task()) is not None:
        project.annotate(task, {"sentiment": alice_says[task.row_index]})
    while (task := bob.acquire_next_task(project)) is not None:
        bob.create_annotation(task, {"sentiment": bob_says[task.row_index]})
    assert project.refresh().task_counts.in_progress_count == 4

    sentiment = project.agreement()["sentiment"]
    assert (sentiment.task_count, sentiment.annotator_count) == (4, 2)
    (pair,) = sentiment.pairs
    assert (pair.first, pair.second, pair.task_count) == ("alice", "bob", 4)
    # p_o = 3/4; p_e = 1/2 * 1/4 + 1/2 * 3/4 = 1/2; kappa = (3/4 - 1/2) / (1 - 1/2).
    assert pair.cohen_kappa == pytest.approx(0.5)
    # P-bar = 3/4, P_e = (3/8)^2 + (5/8)^2 = 17/32; kappa = (3/4 - 17/32) / (15/32) = 7/15.
    assert sentiment.fleiss_kappa == pytest.approx(7 / 15)
    assert [a.annotator for a in sentiment.annotators] == ["alice", "bob"]
    assert not sentiment.HasField("box_f1")


def test_the_schema_grows_by_appending_labels_and_classes(data):
    project = _project(data)
    other_handle = AnnotationProjectHandle(project.client, project.project)
    extended = project.extend_schema(
        [Label.rating("quality", max_rating=3)], classes={"sentiment": ["mixed"]}
    )
    assert [s.name for s in extended.label_specs] == ["sentiment", "quality"]
    assert list(extended.label_specs[0].classes) == ["pos", "neg", "mixed"]
    # A handle read before the change learns the new label when it first meets it.
    annotation = other_handle.annotate(other_handle.task(0), {"sentiment": "mixed", "quality": 3})
    assert [r.WhichOneof("value") for r in annotation.results] == ["classification", "rating"]


def test_projects_are_listed_updated_and_deleted(data):
    project = _project(data)
    client = project.client
    version = project.project.dataset_version
    listed = list(client.projects(filter=f'dataset_version = "{version}"'))
    assert [p.name for p in listed] == [project.name]
    updated = client.update_project(project, display_name="Reviews", etag=project.project.etag)
    assert updated.display_name == "Reviews"
    with pytest.raises(FailedPreconditionError) as raised:
        project.delete()
    assert raised.value.reason == "PROJECT_NOT_EMPTY"
    project.delete(force=True)
    with pytest.raises(NotFoundError):
        client.get_project(project.name)


def test_a_client_without_a_token_is_unauthenticated(address):
    with AnnotationClient.connect(address) as anonymous, pytest.raises(UnauthenticatedError):
        list(anonymous.projects())


# ----------------------------------------------------------------------- image geometry


def _image(width: int, height: int, orientation: int) -> bytes:
    """A PNG of `width` x `height` stored pixels with a white block, tagged with an EXIF
    orientation."""
    pixels = np.zeros((height, width), dtype=np.uint8)
    pixels[8:24, 16:40] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif.tobytes())
    return buffer.getvalue()


def test_a_box_on_a_rotated_image_converts_to_the_pixels_a_viewer_shows(data):
    encoded = _image(64, 32, 6)  # to be shown rotated 90 degrees clockwise: 32 x 64
    dataset = _dataset(data, pa.table({"image": pa.array([encoded], pa.binary())}))
    label = Label.bounding_box("objects", ["block"], source_column="image")
    project = data.annotate_data(dataset, Annotator(schema=[label]))
    task = project.task(0)
    assert task.image_geometry == tasks.ImageGeometry(width=64, height=32, orientation=6)

    shown = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(encoded))))
    ys, xs = np.nonzero(shown)
    height, width = shown.shape
    x, y, w, h = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    drawn = box("objects", "block", x / width, y / height, w / width, h / height)
    (stored,) = project.annotate(task, [drawn]).results
    assert (width, height) == (32, 64)
    assert to_pixels(stored, task) == pytest.approx((x, y, w, h))
    assert to_pixels(stored, task, stored=True) == pytest.approx((16, 8, 24, 16))
