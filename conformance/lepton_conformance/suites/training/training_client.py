"""A client of lepton.training.v1.TrainingService for the training profile: jobs of the
conformance trainer built from keyword hyperparameters, watched to their end or polled to a
point, their log, metric and checkpoint listings read whole, and downloads collected back into
bytes. Every job a client creates is cancelled and deleted when its case ends. Written apart
from any server, from the contract and spec/training.md only."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.message import Message

from lepton.training.v1 import checkpoint_pb2, trainer_pb2, training_job_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton.type.v1 import dataset_reference_pb2, job_pb2
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.data.dataset_client import walk_pages

SERVICE = pb.DESCRIPTOR.services_by_name["TrainingService"].full_name
CONFORMANCE = "lepton.conformance"
TRAIN = dataset_reference_pb2.DATASET_ROLE_TRAIN
QUEUED, RUNNING, PAUSED = (
    job_pb2.JOB_STATE_QUEUED,
    job_pb2.JOB_STATE_RUNNING,
    job_pb2.JOB_STATE_PAUSED,
)
SUCCEEDED, FAILED = job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED
CANCELLING, CANCELLED = job_pb2.JOB_STATE_CANCELLING, job_pb2.JOB_STATE_CANCELLED
TERMINAL = job_lifecycle.TERMINAL
STDOUT = 1  # LogStream.LOG_STREAM_STDOUT
PERIODIC = checkpoint_pb2.CHECKPOINT_TRIGGER_PERIODIC
# spec/training.md, "Lifecycle": the only transitions of a training job.
TRANSITIONS: job_lifecycle.Transitions = {
    QUEUED: frozenset({RUNNING, PAUSED, CANCELLED, FAILED}),
    RUNNING: frozenset({SUCCEEDED, FAILED, QUEUED, PAUSED, CANCELLING}),
    PAUSED: frozenset({QUEUED, CANCELLED}),
    CANCELLING: frozenset({CANCELLED}),
}
# TRN-024, TRN-026, TRN-028: what the conformance trainer gets to stop, pause or hit a limit.
STOP_S = 60.0
# How long a conformance job of the suite (a few steps of 0.05 s) may take from create to end,
# worker start-up and a queue behind the previous case's job included.
JOB_S = 90.0
POLL_S = 0.05
# How long the end of a case waits for each job it cancelled before deleting it; a job that
# has not ended by then is left behind.
CLEANUP_S = 15.0


def hyperparameter(value: bool | int | float | str) -> trainer_pb2.HyperparameterValue:
    """The HyperparameterValue of a Python value, of its own kind."""
    if isinstance(value, bool):
        return trainer_pb2.HyperparameterValue(bool_value=value)
    if isinstance(value, int):
        return trainer_pb2.HyperparameterValue(int64_value=value)
    if isinstance(value, float):
        return trainer_pb2.HyperparameterValue(double_value=value)
    return trainer_pb2.HyperparameterValue(string_value=value)


def conformance_job(train: str, *, fields: dict[str, Any] | None = None, **hyper: Any) -> Any:
    """A TrainingJob of the conformance trainer on the dataset version `train` with the
    hyperparameters `hyper` (steps default to 3 of 0.05 s); `fields` go into its spec."""
    hyper = {"steps": 3, "step_seconds": 0.05, **hyper}
    spec = training_job_pb2.TrainingJobSpec(
        trainer=training_job_pb2.Trainer(builtin=training_job_pb2.BuiltinTrainer(id=CONFORMANCE)),
        hyperparameters={k: hyperparameter(v) for k, v in hyper.items()},
        data=training_job_pb2.TrainingData(
            datasets=[dataset_reference_pb2.DatasetReference(dataset_version=train, role=TRAIN)]
        ),
        **(fields or {}),
    )
    return training_job_pb2.TrainingJob(spec=spec)


def state_name(job: Any) -> str:
    return job_lifecycle.name_of(job.status.state)


class TrainingClient:
    """TrainingService calls with the case's token and deadline. Use it in a `with` block:
    the jobs it created are cancelled and deleted at the end."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self.created: list[str] = []

    def __enter__(self) -> TrainingClient:
        return self

    def __exit__(self, *_: object) -> None:
        for name in self.created:
            with contextlib.suppress(grpc.RpcError):
                self.call("CancelTrainingJob", pb.CancelTrainingJobRequest(name=name))
        for name in self.created:
            with contextlib.suppress(grpc.RpcError, Failed):
                self.wait(name, lambda job: job.status.state in TERMINAL, "ended", CLEANUP_S)
            with contextlib.suppress(grpc.RpcError):
                self.call("DeleteTrainingJob", pb.DeleteTrainingJobRequest(name=name))

    def _method(self, name: str) -> Any:
        method = pb.DESCRIPTOR.services_by_name["TrainingService"].methods_by_name[name]
        request_class = getattr(pb, method.input_type.name)
        response_class = getattr(pb, method.output_type.name)
        factory = (
            self.ctx.channel.unary_stream
            if method.server_streaming
            else (self.ctx.channel.unary_unary)
        )
        return factory(
            f"/{SERVICE}/{name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )

    def call(self, name: str, request: Message, timeout: float | None = None) -> Any:
        """A unary call, or a server stream as its call object (iterate it; cancel it)."""
        return self._method(name)(
            request, metadata=self.ctx.metadata, timeout=timeout or self.ctx.timeout
        )

    def read(self, name: str, request: Message, timeout: float | None = None) -> list[Any]:
        """Every message of a server stream that must end with OK."""
        return expect.succeeds(lambda: list(self.call(name, request, timeout)), name)

    # --- jobs -------------------------------------------------------------------------------

    def create(self, job: Any, job_id: str = "", **fields: Any) -> Any:
        """CreateTrainingJob, which must succeed; the returned job."""
        request = pb.CreateTrainingJobRequest(training_job=job, training_job_id=job_id, **fields)
        created = expect.succeeds(
            lambda: self.call("CreateTrainingJob", request).training_job, "CreateTrainingJob"
        )
        if created.name:
            self.created.append(created.name)
        return created

    def try_create(self, request: pb.CreateTrainingJobRequest) -> Any:
        """CreateTrainingJob as is (it may fail); remembers a job it created."""
        created = self.call("CreateTrainingJob", request).training_job
        if created.name:
            self.created.append(created.name)
        return created

    def get(self, name: str) -> Any:
        request = pb.GetTrainingJobRequest(name=name)
        return expect.succeeds(lambda: self.call("GetTrainingJob", request).training_job)

    def cancel(self, name: str) -> Any:
        request = pb.CancelTrainingJobRequest(name=name)
        return expect.succeeds(
            lambda: self.call("CancelTrainingJob", request).training_job, "CancelTrainingJob"
        )

    def jobs(self, **fields: Any) -> list[Any]:
        """Every job of a listing, following next_page_token."""
        return self.walk("ListTrainingJobs", pb.ListTrainingJobsRequest(**fields))

    def walk(self, rpc: str, request: Message) -> list[Any]:
        """Every item of the listing `rpc`, following next_page_token, each page at most
        page_size items long."""
        return walk_pages(lambda page: self.call(rpc, page), rpc, request)

    def watch(self, name: str, timeout: float = JOB_S) -> list[Any]:
        """Every message of WatchTrainingJob until the job ends, checked (TRN-035, TRN-021)."""
        stream = self.call("WatchTrainingJob", pb.WatchTrainingJobRequest(name=name), timeout)
        return job_lifecycle.follow(stream, lambda r: r.training_job, name, TRANSITIONS)

    def finish(self, name: str, timeout: float = JOB_S) -> Any:
        """The job once it has ended, watched to its end."""
        return self.watch(name, timeout)[-1]

    def run(self, job: Any, timeout: float = JOB_S) -> Any:
        """Create `job` and watch it to its end; the last message."""
        return self.finish(self.create(job).name, timeout)

    def wait(
        self, name: str, until: Callable[[Any], bool], what: str, timeout: float = JOB_S
    ) -> Any:
        """Poll GetTrainingJob until `until(job)` (each observation checked); that job. A job
        that ends first, or a timeout, is Failed."""
        deadline = time.monotonic() + timeout
        seen: list[Any] = []
        while True:
            job = self.get(name)
            seen.append(job)
            job_lifecycle.check_observations(seen[-2:], name, TRANSITIONS)
            if until(job):
                return job
            if job.status.state in TERMINAL or time.monotonic() > deadline:
                raise Failed(
                    f"{name} to be {what}", f"{state_name(job)} ({job.status.error.reason})"
                )
            time.sleep(POLL_S)

    def running(self, name: str, steps: int = 1) -> Any:
        """The job once RUNNING with at least `steps` steps completed."""
        return self.wait(
            name,
            lambda job: job.status.state == RUNNING and job.status.progress.completed >= steps,
            f"RUNNING with {steps} step(s) done",
        )

    # --- logs, metrics, checkpoints, downloads ---------------------------------------------

    def logs(self, name: str, **fields: Any) -> list[Any]:
        """The responses of StreamTrainingJobLogs."""
        request = pb.StreamTrainingJobLogsRequest(name=name, **fields)
        return self.read("StreamTrainingJobLogs", request, JOB_S)

    def metrics(self, name: str, **fields: Any) -> list[Any]:
        """The responses of StreamTrainingJobMetrics."""
        request = pb.StreamTrainingJobMetricsRequest(name=name, **fields)
        return self.read("StreamTrainingJobMetrics", request, JOB_S)

    def checkpoints(self, parent: str, page_size: int = 0) -> list[Any]:
        """Every checkpoint of a job, following next_page_token."""
        request = pb.ListCheckpointsRequest(parent=parent, page_size=page_size)
        return self.walk("ListCheckpoints", request)

    def checkpoint(self, name: str) -> Any:
        request = pb.GetCheckpointRequest(name=name)
        return expect.succeeds(lambda: self.call("GetCheckpoint", request).checkpoint)

    def download(self, rpc: str, name: str, **fields: Any) -> tuple[Any, list[Any]]:
        """The descriptor and chunks of DownloadCheckpoint or DownloadTrainingJobOutput."""
        request = getattr(pb, f"{rpc}Request")(name=name, **fields)
        first, *rest = self.read(rpc, request) or [None]
        expect.holds(
            first is not None and first.WhichOneof("payload") == "artifact",
            f"the first message of {rpc} to carry the artifact",
            str(first),
        )
        for message in rest:
            expect.equal(message.WhichOneof("payload"), "chunk", f"later messages of {rpc}")
        return first.artifact, [m.chunk for m in rest]


def entries(responses: list[Any]) -> list[Any]:
    """The log lines of StreamTrainingJobLogs responses, in order."""
    return [entry for response in responses for entry in response.entries]


def points(responses: list[Any]) -> list[Any]:
    """The metric points of StreamTrainingJobMetrics responses, in order."""
    return [point for response in responses for point in response.points]


def trainer_lines(responses: list[Any]) -> list[str]:
    """The texts of the STDOUT lines of a log."""
    return [e.text for e in entries(responses) if e.stream == STDOUT]


@contextlib.contextmanager
def no_change(client: TrainingClient, name: str) -> Iterator[None]:
    """The job is the same (update_time and state) after the block as before it."""
    before = client.get(name)
    yield
    after = client.get(name)
    expect.equal(
        (state_name(after), after.update_time),
        (state_name(before), before.update_time),
        f"(state, update_time) of {name} after a refused call",
    )
