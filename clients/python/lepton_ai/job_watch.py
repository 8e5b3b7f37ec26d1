"""Following a long-running job (import, export, pipeline run) to its end through its
server-streaming Watch method (GEN-061), and turning a failed or cancelled job into a
JobFailedError carrying its status.error."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import grpc

from lepton.type.v1 import job_pb2
from lepton_ai.errors import UnknownError, from_rpc_error, job_failed
from lepton_ai.progress import ProgressBar

TERMINAL_STATES = frozenset(
    {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}
)
# A watch stream broken by the network is reopened this many times in a row before giving up;
# the first message of a new stream is the whole job, so nothing is lost.
WATCH_RETRIES = 3
RETRY_BACKOFF_SECONDS = 0.2

Job = TypeVar("Job")


def is_terminal(job: Any) -> bool:
    return job.status.state in TERMINAL_STATES


def follow(
    job: Job,
    watch: Callable[[], Iterable[Job]],
    bar: ProgressBar | None = None,
) -> Job:
    """Watch `job` until it is terminal and return it; raise JobFailedError unless it
    SUCCEEDED. `watch()` opens a Watch stream and yields the job of each message."""
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
            if error.code() != grpc.StatusCode.UNAVAILABLE or failures >= WATCH_RETRIES:
                raise from_rpc_error(error) from None
        else:
            if is_terminal(job):
                break
            if failures >= WATCH_RETRIES:  # the stream keeps ending before the job does
                raise UnknownError(
                    grpc.StatusCode.UNKNOWN,
                    "",
                    f"the watch of {job.name} ended before the job did",  # type: ignore[attr-defined]
                )
        failures += 1
        time.sleep(RETRY_BACKOFF_SECONDS * 2**failures)
    status = job.status  # type: ignore[attr-defined]
    if status.state != job_pb2.JOB_STATE_SUCCEEDED:
        error = status.error if status.HasField("error") else None
        raise job_failed(job.name, job_pb2.JobState.Name(status.state), error)  # type: ignore[attr-defined]
    return job
