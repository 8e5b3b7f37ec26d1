"""TrainingService end to end on a real server hosting data, registry and training, through
the SDK's TrainingClient: the lifecycle of spec/training.md (success, cancel before and
during a run with no process left, pause and resume from the pause checkpoint, restarts),
streams, checkpoints, output, registration into the registry, and the errors of create."""

from __future__ import annotations

import json
import sys
import time

import grpc
import numpy as np
import pyarrow as pa
import pytest
import tritonclient.grpc as triton
from support.servers import start_server
from support.training_attempts import job_processes

from lepton.registry.v1 import model_version_pb2
from lepton.training.v1 import checkpoint_pb2
from lepton.training.v1 import training_job_pb2 as tj
from lepton.training.v1 import training_service_pb2 as pb
from lepton.training.v1 import training_service_pb2_grpc as pb_grpc
from lepton.type.v1 import job_pb2
from lepton.type.v1.model_format_pb2 import ModelFormat
from lepton_ai import (
    DataManager,
    InvalidArgumentError,
    JobFailedError,
    ModelRegistry,
    NotFoundError,
    PermissionDeniedError,
    Trainer,
    TrainingClient,
)

S = job_pb2
CONFORMANCE = "lepton.conformance"
PEOPLE = pa.table({"age": [31.0, 45.0, 27.0, 52.0], "churned": [0, 1, 0, 1]})


def _customers(rows: int = 300) -> pa.Table:
    rng = np.random.default_rng(1)
    spend = rng.uniform(0, 500, rows)
    churned = ((spend < 150) ^ (rng.random(rows) < 0.1)).astype(np.int64)
    return pa.table({"age": rng.integers(18, 80, rows), "spend": spend, "churned": churned})


