"""training-core cases of the job lifecycle with the conformance trainer: a run to success
with its logs, metrics, progress and output (TRN-005, TRN-021, TRN-022, TRN-035, TRN-052),
cancellation of queued, running and finished jobs (TRN-023 to TRN-025), the two duration
limits (TRN-028, TRN-029), restarts (TRN-030, TRN-064) and deletion (TRN-034)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration

from lepton.training.v1 import training_job_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton.type.v1 import digest_pb2, model_format_pb2, tensor_pb2
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.queue_hold import held_job, held_queue
from lepton_conformance.suites.training.training_client import (
    CANCELLED,
    CANCELLING,
    STOP_S,
    TERMINAL,
    TrainingClient,
    conformance_job,
    no_change,
    points,
    state_name,
    trainer_lines,
)
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()
ONNX = model_format_pb2.MODEL_FORMAT_ONNX
# After the blocker of a held queue has ended: how long a cancelled job has had to (wrongly)
# start before the case looks at it.
SETTLE_S = 1.0


def states(job: Any) -> list[str]:
    """The states of a job's history, oldest first."""
    return [job_lifecycle.name_of(h.state) for h in job.status.history]


def refused(call: Any, code: grpc.StatusCode, reason: str) -> None:
    expect.fails_with(call, code, reason)


def refuses_delete(client: TrainingClient, name: str) -> None:
    """DeleteTrainingJob of a job not yet ended is FAILED_PRECONDITION [JOB_NOT_TERMINAL]."""
    request = pb.DeleteTrainingJobRequest(name=name)
    refused(
        lambda: client.call("DeleteTrainingJob", request),
        grpc.StatusCode.FAILED_PRECONDITION,
        "JOB_NOT_TERMINAL",
    )


def refuses_cancel(client: TrainingClient, name: str) -> None:
    """CancelTrainingJob of a SUCCEEDED or FAILED job is FAILED_PRECONDITION
    [JOB_ALREADY_FINISHED] and changes nothing (TRN-025)."""
    request = pb.CancelTrainingJobRequest(name=name)
    with no_change(client, name):
        refused(
            lambda: client.call("CancelTrainingJob", request),
            grpc.StatusCode.FAILED_PRECONDITION,
            "JOB_ALREADY_FINISHED",
        )


def output_download(client: TrainingClient, name: str) -> Any:
    """DownloadTrainingJobOutput read to its end (it may fail)."""
    request = pb.DownloadTrainingJobOutputRequest(name=name)
    return lambda: list(client.call("DownloadTrainingJobOutput", request))


def check_output(client: TrainingClient, job: Any) -> bytes:
    """The output of a SUCCEEDED conformance job (TRN-052, TRN-005) and its download
    (TRN-051); the bytes."""
    artifact = job.output.artifact
    descriptor = artifact.descriptor
    expect.holds(
        descriptor.size_bytes > 0
        and descriptor.digest.algorithm == digest_pb2.DIGEST_ALGORITHM_SHA256
        and len(descriptor.digest.hex) == 64,
        "output.artifact.descriptor with a positive size and a SHA-256 digest",
        str(descriptor).replace("\n", " "),
    )
    expect.equal(artifact.format, ONNX, "output.artifact.format of the conformance trainer")
    tar = descriptor.media_type == "application/x-tar"
    expect.equal(bool(artifact.entry_path), tar, "entry_path set exactly for a tar archive")
    tensor = (
        [("input", tensor_pb2.DATA_TYPE_FP32, [-1])],
        [("output", tensor_pb2.DATA_TYPE_FP32, [-1])],
    )
    signature = job.output.signature
    expect.equal(
        (
            [(t.name, t.data_type, list(t.shape)) for t in signature.inputs],
            [(t.name, t.data_type, list(t.shape)) for t in signature.outputs],
        ),
        tensor,
        "output.signature (inputs, outputs) of the conformance trainer's identity model",
    )
    first, chunks = client.download("DownloadTrainingJobOutput", job.name)
    expect.equal(first, descriptor, "the first message of DownloadTrainingJobOutput")
    data = b"".join(c.data for c in chunks)
    expect.equal(
        (len(data), hashlib.sha256(data).hexdigest()),
        (descriptor.size_bytes, descriptor.digest.hex),
        "(size, sha256) of the downloaded output",
    )
    return data


