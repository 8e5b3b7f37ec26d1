"""training-core cases of checkpoints and downloads: the conformance trainer's checkpoints
every step_interval steps, complete, in step order and holding their step (TRN-046,
TRN-047), retention of the newest and the best (TRN-048, TRN-065), a new job continuing from
a cancelled job's checkpoint (TRN-049), and the byte-range rules of both downloads (TRN-050,
TRN-051)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from typing import Any

import grpc

from lepton.training.v1 import training_job_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.training_client import (
    CONFORMANCE,
    PERIODIC,
    POLL_S,
    RUNNING,
    TERMINAL,
    TrainingClient,
    conformance_job,
    points,
    state_name,
)
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()
MAX_CHUNK = 3 * 1024 * 1024  # GEN-081


def policy(**fields: Any) -> dict[str, Any]:
    return {"checkpoint_policy": training_job_pb2.CheckpointPolicy(**fields)}


def content(client: TrainingClient, checkpoint: Any) -> bytes:
    """A checkpoint's bytes from DownloadCheckpoint, checked against its descriptor
    (TRN-046)."""
    first, chunks = client.download("DownloadCheckpoint", checkpoint.name)
    expect.equal(first, checkpoint.artifact, "the descriptor DownloadCheckpoint sends first")
    data = b"".join(c.data for c in chunks)
    expect.equal(
        (len(data), hashlib.sha256(data).hexdigest()),
        (checkpoint.artifact.size_bytes, checkpoint.artifact.digest.hex),
        f"(size, sha256) of {checkpoint.name}",
    )
    return data


def step_written(data: bytes, media_type: str) -> str:
    """The text the conformance trainer wrote into a checkpoint: the file itself, or the one
    file of a tar archive."""
    if media_type != "application/x-tar":
        return data.decode("ascii", "replace").strip()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        files = [m for m in archive.getmembers() if m.isfile()]
        texts = [archive.extractfile(m).read().decode("ascii", "replace").strip() for m in files]
    return texts[0] if len(texts) == 1 else repr(texts)


@CASES.case(
    CORE,
    "checkpoints.step-interval-writes-them-in-order",
    "TRN-046",
    "TRN-047",
    "TRN-018",
    "TRN-005",
)
def step_interval(ctx: CaseContext) -> None:
    """step_interval 2 over 6 steps gives checkpoints of steps 2, 4, 6 in that order, each
    PERIODIC by lepton.conformance, holding its step number, its download matching its
    descriptor; latest_checkpoint names the last; pages of one list them all."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = client.run(conformance_job(data.version, steps=6, fields=policy(step_interval=2)))
        expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
        listed = client.checkpoints(job.name)
        expect.equal([c.step for c in listed], [2, 4, 6], "the checkpoint steps, in order")
        expect.equal(job.latest_checkpoint, listed[-1].name, "latest_checkpoint")
        expect.equal(client.checkpoints(job.name, page_size=1), listed, "pages of one checkpoint")
        for checkpoint in listed:
            expect.equal(client.checkpoint(checkpoint.name), checkpoint, "GetCheckpoint")
            expect.equal(
                (checkpoint.trigger, checkpoint.trainer, checkpoint.attempt),
                (PERIODIC, CONFORMANCE, 0),
                f"(trigger, trainer, attempt) of {checkpoint.name}",
            )
            text = step_written(content(client, checkpoint), checkpoint.artifact.media_type)
            expect.equal(text, str(checkpoint.step), f"the content of {checkpoint.name}")


@CASES.case(CORE, "checkpoints.keep-last-count-deletes-the-oldest", "TRN-048")
def keep_last(ctx: CaseContext) -> None:
    """With keep_last_count 2 a job never lists more than 2 checkpoints, ends with the
    newest two, and a checkpoint it deleted answers NOT_FOUND [RESOURCE_NOT_FOUND]."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        fields = policy(step_interval=1, keep_last_count=2)
        created = client.create(
            conformance_job(data.version, steps=8, step_seconds=0.1, fields=fields)
        )
        seen: set[str] = set()
        while True:
            job = client.get(created.name)
            listed = client.checkpoints(created.name)
            expect.holds(
                len(listed) <= 2, "at most 2 checkpoints listed", str([c.step for c in listed])
            )
            seen |= {c.name for c in listed}
            if job.status.state in TERMINAL:
                break
            time.sleep(POLL_S)
        expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
        expect.equal([c.step for c in listed], [7, 8], "the checkpoints kept")
        for name in sorted(seen - {c.name for c in listed}):
            expect.fails_with(
                lambda name=name: client.call("GetCheckpoint", pb.GetCheckpointRequest(name=name)),
                grpc.StatusCode.NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )


@CASES.case(CORE, "checkpoints.the-best-checkpoint-is-kept", "TRN-065")
def keep_best(ctx: CaseContext) -> None:
    """With best_metric validation/loss (minimised), keep_best_count 1 and keep_last_count 1,
    the checkpoint of best_step survives besides the newest, and best_checkpoint names it."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        fields = policy(
            step_interval=1,
            keep_last_count=1,
            keep_best_count=1,
            best_metric="validation/loss",
            best_metric_goal=training_job_pb2.METRIC_GOAL_MINIMIZE,
        )
        job = client.run(conformance_job(data.version, steps=6, best_step=2, fields=fields))
        expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
        listed = client.checkpoints(job.name)
        expect.equal([c.step for c in listed], [2, 6], "the checkpoints kept (best, newest)")
        expect.equal(job.best_checkpoint, listed[0].name, "best_checkpoint")
        expect.equal(
            listed[0].metrics.get("validation/loss"), 1.0, "validation/loss of the best checkpoint"
        )