SECRET = "hunter2-very-secret"
SCRIPT = """
import os, sys
from lepton_ai.training import report
rows = report.data("train").num_rows
print(f"rows={rows} loss={1 / rows} token={os.environ['API_TOKEN']}", flush=True)
report.metric("train/rows", rows, step=1)
(report.output_dir() / "model.txt").write_text(os.environ["GREETING"])
report.output("model.txt", framework="script")
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("training")
    (directory / "files" / "project").mkdir(parents=True)
    (directory / "files" / "project" / "train.py").write_text(SCRIPT)
    (directory / "secrets.json").write_text(json.dumps({"api-token": SECRET}))
    return directory


@pytest.fixture(scope="module")
def server(data_dir):
    server = start_server(
        [
            "--services",
            "data,registry,inference,training",
            "--training-cpu",
            "2",
            "--training-keepalive-seconds",
            "0.5",
            "--training-secrets-file",
            str(data_dir / "secrets.json"),
        ],
        data_dir,
    )
    with DataManager.connect(server.address) as data:
        data.load_data(PEOPLE, "people")
        data.load_data(_customers(), "customers")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def training(server):
    with TrainingClient.connect(server.address, progress=False) as client:
        yield client


@pytest.fixture(scope="module")
def stub(server):
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.TrainingServiceStub(channel)


@pytest.fixture(scope="module")
def registry(server):
    with ModelRegistry.connect(server.address, progress=False) as client:
        yield client


def _fit(training: TrainingClient, **hyperparameters):
    options = {
        key: hyperparameters.pop(key)
        for key in ("checkpoint_policy", "max_restart_count", "register", "aliases", "resources")
        if key in hyperparameters
    }
    values = {"steps": 3, "step_seconds": 0.05, **hyperparameters}
    return training.fit("people", Trainer(CONFORMANCE, **values), **options)


def _until(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_job_runs_to_success_with_its_streams_checkpoints_and_output(training, tmp_path):
    policy = tj.CheckpointPolicy(step_interval=1, keep_last_count=2)
    run = _fit(training, steps=4, checkpoint_policy=policy)
    job = run.wait()
    assert job.status.state == S.JOB_STATE_SUCCEEDED
    assert [h.state for h in job.status.history] == [
        S.JOB_STATE_QUEUED,
        S.JOB_STATE_RUNNING,
        S.JOB_STATE_SUCCEEDED,
    ]
    lines = [e.text for e in run.logs() if e.stream == 1]
    assert lines == [f"step {s} line 1" for s in range(1, 5)]
    sequences = [e.sequence for e in run.logs()]
    assert sequences == list(range(1, len(sequences) + 1))
    losses = [(p.step, p.value) for p in run.metrics(["train/loss"])]
    assert losses == [(s, 1 / s) for s in range(1, 5)]
    summary = {m.name: m for m in job.metrics}["train/loss"]
    assert summary.point_count == 4 and summary.min_value == 0.25 and summary.max_value == 1.0
    checkpoints = run.checkpoints()
    assert [c.step for c in checkpoints] == [3, 4]  # keep_last_count 2
    assert job.latest_checkpoint == checkpoints[-1].name
    content = run.download_checkpoint(checkpoints[-1].name, tmp_path / "checkpoint")
    assert content.read_text() == "4"
    model = run.download_output(tmp_path / "model.onnx")
    assert model.stat().st_size == job.output.artifact.descriptor.size_bytes
    assert job.output.artifact.format == ModelFormat.MODEL_FORMAT_ONNX
    assert job.status.progress.completed == 4 and job.status.progress.unit == "steps"
    assert job.resolved_inputs.datasets[0].dataset_version == "datasets/people/versions/v1"
    assert job.resolved_inputs.hyperparameters["steps"].int64_value == 4
    # A follow of a finished job's log ends at once with complete.
    assert len(list(run.logs(follow=True))) == len(sequences)


def test_cancel_while_running_stops_the_trainer_and_its_children(training):
    run = _fit(training, steps=10_000, step_seconds=0.05, child_processes=2)
    _until(lambda: any(e.stream == 1 for e in run.logs()), "the trainer's first line")
    assert len(job_processes(run.name)) >= 3
    cancelled = run.cancel()
    assert cancelled.status.state in (S.JOB_STATE_CANCELLING, S.JOB_STATE_CANCELLED)
    with pytest.raises(JobFailedError):
        run.wait()
    job = run.get()
    assert job.status.state == S.JOB_STATE_CANCELLED and not job.HasField("output")
    assert job_processes(run.name) == {}  # no orphan left


def test_a_queued_job_cancelled_never_starts(training):
    blocker = _fit(
        training, steps=10_000, resources=tj.ResourceRequirements(cpu=2, memory_bytes=1 << 28)
    )
    _until(lambda: blocker.get().status.state == S.JOB_STATE_RUNNING, "the blocker to run")
    queued = _fit(training, steps=1, resources=tj.ResourceRequirements(cpu=1))
    assert queued.get().status.state == S.JOB_STATE_QUEUED
    assert queued.get().queue_position == 0
    assert queued.cancel().status.state == S.JOB_STATE_CANCELLED
    blocker.cancel()
    with pytest.raises(JobFailedError):
        blocker.wait()
    job = queued.get()
    assert S.JOB_STATE_RUNNING not in [h.state for h in job.status.history]
    assert list(queued.logs()) == [] or all(e.stream == 3 for e in queued.logs())


def test_pause_checkpoints_and_resume_continues_after_it(training):
    run = _fit(training, steps=40, step_seconds=0.05)
    _until(lambda: run.get().status.progress.completed >= 3, "three steps")
    run.pause()
    job = _until(lambda: (j := run.get()).status.state == S.JOB_STATE_PAUSED and j, "the pause", 60)
    [checkpoint] = [
        c for c in run.checkpoints() if c.trigger == checkpoint_pb2.CHECKPOINT_TRIGGER_PAUSE
    ]
    assert job.latest_checkpoint == checkpoint.name and not job.pause_requested
    seen = max(p.sequence for p in run.metrics())
    assert run.resume().status.state in (S.JOB_STATE_QUEUED, S.JOB_STATE_RUNNING)
    job = run.wait()
    after = [p for p in run.metrics(["train/loss"], start=seen + 1)]
    assert after[0].step == checkpoint.step + 1 and after[0].attempt == 1
    assert job.attempt == 1 and job.restart_count == 0


def test_a_failed_attempt_restarts_within_the_budget(training):
    run = _fit(training, fail_at_step=2, fail_attempts=1, max_restart_count=1)
    job = run.wait()
    assert job.restart_count == 1 and job.attempt == 1
    states = [h.state for h in job.status.history]
    assert states == [
        S.JOB_STATE_QUEUED,
        S.JOB_STATE_RUNNING,
        S.JOB_STATE_QUEUED,
        S.JOB_STATE_RUNNING,
        S.JOB_STATE_SUCCEEDED,
    ]


def test_without_restarts_left_the_job_fails_with_the_trainers_exit_code(training):
    run = _fit(training, fail_at_step=2, exit_code=7)
    with pytest.raises(JobFailedError) as failed:
        run.wait()
    assert failed.value.reason == "TRAINER_FAILED"
    assert failed.value.metadata["exit_code"] == "7"


def test_the_output_is_registered_ready_with_lineage_and_aliases(training, registry):
    run = _fit(training, register="models/identity", aliases=["prod"])
    job = run.wait()
    version = registry.version(job.output.model_version)
    assert version.state == model_version_pb2.MODEL_VERSION_STATE_READY
    assert version.lineage.training_job == run.name
    assert list(version.lineage.datasets) == list(job.resolved_inputs.datasets)
    assert version.artifact == job.output.artifact
    assert version.metrics["train_loss"] == pytest.approx(1 / 3)
    assert registry.model("models/identity").aliases["prod"] == version.name
    assert list(job.registered_model_versions) == [version.name]


def test_a_failed_registration_moves_no_alias(training, registry):
    first = _fit(training, register="models/kept", aliases=["prod"]).wait()
    run = _fit(training, output="invalid", register="models/kept", aliases=["prod"])
    with pytest.raises(JobFailedError) as failed:
        run.wait()
    assert failed.value.reason in ("MODEL_EXPORT_FAILED", "MODEL_REGISTRATION_FAILED")
    assert registry.model("models/kept").aliases["prod"] == first.output.model_version
    kept = [c for c in run.checkpoints() if c.trigger == checkpoint_pb2.CHECKPOINT_TRIGGER_OUTPUT]
    assert kept and kept[0].HasField("model")


def test_create_refuses_what_it_cannot_run(training):
    with pytest.raises(InvalidArgumentError) as unknown:
        training.fit("people", "no.such.trainer")
    assert unknown.value.reason == "UNKNOWN_TRAINER"
    with pytest.raises(InvalidArgumentError) as bad:
        training.fit("people", Trainer(CONFORMANCE, steps=-1))
    assert bad.value.reason == "INVALID_FIELD"
    assert [f for f, _ in bad.value.field_violations] == [
        "training_job.spec.hyperparameters[steps]"
    ]
    with pytest.raises(NotFoundError) as missing:
        training.fit("datasets/people/versions/v9", CONFORMANCE)
    assert missing.value.metadata["resource_name"] == "datasets/people/versions/v9"


def test_finished_jobs_delete_and_running_ones_do_not(training, stub):
    run = _fit(training, steps=1)
    run.wait()
    stub.DeleteTrainingJob(pb.DeleteTrainingJobRequest(name=run.name))
    with pytest.raises(grpc.RpcError) as gone:
        stub.GetTrainingJob(pb.GetTrainingJobRequest(name=run.name))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    running = _fit(training, steps=10_000)
    with pytest.raises(grpc.RpcError) as refused:
        stub.DeleteTrainingJob(pb.DeleteTrainingJobRequest(name=running.name))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    running.cancel()


def test_versioned_data_trains_a_model_that_registers_and_serves(training, registry, server):
    """The seed's chain: dataset version -> training job -> ONNX model version -> inference."""
    run = training.fit(
        "customers",
        "sklearn.logistic_regression",
        label="churned",
        model_format="onnx",
        register="models/churn",
        aliases=["prod"],
    )
    job = run.wait()
    output = job.output
    assert output.artifact.format == ModelFormat.MODEL_FORMAT_ONNX
    assert output.source_artifact.format == ModelFormat.MODEL_FORMAT_SKOPS
    assert output.equivalence.equivalent
    version = registry.version("models/churn/aliases/prod")
    assert version.name == output.model_version
    assert version.metadata["lepton.trainer"] == "sklearn.logistic_regression"
    assert version.metrics["train_accuracy"] > 0.7
    client = triton.InferenceServerClient(server.address)
    _until(lambda: _served(client), "the model to be served")
    rows = np.array([[30.0, 20.0], [40.0, 480.0]], dtype=np.float32)
    given = triton.InferInput("input", list(rows.shape), "FP32")
    given.set_data_from_numpy(rows)
    labels = client.infer("churn", [given], model_version="prod").as_numpy("label")
    assert labels.tolist() == [1, 0]  # low spend churns
    customers = 'resolved_inputs.datasets.dataset_version = "datasets/customers/versions/v1"'
    assert [j.name for j in training.jobs(filter=customers)] == [run.name]
    trainer = 'spec.trainer.builtin.id = "sklearn.logistic_regression" AND creator = ""'
    assert run.name in [j.name for j in training.jobs(filter=trainer)]