@CASES.case(
    CORE,
    "lifecycle.a-job-runs-to-success",
    "TRN-005",
    "TRN-021",
    "TRN-022",
    "TRN-035",
    "TRN-051",
    "TRN-052",
)
def runs_to_success(ctx: CaseContext) -> None:
    """A conformance job watched from creation passes QUEUED, RUNNING, SUCCEEDED; it logs
    `step s line i`, reports train/loss = 1/s and progress in steps, and outputs the identity
    ONNX model; a Watch of the ended job sends one message."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        created = client.create(conformance_job(data.version, steps=3, log_lines_per_step=2))
        job = client.finish(created.name)
        expect.equal(
            states(job),
            ["JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"],
            "the history",
        )
        progress = job.status.progress
        expect.equal(
            (progress.completed, progress.total, progress.unit, job.restart_count, job.attempt),
            (3, 3, "steps", 0, 0),
            "(progress completed, total, unit, restart_count, attempt)",
        )
        lines = [f"step {s} line {i}" for s in range(1, 4) for i in (1, 2)]
        expect.equal(trainer_lines(client.logs(job.name)), lines, "the trainer's stdout lines")
        losses = [
            (p.step, p.value, p.attempt)
            for p in points(client.metrics(job.name, metric_names=["train/loss"]))
        ]
        expect.equal(
            losses, [(s, 1 / s, 0) for s in range(1, 4)], "train/loss (step, value, attempt)"
        )
        check_output(client, job)
        again = client.watch(job.name)
        expect.equal(len(again), 1, "messages of a Watch of an ended job")


@CASES.case(CORE, "lifecycle.cancel-a-queued-job", "TRN-023", "TRN-025", "TRN-034")
def cancel_queued(ctx: CaseContext) -> None:
    """A QUEUED job refuses deletion (JOB_NOT_TERMINAL); cancelled, it is CANCELLED at once
    and never runs: no RUNNING, trainer line, metric point or checkpoint after the room it
    waited for is free; a second cancel changes nothing."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        with held_queue(client, data.version) as resources:
            held = held_job(client, data.version, resources)
            with no_change(client, held.name):
                refuses_delete(client, held.name)
            cancelled = client.cancel(held.name)
            expect.equal(state_name(cancelled), "JOB_STATE_CANCELLED", "the state Cancel returns")
        client.wait(client.created[0], lambda j: j.status.state in TERMINAL, "ended", STOP_S)
        time.sleep(SETTLE_S)
        with no_change(client, held.name):
            again = client.cancel(held.name)
        expect.equal(state_name(again), "JOB_STATE_CANCELLED", "a second cancel's answer")
        job = client.get(held.name)
        expect.equal(states(job), ["JOB_STATE_QUEUED", "JOB_STATE_CANCELLED"], "the history")
        expect.equal(
            trainer_lines(client.logs(held.name)), [], "trainer lines of the cancelled job"
        )
        expect.equal(points(client.metrics(held.name)), [], "metric points of the cancelled job")
        expect.equal(client.checkpoints(held.name), [], "checkpoints of the cancelled job")


