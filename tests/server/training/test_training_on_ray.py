"""Training jobs on a real Ray head bound to 127.0.0.1 (`lepton serve --training-executor ray
--ray-address ADDR`, spec/training.md, "Resources and executors", TRN-063): the same job as
on local processes succeeds with its logs, metrics, checkpoints and model, and a cancel while
it runs leaves no process of the job on the node."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest
from support.servers import start_server
from support.training_attempts import job_processes

from lepton.training.v1 import training_job_pb2 as tj
from lepton.type.v1 import job_pb2
from lepton_ai import DataManager, JobFailedError, Trainer, TrainingClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def training(ray_address, tmp_path_factory):
    server = start_server(
        [
            "--services",
            "data,training",
            "--training-cpu",
            "1",
            "--training-executor",
            "ray",
            "--ray-address",
            ray_address,
        ],
        tmp_path_factory.mktemp("training-on-ray"),
    )
    try:
        with DataManager.connect(server.address, progress=False) as data:
            data.load_data(pa.table({"x": [1.0, 2.0, 3.0]}), "numbers")
        with TrainingClient.connect(server.address, progress=False) as client:
            yield client
    finally:
        server.stop()


def test_a_job_on_ray_succeeds_with_its_streams_checkpoints_and_model(training, tmp_path):
    policy = tj.CheckpointPolicy(step_interval=1)
    run = training.fit(
        "numbers", Trainer("lepton.conformance", steps=3, step_seconds=0), checkpoint_policy=policy
    )
    job = run.wait()
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED
    assert [e.text for e in run.logs() if e.stream == 1] == [f"step {s} line 1" for s in (1, 2, 3)]
    assert [(p.step, p.value) for p in run.metrics(["train/loss"])] == [
        (1, 1.0),
        (2, 0.5),
        (3, 1 / 3),
    ]
    checkpoints = run.checkpoints()
    assert [c.step for c in checkpoints] == [1, 2, 3]
    assert run.download_checkpoint(checkpoints[-1].name, tmp_path / "c").read_text() == "3"
    model = run.download_output(tmp_path / "model.onnx")
    assert model.stat().st_size == job.output.artifact.descriptor.size_bytes > 0


def test_a_cancel_on_ray_leaves_no_process_of_the_job(training):
    trainer = Trainer("lepton.conformance", steps=10_000, step_seconds=0.05, child_processes=2)
    run = training.fit("numbers", trainer)
    for _ in range(1200):  # until the trainer has written its first line on the node
        if any(e.stream == 1 for e in run.logs()):
            break
        time.sleep(0.05)
    assert len(job_processes(run.name)) == 3
    run.cancel()
    with pytest.raises(JobFailedError):
        run.wait()
    assert run.get().status.state == job_pb2.JOB_STATE_CANCELLED
    assert job_processes(run.name) == {}