@CASES.case(
    CORE, "checkpoints.a-new-job-continues-from-a-cancelled-jobs-checkpoint", "TRN-049", "TRN-017"
)
def resume_from(ctx: CaseContext) -> None:
    """A cancelled job's checkpoints stay listable and downloadable, and a new job with
    resume_from_checkpoint naming one reports its first point at that step + 1."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        first = client.create(
            conformance_job(data.version, steps=200, fields=policy(step_interval=2))
        )
        client.wait(
            first.name,
            lambda j: j.status.state == RUNNING and bool(j.latest_checkpoint),
            "RUNNING with a checkpoint",
        )
        client.cancel(first.name)
        cancelled = client.finish(first.name)
        expect.equal(state_name(cancelled), "JOB_STATE_CANCELLED", "the first job's end state")
        listed = client.checkpoints(first.name)
        expect.holds(bool(listed), "the cancelled job's checkpoints listed", "none")
        checkpoint = listed[-1]
        content(client, checkpoint)
        job = conformance_job(data.version, steps=checkpoint.step + 2)
        job.spec.resume_from_checkpoint = checkpoint.name
        created = client.create(job)
        expect.equal(
            created.resolved_inputs.resume_from_checkpoint,
            checkpoint.name,
            "resolved_inputs.resume_from_checkpoint",
        )
        ended = client.finish(created.name)
        expect.equal(state_name(ended), "JOB_STATE_SUCCEEDED", "the second job's end state")
        losses = [p.step for p in points(client.metrics(ended.name, metric_names=["train/loss"]))]
        expect.equal(
            losses, [checkpoint.step + 1, checkpoint.step + 2], "the second job's train/loss steps"
        )


def check_ranges(client: TrainingClient, rpc: str, name: str, whole: bytes) -> None:
    """GEN-080, GEN-081 on one download: chunk sizes, a range, the end, beyond it, and
    negative values."""
    size = len(whole)
    descriptor, chunks = client.download(rpc, name, chunk_size_bytes=2)
    expect.holds(
        all(0 < len(c.data) <= 2 for c in chunks),
        "chunks of 1 to 2 bytes",
        str([len(c.data) for c in chunks]),
    )
    position = 0
    for chunk in chunks:
        expect.equal(chunk.offset, position, f"chunk offsets of {rpc}")
        position += len(chunk.data)
    expect.equal(b"".join(c.data for c in chunks), whole, f"the bytes of {rpc} in 2-byte chunks")
    offset, length = min(1, size), min(3, size - min(1, size))
    _, part = client.download(rpc, name, offset=offset, length_bytes=length)
    expect.equal(
        (part[0].offset if part else offset, b"".join(c.data for c in part)),
        (offset, whole[offset : offset + length]),
        f"{rpc} of {length} bytes from {offset}",
    )
    _, big = client.download(rpc, name, chunk_size_bytes=MAX_CHUNK * 2)
    expect.equal(b"".join(c.data for c in big), whole, f"{rpc} asking for 6 MiB chunks")
    _, none = client.download(rpc, name, offset=size)
    expect.equal(none, [], f"chunks of {rpc} from offset = size")
    request_class = getattr(pb, f"{rpc}Request")
    expect.fails_with(
        lambda: list(client.call(rpc, request_class(name=name, offset=size + 1))),
        grpc.StatusCode.OUT_OF_RANGE,
        "OFFSET_OUT_OF_RANGE",
    )
    for field in ("offset", "length_bytes", "chunk_size_bytes"):
        expect.fails_with(
            lambda field=field: list(client.call(rpc, request_class(name=name, **{field: -1}))),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
        )
    expect.equal(descriptor.size_bytes, size, f"the size {rpc} declares")


@CASES.case(CORE, "downloads.ranges-follow-the-chunk-rules", "TRN-050", "TRN-051")
def downloads(ctx: CaseContext) -> None:
    """DownloadTrainingJobOutput and DownloadCheckpoint send the descriptor, then contiguous
    non-empty chunks within the effective chunk size, honour offset and length, send no
    chunk from the end, refuse an offset beyond it (OUT_OF_RANGE) and negative values."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = client.run(conformance_job(data.version, steps=2, fields=policy(step_interval=2)))
        expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
        descriptor, chunks = client.download("DownloadTrainingJobOutput", job.name)
        expect.equal(descriptor, job.output.artifact.descriptor, "the output's first message")
        check_ranges(
            client, "DownloadTrainingJobOutput", job.name, b"".join(c.data for c in chunks)
        )
        (checkpoint,) = client.checkpoints(job.name)
        check_ranges(client, "DownloadCheckpoint", checkpoint.name, content(client, checkpoint))