@CASES.case(CORE, "lifecycle.max-queue-duration-fails-a-waiting-job", "TRN-029", "TRN-022")
def max_queue(ctx: CaseContext) -> None:
    """A job still QUEUED after max_queue_duration ends FAILED, DEADLINE_EXCEEDED
    [MAX_QUEUE_DURATION_EXCEEDED], without ever running."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        with held_queue(client, data.version) as resources:
            fields = {"resources": resources, "max_queue_duration": Duration(seconds=1)}
            held = client.create(conformance_job(data.version, fields=fields))
            job = client.wait(held.name, lambda j: j.status.state in TERMINAL, "ended", STOP_S + 1)
        error = job.status.error
        expect.equal(
            (state_name(job), error.code, error.reason),
            (
                "JOB_STATE_FAILED",
                grpc.StatusCode.DEADLINE_EXCEEDED.value[0],
                "MAX_QUEUE_DURATION_EXCEEDED",
            ),
            "(state, error.code, error.reason)",
        )
        expect.equal(states(job), ["JOB_STATE_QUEUED", "JOB_STATE_FAILED"], "the history")
        expect.holds(
            not job.status.HasField("start_time"), "no start_time", str(job.status.start_time)
        )


@CASES.case(CORE, "lifecycle.cancel-a-running-job", "TRN-024", "TRN-025", "TRN-034", "TRN-051")
def cancel_running(ctx: CaseContext) -> None:
    """A RUNNING job refuses deletion and output download; cancelled, it answers CANCELLING
    (or CANCELLED) and reaches CANCELLED within 60 s without output; cancelling it again
    changes nothing."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        created = client.create(conformance_job(data.version, steps=200))
        client.running(created.name)
        refused(
            output_download(client, created.name),
            grpc.StatusCode.FAILED_PRECONDITION,
            "JOB_NOT_SUCCEEDED",
        )
        refuses_delete(client, created.name)
        answer = client.cancel(created.name)
        expect.holds(
            answer.status.state in (CANCELLING, CANCELLED),
            "Cancel of a RUNNING job to answer CANCELLING or CANCELLED",
            state_name(answer),
        )
        job = client.finish(created.name, STOP_S)
        expect.equal(state_name(job), "JOB_STATE_CANCELLED", "the end state")
        expect.holds(not job.HasField("output"), "no output of a cancelled job", str(job.output))
        expect.holds(
            job.status.progress.completed < 200,
            "the job stopped before its end",
            str(job.status.progress),
        )
        with no_change(client, job.name):
            expect.equal(
                state_name(client.cancel(job.name)), "JOB_STATE_CANCELLED", "a second cancel"
            )


@CASES.case(CORE, "lifecycle.cancel-a-succeeded-job-is-refused", "TRN-025")
def cancel_succeeded(ctx: CaseContext) -> None:
    """Cancel of a SUCCEEDED job is FAILED_PRECONDITION [JOB_ALREADY_FINISHED] and changes
    nothing."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = client.run(conformance_job(data.version, steps=1))
        expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
        refuses_cancel(client, job.name)


@CASES.case(
    CORE, "lifecycle.max-run-duration-fails-the-job-and-keeps-checkpoints", "TRN-028", "TRN-030"
)
def max_run(ctx: CaseContext) -> None:
    """A job past max_run_duration ends FAILED, DEADLINE_EXCEEDED [MAX_RUN_DURATION_EXCEEDED]
    within 60 s, without a restart though restarts were allowed, keeping its checkpoints."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        fields = {
            "max_run_duration": Duration(seconds=1),
            "max_restart_count": 2,
            "checkpoint_policy": training_job_pb2.CheckpointPolicy(step_interval=2),
        }
        created = client.create(conformance_job(data.version, steps=600, fields=fields))
        job = client.finish(created.name)
        error = job.status.error
        expect.equal(
            (state_name(job), error.code, error.reason, job.restart_count),
            (
                "JOB_STATE_FAILED",
                grpc.StatusCode.DEADLINE_EXCEEDED.value[0],
                "MAX_RUN_DURATION_EXCEEDED",
                0,
            ),
            "(state, error.code, error.reason, restart_count)",
        )
        expect.equal(states(job).count("JOB_STATE_RUNNING"), 1, "RUNNING entries in the history")
        expect.holds(
            job.run_duration.ToTimedelta().total_seconds() >= 1,
            "run_duration of at least max_run_duration",
            str(job.run_duration.ToTimedelta()),
        )
        completed = job.status.progress.completed
        wanted = [s for s in range(2, completed + 1, 2)]
        got = [c.step for c in client.checkpoints(job.name)]
        expect.equal(got, wanted, f"checkpoint steps kept after {completed} steps")


