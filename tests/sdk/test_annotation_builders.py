"""The annotation SDK's builders, without a server: label schemas (`Label`), results
(`box`, `classification`, ... and `results_from` by schema), model references and decoders
of prediction jobs, `Task` rows and row selections."""

from __future__ import annotations

import copy
import pickle

import pyarrow as pa
import pytest

from lepton.data.v1 import annotation_project_pb2 as projects
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as tasks
from lepton.data.v1 import prediction_job_pb2 as jobs
from lepton_ai import Annotator, Label, box
from lepton_ai.annotation import (
    Decoder,
    Task,
    classification,
    inference_model,
    multi_label,
    polygon,
    rating,
    results_from,
    span,
    text,
)
from lepton_ai.annotation.prediction_jobs import decoder_for, prediction_job
from lepton_ai.annotation.request_fields import enum_value, masked
from lepton_ai.annotation.tasks import with_rows

Kind = projects.LabelKind
SCHEMA = [
    Label.classification("sentiment", ["pos", "neg"], source_column="text"),
    Label.multi_label("topics", ["price", "service"]),
    Label.bounding_box("objects", ["car", "person"], source_column="image"),
    Label.polygon("areas", ["road"], source_column="image"),
    Label.keypoint("joints", ["wrist"], source_column="image"),
    Label.span("entities", ["org"], source_column="text"),
    Label.text("caption"),
    Label.rating("quality", max_rating=4),
]


def test_label_helpers_build_the_label_specs_of_each_kind():
    kinds = [spec.kind for spec in SCHEMA]
    assert kinds == [
        Kind.LABEL_KIND_CLASSIFICATION,
        Kind.LABEL_KIND_MULTI_LABEL,
        Kind.LABEL_KIND_BOUNDING_BOX,
        Kind.LABEL_KIND_POLYGON,
        Kind.LABEL_KIND_KEYPOINT,
        Kind.LABEL_KIND_SPAN,
        Kind.LABEL_KIND_TEXT,
        Kind.LABEL_KIND_RATING,
    ]
    sentiment = SCHEMA[0]
    assert (sentiment.name, list(sentiment.classes), sentiment.source_column) == (
        "sentiment",
        ["pos", "neg"],
        "text",
    )
    assert SCHEMA[2].source_column == "image"
    assert (SCHEMA[6].classes, SCHEMA[6].max_rating) == ([], 0)
    assert (SCHEMA[7].classes, SCHEMA[7].max_rating) == ([], 4)
    assert Label.rating("stars").max_rating == 5


def test_classes_given_as_one_string_are_refused():
    with pytest.raises(TypeError, match="list of names"):
        Label.classification("sentiment", "pos")


def test_result_helpers_set_the_value_of_their_kind():
    result = box("objects", "car", 0.1, 0.2, 0.3, 0.4, score=0.9)
    assert result.label == "objects" and result.WhichOneof("value") == "bounding_box"
    assert (result.bounding_box.class_name, result.bounding_box.x, result.bounding_box.y) == (
        "car",
        0.1,
        0.2,
    )
    assert (result.bounding_box.width, result.bounding_box.height, result.score) == (
        0.3,
        0.4,
        0.9,
    )
    assert classification("sentiment", "pos").classification.class_name == "pos"
    assert list(multi_label("topics", ["price"]).multi_label.class_names) == ["price"]
    assert [
        (p.x, p.y) for p in polygon("areas", "road", [(0, 0), (1, 0), (1, 1)]).polygon.points
    ] == [
        (0, 0),
        (1, 0),
        (1, 1),
    ]
    assert (span("entities", "org", 3, 8).span.start, span("entities", "org", 3, 8).span.end) == (
        3,
        8,
    )
    assert rating("quality", 3).rating.rating == 3
    assert text("caption", "a cat").text.text == "a cat"


def test_results_from_reads_plain_values_by_the_kind_of_each_label():
    built = results_from(
        SCHEMA,
        {
            "sentiment": "pos",
            "topics": ["price", "service"],
            "objects": [("car", 0.1, 0.2, 0.3, 0.4), ("person", 0.5, 0.5, 0.1, 0.1)],
            "areas": ("road", [(0, 0), (1, 0), (1, 1)]),
            "joints": ("wrist", 0.5, 0.5),
            "entities": [("org", 0, 4)],
            "caption": "a red car",
            "quality": 3,
        },
    )
    assert [(r.label, r.WhichOneof("value")) for r in built] == [
        ("sentiment", "classification"),
        ("topics", "multi_label"),
        ("objects", "bounding_box"),
        ("objects", "bounding_box"),
        ("areas", "polygon"),
        ("joints", "keypoint"),
        ("entities", "span"),
        ("caption", "text"),
        ("quality", "rating"),
    ]
    assert built[3].bounding_box.class_name == "person"
    assert built[-1].rating.rating == 3


def test_results_from_keeps_label_results_and_rejects_unknown_labels():
    ready = box("objects", "car", 0.1, 0.1, 0.1, 0.1)
    assert results_from(SCHEMA, ready) == [ready]
    assert results_from(SCHEMA, [ready, ready]) == [ready, ready]
    assert results_from(SCHEMA, {"objects": ready}) == [ready]
    with pytest.raises(ValueError, match="no label 'colour'"):
        results_from(SCHEMA, {"colour": "red"})


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("sentiment", ("sentiment", "")),
        ("sentiment@3", ("sentiment", "3")),
        ("models/sentiment", ("sentiment", "")),
        ("models/sentiment@prod", ("sentiment", "prod")),
        ("models/sentiment/versions/3", ("sentiment", "3")),
        ("models/sentiment/aliases/prod", ("sentiment", "prod")),
    ],
)
def test_model_references_become_inference_model_names_and_versions(reference, expected):
    assert inference_model(reference) == expected


