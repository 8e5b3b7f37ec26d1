"""Prediction jobs and annotation export jobs through the SDK. Against a reference server that
does not serve them (`lepton serve --services data,annotation`: no inference service for
prediction jobs to call) each prediction-job call raises a typed UnimplementedError with
reason FEATURE_NOT_SUPPORTED, and auto-annotation fails before it creates anything; an export
commits a version. Against one that hosts inference too, auto-annotation runs a prediction job
with a model of the conformance model set (skipped while the server lists no prediction
jobs)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from support.sdk_samples import unique
from support.servers import start_server

from lepton.data.v1 import annotation_task_pb2 as tasks
from lepton.type.v1 import job_pb2
from lepton_ai import AnnotationClient, Annotator, DataManager, Label, UnimplementedError
from lepton_ai.annotation import ANNOTATION_SERVICE, PREDICTION_JOBS_FEATURE, Decoder

SENTIMENT = Label.classification("sentiment", ["pos", "neg"], source_column="text")
TABLE = pa.table({"text": ["great", "awful"]})


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    root = tmp_path_factory.mktemp("annotation-jobs")
    server = start_server(["--services", "data,annotation"], root / "data")
    yield server.address
    server.stop()


@pytest.fixture
def data(address):
    with DataManager.connect(address, progress=False) as manager:
        yield manager


def _not_supported(raised: pytest.ExceptionInfo[UnimplementedError]) -> None:
    assert raised.value.reason == "FEATURE_NOT_SUPPORTED"


def test_the_server_lists_annotation_without_prediction_jobs(data):
    features = data.features(ANNOTATION_SERVICE)
    assert features is not None and "data.annotation" in features
    assert PREDICTION_JOBS_FEATURE not in features


def test_a_prediction_job_raises_feature_not_supported(data):
    dataset = unique("jobs")
    data.load_data(TABLE, dataset)
    project = data.annotate_data(dataset, Annotator(schema=[SENTIMENT]))
    with pytest.raises(UnimplementedError) as raised:
        project.predict(
            "models/sentiment@prod",
            label="sentiment",
            inputs={"text": "text"},
            decoder=Decoder.classification("probabilities"),
        )
    _not_supported(raised)
    with pytest.raises(UnimplementedError) as raised:
        list(project.client.prediction_jobs(project))
    _not_supported(raised)


def test_auto_annotation_fails_before_it_creates_a_project(data):
    dataset = unique("auto")
    version = data.load_data(TABLE, dataset)
    annotator = Annotator(
        schema=[SENTIMENT],
        model="models/sentiment@prod",
        inputs={"text": "text"},
        decoder="probabilities",
        accept=True,
        export_to=unique("labelled"),
    )
    with pytest.raises(UnimplementedError) as raised:
        data.annotate_data(dataset, annotator)
    _not_supported(raised)
    assert raised.value.metadata == {"feature": PREDICTION_JOBS_FEATURE}
    client = AnnotationClient(data.channel)  # the DataManager's channel: not closed here
    assert list(client.projects(filter=f'dataset_version = "{version.name}"')) == []


def test_an_export_commits_the_completed_tasks_as_a_version(data):
    dataset = unique("export")
    data.load_data(TABLE, dataset)
    project = data.annotate_data(dataset, Annotator(schema=[SENTIMENT]))
    for row, value in ((0, "pos"), (1, "neg")):
        project.client.create_annotation(project.task(row).name, {"sentiment": value})
    project.client.update_task(project.task(0).name, state="completed")
    destination = unique("labelled")
    version = project.export(destination, tags=["labelled"])
    assert version.lineage.source.startswith(f"{project.project.name}/exportJobs/")
    table = data.read(version.name)
    assert table.column("label.sentiment").to_pylist() == ["pos"]
    assert table.column("text").to_pylist() == ["great"]
    (job,) = project.client.export_jobs()
    assert job.output_version == version.name


# ------------------------------------------------------------- with an inference service

SCORES = pa.table(
    {"scores": pa.array([[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]], pa.list_(pa.float32()))}
)
ANIMAL = Label.classification("animal", ["cat", "dog"])


@pytest.fixture(scope="module")
def predicting(tmp_path_factory, model_repository):
    """A DataManager on a server hosting data, inference (the conformance model set) and
    annotation."""
    root = tmp_path_factory.mktemp("annotation-predictions")
    server = start_server(
        ["--services", "data,inference,annotation", "--model-repository", str(model_repository)],
        root / "data",
    )
    with DataManager.connect(server.address, progress=False) as manager:
        if PREDICTION_JOBS_FEATURE not in (manager.features(ANNOTATION_SERVICE) or ()):
            pytest.skip("the reference server does not serve prediction jobs yet")
        yield manager
    server.stop()


def test_auto_annotation_predicts_accepts_and_completes_the_confident_tasks(predicting):
    dataset = unique("scored")
    predicting.load_data(SCORES, dataset)
    project = predicting.annotate_data(
        dataset,
        Annotator(
            schema=[ANIMAL],
            model="identity_fp32",  # scores in, scores out: a stand-in classifier
            inputs={"INPUT0": "scores"},
            decoder="OUTPUT0",
            accept=True,
            min_score=0.6,
        ),
    )
    predictions = {p.name.split("/")[3]: p for p in project.predictions()}
    assert sorted(predictions) == ["row-0", "row-1", "row-2"]
    best = {row: p.results[0].classification.class_name for row, p in predictions.items()}
    assert best == {"row-0": "cat", "row-1": "dog", "row-2": "cat"}
    (job,) = project.client.prediction_jobs(project)
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED
    assert {p.prediction_job for p in predictions.values()} == {job.name}
    accepted = {a.source_prediction for a in project.annotations()}
    assert accepted == {predictions["row-0"].name, predictions["row-1"].name}
    completed = project.tasks(filter="state = COMPLETED")
    assert [t.row_index for t in completed] == [0, 1]
    assert project.project.task_counts.completed_count == 2
    rerun = project.predict(
        "identity_fp32", label="animal", inputs={"INPUT0": "scores"}, decoder="OUTPUT0"
    )
    assert (rerun.created_prediction_count, rerun.skipped_task_count) == (0, 3)
    assert project.task(2).state == tasks.TASK_STATE_NEW


def test_auto_annotation_with_export_to_returns_the_committed_version(predicting):
    dataset = unique("scored")
    predicting.load_data(SCORES, dataset)
    destination = unique("labelled")
    version = predicting.annotate_data(
        dataset,
        Annotator(
            schema=[ANIMAL],
            model="identity_fp32",
            inputs={"INPUT0": "scores"},
            decoder="OUTPUT0",
            accept=True,
            min_score=0.6,
            export_to=destination,
        ),
    )
    assert version.name.startswith(f"datasets/{destination.removeprefix('datasets/')}/versions/")
    table = predicting.read(version.name)
    assert table.column("label.animal").to_pylist() == ["cat", "dog"]
    assert table.column("annotation.source_prediction").null_count == 0
