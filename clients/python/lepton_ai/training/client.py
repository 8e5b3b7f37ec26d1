"""`TrainingClient`: the training layer of a Lepton server (lepton.training.v1.TrainingService)
as Python calls, and `TrainingRun`, the handle of one job.

    with TrainingClient.connect("localhost:50051") as training:
        run = training.fit("churn", Trainer("sklearn.random_forest_classifier", n_estimators=200),
                           label="churned", register="models/churn", aliases=["staging"])
        for point in run.metrics(follow=True): ...
        job = run.wait()                   # a progress bar follows steps and the latest metric
        print(job.output.model_version)

A log or metric stream that breaks is resumed from the next sequence number, and a followed
stream ends only at the server's explicit `complete` (spec/training.md, "Logs, metrics and
checkpoints"). A job that ends FAILED or CANCELLED raises `JobFailedError` from `wait`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc

from lepton.training.v1 import checkpoint_pb2, log_entry_pb2, metric_pb2, trainer_pb2
from lepton.training.v1 import training_job_pb2 as tj
from lepton.training.v1 import training_service_pb2 as pb
from lepton.training.v1 import training_service_pb2_grpc as pb_grpc
from lepton.type.v1 import dataset_reference_pb2 as refs
from lepton.type.v1.model_format_pb2 import ModelFormat
from lepton_ai.client import ServiceClient
from lepton_ai.data.catalog import DatasetCatalog
from lepton_ai.errors import UnknownError, from_rpc_error
from lepton_ai.job_watch import follow, is_terminal
from lepton_ai.retries import STREAM_RETRIES, pause_before_retry

Value = bool | int | float | str | Sequence[int] | Sequence[float] | Sequence[str]


def hyperparameter(value: Value) -> trainer_pb2.HyperparameterValue:
    """A Python value as a typed HyperparameterValue (bool, int, float, str or a list)."""
    for kind, field in _SCALARS:
        if isinstance(value, kind):
            return trainer_pb2.HyperparameterValue(**{field: value})
    items = list(value)  # type: ignore[arg-type]
    if all(isinstance(item, str) for item in items):
        return trainer_pb2.HyperparameterValue(string_list=trainer_pb2.StringList(values=items))
    if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        return trainer_pb2.HyperparameterValue(int64_list=trainer_pb2.Int64List(values=items))
    return trainer_pb2.HyperparameterValue(
        double_list=trainer_pb2.DoubleList(values=[float(item) for item in items])
    )


# bool before int: a bool is an int in Python.
_SCALARS = (
    (bool, "bool_value"),
    (int, "int64_value"),
    (float, "double_value"),
    (str, "string_value"),
)


class Trainer:
    """Which trainer a job runs: a built-in one by ID with its hyperparameters, or a command
    line (`Trainer.command`), which reports through `lepton_ai.training.report`."""

    def __init__(self, trainer_id: str, **hyperparameters: Value) -> None:
        self.message = tj.Trainer(builtin=tj.BuiltinTrainer(id=trainer_id))
        self.hyperparameters = dict(hyperparameters)

    @classmethod
    def command(
        cls,
        command: str,
        *,
        working_dir: str = "",
        pip_packages: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        **hyperparameters: Value,
    ) -> Trainer:
        """A shell command run in `working_dir` (a file:// URI the server may read)."""
        trainer = cls("", **hyperparameters)
        trainer.message = tj.Trainer(
            entrypoint=tj.EntrypointTrainer(
                command=command,
                working_dir_uri=working_dir,
                pip_packages=list(pip_packages),
                env=dict(env or {}),
            )
        )
        return trainer


class TrainingClient(ServiceClient):
    """Trainers and training jobs over one gRPC channel (see the module docstring)."""

    def _create_stubs(self, channel: grpc.Channel) -> None:
        super()._create_stubs(channel)
        self._training = pb_grpc.TrainingServiceStub(channel)

    def trainers(self) -> list[trainer_pb2.TrainerInfo]:
        """Every built-in trainer with its hyperparameter declarations."""
        request = pb.ListTrainersRequest(page_size=100)
        return list(self.paginate(self._training.ListTrainers, request, "trainers"))

    def fit(
        self,
        dataset: str,
        trainer: Trainer | str,
        hyperparameters: Mapping[str, Value] | None = None,
        *,
        label: str = "",
        features: Sequence[str] = (),
        validation: str | None = None,
        test: str | None = None,
        model_format: str | int | None = None,
        register: str | None = None,
        aliases: Sequence[str] = (),
        job_id: str = "",
        labels: Mapping[str, str] | None = None,
        resources: tj.ResourceRequirements | None = None,
        checkpoint_policy: tj.CheckpointPolicy | None = None,
        max_restart_count: int = 0,
        wait: bool = False,
    ) -> TrainingRun:
        """Start a job training `trainer` on `dataset` (a dataset, whose head version is
        used, or a version or tag name), and return its handle (after `wait()` with `wait`).
        `register` names the model the output becomes a version of (created when missing),
        `aliases` point at that version once READY."""
        if isinstance(trainer, str):
            trainer = Trainer(trainer)
        values = {**trainer.hyperparameters, **(hyperparameters or {})}
        spec = tj.TrainingJobSpec(
            trainer=trainer.message,
            hyperparameters={key: hyperparameter(value) for key, value in values.items()},
            data=tj.TrainingData(
                datasets=self._datasets(dataset, validation, test),
                feature_columns=list(features),
                label_column=label,
            ),
            max_restart_count=max_restart_count,
        )
        if resources is not None:
            spec.resources.CopyFrom(resources)
        if checkpoint_policy is not None:
            spec.checkpoint_policy.CopyFrom(checkpoint_policy)
        if model_format is not None:
            spec.output.model_format = _model_format(model_format)
        if register is not None:
            spec.output.registration.CopyFrom(
                tj.ModelRegistration(model=register, create_model=True, aliases=list(aliases))
            )
        job = tj.TrainingJob(spec=spec, labels=dict(labels or {}))
        request = pb.CreateTrainingJobRequest(training_job=job, training_job_id=job_id)
        created = self.call(self._training.CreateTrainingJob, request).training_job
        run = TrainingRun(self, created.name)
        if wait:
            run.wait()
        return run

    def _datasets(
        self, train: str, validation: str | None, test: str | None
    ) -> list[refs.DatasetReference]:
        catalog = DatasetCatalog(self.channel, progress=False, timeout=self.timeout)
        roles = [
            (train, refs.DATASET_ROLE_TRAIN),
            (validation, refs.DATASET_ROLE_VALIDATION),
            (test, refs.DATASET_ROLE_TEST),
        ]
        return [
            refs.DatasetReference(dataset_version=catalog.resolve(source), role=role)
            for source, role in roles
            if source is not None
        ]

    def job(self, name: str) -> TrainingRun:
        """The handle of an existing job ("trainingJobs/{id}")."""
        return TrainingRun(self, name)

    def jobs(self, *, filter: str = "", order_by: str = "") -> Iterator[tj.TrainingJob]:
        """Every job matching `filter`, lazily, newest first unless `order_by` says otherwise."""
        request = pb.ListTrainingJobsRequest(page_size=100, filter=filter, order_by=order_by)
        return self.paginate(self._training.ListTrainingJobs, request, "training_jobs")


class TrainingRun:
    """One training job: its state, streams, checkpoints and output."""

    def __init__(self, client: TrainingClient, name: str) -> None:
        self.client = client
        self.name = name
        self._stub = client._training

    def get(self) -> tj.TrainingJob:
        """The job as it is now."""
        request = pb.GetTrainingJobRequest(name=self.name)
        return self.client.call(self._stub.GetTrainingJob, request).training_job

    def wait(self) -> tj.TrainingJob:
        """Follow the job to its end with a progress bar and return it SUCCEEDED; raise
        JobFailedError when it ends FAILED or CANCELLED."""
        job = self.get()
        if is_terminal(job):
            return follow(job, lambda: ())
        request = pb.WatchTrainingJobRequest(name=self.name)
        with self.client.progress_bar(f"training {self.name}", None, "steps") as bar:

            def updates() -> Iterator[tj.TrainingJob]:
                for message in self._stub.WatchTrainingJob(request):
                    bar.note(_latest_metrics(message.training_job))
                    yield message.training_job

            return follow(job, updates, bar)

    def cancel(self) -> tj.TrainingJob:
        request = pb.CancelTrainingJobRequest(name=self.name)
        return self.client.call(self._stub.CancelTrainingJob, request).training_job

    def pause(self) -> tj.TrainingJob:
        request = pb.PauseTrainingJobRequest(name=self.name)
        return self.client.call(self._stub.PauseTrainingJob, request).training_job

    def resume(self) -> tj.TrainingJob:
        request = pb.ResumeTrainingJobRequest(name=self.name)
        return self.client.call(self._stub.ResumeTrainingJob, request).training_job

    def logs(self, *, follow: bool = False, start: int = 0) -> Iterator[log_entry_pb2.LogEntry]:
        """The job's log lines from sequence `start` (0: the oldest); with `follow`, until
        the job has ended and every line was sent."""
        return _records(
            lambda first: self._stub.StreamTrainingJobLogs(
                pb.StreamTrainingJobLogsRequest(name=self.name, start_sequence=first, follow=follow)
            ),
            "entries",
            start,
            follow,
        )

    def metrics(
        self, names: Sequence[str] = (), *, follow: bool = False, start: int = 0
    ) -> Iterator[metric_pb2.MetricPoint]:
        """The job's metric points (only `names` when given), like `logs`."""
        return _records(
            lambda first: self._stub.StreamTrainingJobMetrics(
                pb.StreamTrainingJobMetricsRequest(
                    name=self.name, start_sequence=first, metric_names=list(names), follow=follow
                )
            ),
            "points",
            start,
            follow,
        )

    def checkpoints(self) -> list[checkpoint_pb2.Checkpoint]:
        """The job's checkpoints, oldest step first."""
        request = pb.ListCheckpointsRequest(parent=self.name, page_size=100)
        return list(self.client.paginate(self._stub.ListCheckpoints, request, "checkpoints"))

    def download_checkpoint(self, checkpoint: str, destination: str | Path) -> Path:
        """A checkpoint's content, written to `destination`."""
        request = pb.DownloadCheckpointRequest(name=checkpoint)
        return _download(self._stub.DownloadCheckpoint(request), Path(destination))

    def download_output(self, destination: str | Path) -> Path:
        """The trained model of a SUCCEEDED job, written to `destination`."""
        request = pb.DownloadTrainingJobOutputRequest(name=self.name)
        return _download(self._stub.DownloadTrainingJobOutput(request), Path(destination))

    def register(self, model: str, *, aliases: Sequence[str] = (), checkpoint: str = "") -> str:
        """Register the job's output (or a checkpoint's model) as a new version of `model`."""
        request = pb.RegisterTrainingJobOutputRequest(
            name=self.name,
            checkpoint=checkpoint,
            registration=tj.ModelRegistration(
                model=model, create_model=True, aliases=list(aliases)
            ),
        )
        return self.client.call(self._stub.RegisterTrainingJobOutput, request).model_version


def _records(open_stream: Any, field: str, start: int, following: bool) -> Iterator[Any]:
    """Records of a resumable stream: reopened from the next sequence when it breaks; a
    followed stream ends only with `complete`."""
    next_sequence, failures = start, 0
    while True:
        complete = False
        try:
            for response in open_stream(next_sequence):
                for record in getattr(response, field):
                    next_sequence = record.sequence + 1
                    failures = 0
                    yield record
                complete = complete or response.complete
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or failures >= STREAM_RETRIES:
                raise from_rpc_error(error) from None
        else:
            if complete or not following:
                return
            if failures >= STREAM_RETRIES:
                raise UnknownError(
                    grpc.StatusCode.UNKNOWN, "", "the stream kept ending before the job did"
                )
        failures += 1
        pause_before_retry(failures)


def _latest_metrics(job: tj.TrainingJob, most: int = 3) -> str:
    """The latest value of a job's first metrics, for a progress bar: "train/loss 0.25"."""
    return "  ".join(f"{m.name} {m.latest.value:.4g}" for m in job.metrics[:most])


def _download(responses: Iterator[Any], destination: Path) -> Path:
    try:
        with destination.open("wb") as sink:
            for response in responses:
                if response.HasField("chunk"):
                    sink.write(response.chunk.data)
    except grpc.RpcError as error:
        raise from_rpc_error(error) from None
    return destination


def _model_format(value: str | int) -> int:
    if isinstance(value, int):
        return value
    return ModelFormat.Value(f"MODEL_FORMAT_{value.upper().removeprefix('MODEL_FORMAT_')}")
