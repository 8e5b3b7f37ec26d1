"""Following a long-running job (import, export, pipeline run) to its end through its
server-streaming Watch method (GEN-061), and turning a failed or cancelled job into a
JobFailedError carrying its status.error."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import grpc

from lepton.type.v1 import job_pb2
from lepton_ai.errors import UnknownError, from_rpc_error, job_failed
from lepton_ai.progress import ProgressBar
from lepton_ai.retries import STREAM_RETRIES, pause_before_retry

TERMINAL_STATES = frozenset(
    {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}
)

Job = TypeVar("Job")


def is_terminal(job: Any) -> bool:
    return job.status.state in TERMINAL_STATES


def follow(
    job: Job,
    watch: Callable[[], Iterable[Job]],
    bar: ProgressBar | None = None,
) -> Job:
    """Watch `job` until it is terminal and return it; raise JobFailedError unless it
    SUCCEEDED. `watch()` opens a Watch stream and yields the job of each message. A stream
    broken by the network is reopened (the first message of a new stream is the whole job,
    so nothing is lost)."""
    failures = 0
    while not is_terminal(job):
        try:
            for update in watch():
                job, failures = update, 0
                if bar is not None:
                    progress = job.status.progress  # type: ignore[attr-defined]
                    bar.update(progress.completed, progress.total, progress.unit or None)
                if is_terminal(job):
                    break
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or failures >= STREAM_RETRIES:
                raise from_rpc_error(error) from None
        else:
            if is_terminal(job):
                break
            if failures >= STREAM_RETRIES:  # the stream keeps ending before the job does
                raise UnknownError(
                    grpc.StatusCode.UNKNOWN,
                    "",
                    f"the watch of {job.name} ended before the job did",  # type: ignore[attr-defined]
                )
        failures += 1
        pause_before_retry(failures)
    status = job.status  # type: ignore[attr-defined]
    if status.state != job_pb2.JOB_STATE_SUCCEEDED:
        error = status.error if status.HasField("error") else None
        raise job_failed(job.name, job_pb2.JobState.Name(status.state), error)  # type: ignore[attr-defined]
    return job