def test_a_model_version_pins_or_must_agree_with_the_reference():
    assert inference_model("models/m", "7") == ("m", "7")
    assert inference_model("models/m@7", "7") == ("m", "7")
    with pytest.raises(ValueError, match="names version"):
        inference_model("models/m@7", "8")
    for bad in ("models/", "models/m/versions", "m@", "datasets/d/versions/1"):
        with pytest.raises(ValueError, match="not a model reference"):
            inference_model(bad)


def test_an_output_name_becomes_the_decoder_of_the_labels_kind():
    assert decoder_for(SCHEMA[0], "probs") == jobs.ClassificationDecoder(output="probs")
    assert decoder_for(SCHEMA[1], "probs") == jobs.MultiLabelDecoder(output="probs")
    assert decoder_for(SCHEMA[6], "caption") == jobs.TextDecoder(output="caption")
    with pytest.raises(ValueError, match=r"Decoder\.bounding_box"):
        decoder_for(SCHEMA[2], "boxes")
    boxes = Decoder.bounding_box("boxes", "classes", "scores", min_score=0.3)
    assert decoder_for(SCHEMA[2], boxes) is boxes


def test_prediction_job_carries_model_bindings_and_decoder():
    job = prediction_job(
        "models/sentiment@prod",
        "sentiment",
        {"input_ids": "text"},
        Decoder.classification("logits", softmax=True),
        task_filter="state = NEW",
        batch_size=16,
    )
    assert (job.inference_model, job.inference_model_version, job.label) == (
        "sentiment",
        "prod",
        "sentiment",
    )
    assert [(b.tensor, b.column) for b in job.inputs] == [("input_ids", "text")]
    assert job.WhichOneof("decoder") == "classification"
    assert job.classification.apply_softmax
    assert (job.task_filter, job.batch_size) == ("state = NEW", 16)


def test_task_decodes_its_row_and_reads_like_its_message():
    table = pa.table({"id": [7], "text": ["great"]})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    message = tasks.AnnotationTask(
        name="annotationProjects/p/tasks/row-7",
        row_index=7,
        row=sink.getvalue().to_pybytes(),
        state=tasks.TASK_STATE_NEW,
    )
    task = Task.of(message)
    assert task.row.equals(table)
    assert (task.name, task.row_index, task.state) == (message.name, 7, tasks.TASK_STATE_NEW)
    assert "row-7" in repr(task) and "NEW" in repr(task)
    assert Task.of(tasks.AnnotationTask(name="x")).row is None


def test_rows_become_a_range_or_an_index_list():
    request = pb.BatchCreateAnnotationTasksRequest()
    assert with_rows(request, range(10, 20)) == 10
    assert request.row_range == pb.RowRange(offset=10, limit=10)
    request = pb.BatchCreateAnnotationTasksRequest()
    assert with_rows(request, [5, 1, 5]) == 2
    assert list(request.row_index_list.row_indices) == [1, 5]
    request = pb.BatchCreateAnnotationTasksRequest()
    assert with_rows(request, range(0, 10, 3)) == 4
    assert list(request.row_index_list.row_indices) == [0, 3, 6, 9]
    request = pb.BatchCreateAnnotationTasksRequest()
    assert with_rows(request, None) is None
    assert request.WhichOneof("rows") is None


def test_enum_names_and_masks():
    for name in ("completed", "COMPLETED", "TASK_STATE_COMPLETED"):
        assert enum_value(tasks.TaskState, "TASK_STATE_", name) == tasks.TASK_STATE_COMPLETED
    message = tasks.AnnotationTask()
    mask = masked(message, {"assignee": "", "state": None, "labels": {"a": "b"}})
    assert list(mask.paths) == ["assignee", "labels"]  # an empty value is still a change
    assert dict(message.labels) == {"a": "b"}


def test_an_annotator_needs_a_schema_or_a_project_and_a_model_for_its_model_options():
    with pytest.raises(ValueError, match="schema"):
        Annotator()
    with pytest.raises(ValueError, match="need model="):
        Annotator(schema=[SCHEMA[0]], export_to="datasets/out")
    with pytest.raises(ValueError, match="label=, inputs= and decoder="):
        Annotator(schema=SCHEMA, model="models/m", inputs={"x": "text"}, decoder="probs")
    single = Annotator(schema=[SCHEMA[0]], model="models/m", inputs={"x": "text"}, decoder="p")
    assert single.label == "sentiment"  # the schema's only label
    assert Annotator(project="annotationProjects/p").project == "annotationProjects/p"


def test_a_task_copies_and_pickles_as_a_task():
    task = Task.of(tasks.AnnotationTask(name="annotationProjects/p/tasks/row-1", row_index=1))
    assert copy.deepcopy(task) == task
    assert pickle.loads(pickle.dumps(task)) == task
    with pytest.raises(AttributeError):
        _ = task.no_such_field
