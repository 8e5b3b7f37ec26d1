"""A training server killed with SIGKILL while a job runs (TRN-031, TRN-063): the job's
trainer does not outlive the server, the restarted server runs the job again to success, and
every checkpoint it lists downloads whole, with no blob left that nothing refers to."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pyarrow as pa
import pytest
from support.polling import eventually
from support.servers import start_server
from support.training_attempts import job_processes

from lepton.training.v1 import training_job_pb2 as tj
from lepton.type.v1 import job_pb2
from lepton_ai import DataManager, Trainer, TrainingClient

STEPS = 24
# The trainer's steps sleep this long: the sweep's kills land among them.
STEP_SECONDS = 0.25
pytestmark = pytest.mark.timeout(180)


def _serve(data_dir: Path, encrypted: bool):
    args = ["--services", "data,training", "--training-cpu", "2"]
    if encrypted:
        keys = data_dir.parent / "keys"
        if not keys.exists():
            keys.write_text(f"k1 {os.urandom(32).hex()}\n")
            keys.chmod(0o600)
        args += ["--encryption-key-file", str(keys)]
    return start_server(args, data_dir)


def _newest_step(checkpoints) -> int:
    return checkpoints[-1].step if checkpoints else 0


# Killed as the trainer starts and with a few checkpoints written, plain and encrypted.
@pytest.mark.parametrize(
    ("newest_step_before_kill", "encrypted"), [(0, False), (3, True), (9, False)]
)
def test_a_job_running_when_the_server_is_killed_leaves_no_trainer_and_runs_again(
    tmp_path, newest_step_before_kill, encrypted
):
    data_dir = tmp_path / "data"
    server = _serve(data_dir, encrypted)
    try:
        with DataManager.connect(server.address) as data:
            data.load_data(pa.table({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}), "points")
        with TrainingClient.connect(server.address, progress=False) as training:
            run = training.fit(
                "points",
                Trainer(
                    "lepton.conformance",
                    steps=STEPS,
                    step_seconds=STEP_SECONDS,
                    # A quiet trainer (one that logs dies of a broken pipe with its server),
                    # with children that would sleep for an hour.
                    log_lines_per_step=0,
                    child_processes=2,
                ),
                checkpoint_policy=tj.CheckpointPolicy(step_interval=1, keep_last_count=3),
                max_restart_count=1,
            )
            eventually(
                lambda: (
                    run.get().status.state == job_pb2.JOB_STATE_RUNNING
                    and _newest_step(run.checkpoints()) >= newest_step_before_kill
                ),
                timeout=60,
                what="the job running with its checkpoints",
            )
            trainer = eventually(lambda: job_processes(run.name), what="the trainer")
    finally:
        server.stop(signal.SIGKILL, timeout=30)

    # TRN-063: the attempt ended with its server, and so did every process it started.
    eventually(
        lambda: not job_processes(run.name),
        timeout=15,
        what=f"the end of the job's processes {trainer} after its server was killed",
    )

    server = _serve(data_dir, encrypted)
    try:
        with TrainingClient.connect(server.address, progress=False) as training:
            run = training.job(run.name)
            job = run.wait()
            assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED, job.status
            assert job.restart_count == 1
            checkpoints = run.checkpoints()
            assert checkpoints and checkpoints[-1].step == STEPS
            for checkpoint in checkpoints:
                path = run.download_checkpoint(checkpoint.name, tmp_path / "checkpoint")
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                assert digest == checkpoint.artifact.digest.hex
            output = job.output.artifact.descriptor
            downloaded = run.download_output(tmp_path / "model").read_bytes()
            assert hashlib.sha256(downloaded).hexdigest() == output.digest.hex
            referenced = {output.digest.hex}
            for checkpoint in checkpoints:
                referenced |= {
                    checkpoint.artifact.digest.hex,
                    checkpoint.model.descriptor.digest.hex,
                }
            referenced.discard("")
        # Blobs of checkpoints the killed attempt wrote and retention since removed are gone
        # too, and the staging directory holds no half-written file.
        blobs = data_dir / "training" / "blobs"
        stored = {p.name.removesuffix(".dek") for p in blobs.iterdir() if p.is_file()}
        assert stored == referenced
        assert not list((blobs / ".staging").iterdir())
    finally:
        server.stop()