def _served(client) -> bool:
    try:
        return client.is_model_ready("churn", "prod")
    except Exception:  # not loaded yet
        return False


def test_a_command_line_trainer_takes_part_through_the_report_helper(training, data_dir):
    """An entrypoint trainer: its working directory fetched from a file:// URI, its env and
    secret, its lines as logs and metrics (report file and metric_definitions), its output;
    the secret's value appears nowhere (TRN-062)."""
    trainer = Trainer.command(
        f"{sys.executable} train.py",
        working_dir=(data_dir / "files" / "project").as_uri(),
        env={"GREETING": "hello"},
    )
    trainer.message.entrypoint.secret_env.add(name="API_TOKEN", secret="secrets/api-token")
    trainer.message.entrypoint.metric_definitions.add(name="train/loss", regex=r"loss=([0-9.]+)")
    run = training.fit("people", trainer)
    job = run.wait()
    lines = [e.text for e in run.logs() if e.stream == 1]
    assert lines == ["rows=4 loss=0.25 token=[secret]"]
    points = {p.name: p.value for p in run.metrics()}
    assert points == {"train/rows": 4.0, "train/loss": 0.25}
    assert job.output.artifact.format == ModelFormat.MODEL_FORMAT_OTHER
    assert job.output.framework == "script"
    assert SECRET not in str(job) and SECRET not in str(list(run.logs()))


def test_a_secret_the_server_does_not_hold_is_not_found(training, data_dir):
    trainer = Trainer.command("true")
    trainer.message.entrypoint.secret_env.add(name="API_TOKEN", secret="secrets/nothing")
    with pytest.raises(NotFoundError) as missing:
        training.fit("people", trainer)
    assert missing.value.metadata["resource_name"] == "secrets/nothing"
    outside = Trainer.command("true", working_dir="file:///etc")
    with pytest.raises(PermissionDeniedError) as refused:
        training.fit("people", outside)
    assert refused.value.reason == "PATH_NOT_ALLOWED"