@CASES.case(
    CORE,
    "lifecycle.a-failed-attempt-restarts-from-the-latest-checkpoint",
    "TRN-030",
    "TRN-064",
    "TRN-005",
)
def restarts(ctx: CaseContext) -> None:
    """An attempt failing at step 3 with restarts left goes back to QUEUED and the next
    attempt, numbered 1, continues at step 3 from the checkpoint of step 2; restart_count 1."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        fields = {
            "max_restart_count": 2,
            "checkpoint_policy": training_job_pb2.CheckpointPolicy(step_interval=1),
        }
        job = client.run(
            conformance_job(data.version, steps=4, fail_at_step=3, fail_attempts=1, fields=fields)
        )
        expect.equal(
            (state_name(job), job.restart_count, job.attempt, job.status.progress.completed),
            ("JOB_STATE_SUCCEEDED", 1, 1, 4),
            "(state, restart_count, attempt, progress.completed)",
        )
        expect.equal(
            states(job),
            [
                "JOB_STATE_QUEUED",
                "JOB_STATE_RUNNING",
                "JOB_STATE_QUEUED",
                "JOB_STATE_RUNNING",
                "JOB_STATE_SUCCEEDED",
            ],
            "the history",
        )
        losses = [
            (p.attempt, p.step)
            for p in points(client.metrics(job.name, metric_names=["train/loss"]))
        ]
        expect.equal(losses, [(0, 1), (0, 2), (1, 3), (1, 4)], "train/loss (attempt, step)")


@CASES.case(
    CORE,
    "lifecycle.no-restart-left-fails-with-trainer-failed",
    "TRN-030",
    "TRN-064",
    "TRN-022",
    "TRN-025",
    "TRN-051",
)
def no_restart_left(ctx: CaseContext) -> None:
    """When every attempt exits with code 7 and one restart is allowed, the job ends FAILED,
    ABORTED [TRAINER_FAILED] with metadata exit_code 7 after one restart; its output cannot
    be downloaded and a cancel is JOB_ALREADY_FINISHED."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = client.run(
            conformance_job(
                data.version, steps=3, fail_at_step=2, exit_code=7, fields={"max_restart_count": 1}
            )
        )
        error = job.status.error
        expect.equal(
            (state_name(job), error.code, error.reason, error.metadata.get("exit_code")),
            ("JOB_STATE_FAILED", grpc.StatusCode.ABORTED.value[0], "TRAINER_FAILED", "7"),
            "(state, error.code, error.reason, error.metadata[exit_code])",
        )
        expect.equal((job.restart_count, job.attempt), (1, 1), "(restart_count, attempt)")
        expect.holds(not job.HasField("output"), "no output of a failed job", str(job.output))
        refused(
            output_download(client, job.name),
            grpc.StatusCode.FAILED_PRECONDITION,
            "JOB_NOT_SUCCEEDED",
        )
        refuses_cancel(client, job.name)


@CASES.case(CORE, "lifecycle.delete-removes-the-job-and-its-records", "TRN-034")
def delete(ctx: CaseContext) -> None:
    """Deleting an ended job removes it: Get, its checkpoints, logs, metrics and output
    download answer NOT_FOUND [RESOURCE_NOT_FOUND]."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        policy = training_job_pb2.CheckpointPolicy(step_interval=1)
        job = client.run(
            conformance_job(data.version, steps=2, fields={"checkpoint_policy": policy})
        )
        expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
        checkpoints = client.checkpoints(job.name)
        expect.holds(bool(checkpoints), "checkpoints before the delete", "none")
        expect.succeeds(
            lambda: client.call("DeleteTrainingJob", pb.DeleteTrainingJobRequest(name=job.name)),
            "DeleteTrainingJob",
        )
        gone = [
            ("GetTrainingJob", pb.GetTrainingJobRequest(name=job.name)),
            ("GetCheckpoint", pb.GetCheckpointRequest(name=checkpoints[0].name)),
            ("ListCheckpoints", pb.ListCheckpointsRequest(parent=job.name)),
            ("StreamTrainingJobLogs", pb.StreamTrainingJobLogsRequest(name=job.name)),
            ("StreamTrainingJobMetrics", pb.StreamTrainingJobMetricsRequest(name=job.name)),
            ("DownloadTrainingJobOutput", pb.DownloadTrainingJobOutputRequest(name=job.name)),
            ("DownloadCheckpoint", pb.DownloadCheckpointRequest(name=checkpoints[0].name)),
        ]
        for rpc, request in gone:
            stream = rpc.startswith(("Stream", "Download"))
            expect.fails_with(
                lambda rpc=rpc, request=request, stream=stream: (
                    list(client.call(rpc, request)) if stream else client.call(rpc, request)
                ),
                grpc.StatusCode.NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
