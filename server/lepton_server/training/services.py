"""Training's service built from its parts: jobs on the shared JobRunner in
`<data-dir>/training/jobs.sqlite`, their log and metric records, checkpoints and blobs, the
capacity and queue, the executor (local processes or Ray), and clients of the data layer and
the registry, which connect once the server listens (to this server, unless other addresses
are configured)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable

from pyarrow import fs

from lepton.training.v1 import training_job_pb2 as tj
from lepton.training.v1 import training_service_pb2 as pb
from lepton.training.v1 import training_service_pb2_grpc as pb_grpc
from lepton.type.v1 import job_pb2
from lepton_ai.data import DataManager
from lepton_ai.registry import ModelRegistry
from lepton_server.aip.filtering.fields import FieldType, FilterField
from lepton_server.aip.jobs.collection import JobCollection
from lepton_server.aip.jobs.metrics import job_metrics
from lepton_server.aip.jobs.runner import TERMINAL, JobRunner
from lepton_server.aip.jobs.store import JobTable
from lepton_server.aip.pagination import PageTokens
from lepton_server.config import ServerConfig
from lepton_server.runtime import ray_connection
from lepton_server.runtime.errors import LeptonError, Unavailable
from lepton_server.runtime.file_roots import FileRoots
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_calls import client_options
from lepton_server.runtime.layer_registry import selected_layers
from lepton_server.runtime.sealed_files import SealedFiles
from lepton_server.runtime.sqlite_database import SqliteDatabase
from lepton_server.runtime.startup_errors import StartupError
from lepton_server.training.attempts import AttemptPlan
from lepton_server.training.capacity import Capacity
from lepton_server.training.checkpoints import Checkpoints
from lepton_server.training.job_queue import JobQueue
from lepton_server.training.job_records import JobRecords
from lepton_server.training.job_runs import Attempt, JobRun, RunContext
from lepton_server.training.layer import TrainingConfig
from lepton_server.training.layer_clients import DataLayerSource
from lepton_server.training.local_attempts import LocalAttempt
from lepton_server.training.model_registration import ModelRegistration
from lepton_server.training.servicer import TrainingServicer
from lepton_server.training.training_blobs import TrainingBlobs
from lepton_server.training.training_jobs import KIND, TrainingJobs

SERVICE = pb.DESCRIPTOR.services_by_name["TrainingService"].full_name
ALWAYS_FEATURES = (
    "training.pause",
    "training.entrypoint",
    "training.secrets",
    "training.conversion",
)
REGISTRY_FEATURES = ("training.registration", "training.late_registration")
STRING_EQUALITY = frozenset({"=", "!="})
TIME_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
FILTER_FIELDS = (
    FilterField("update_time", FieldType.TIMESTAMP, TIME_COMPARISONS),
    FilterField("display_name", FieldType.STRING, frozenset({"=", "!=", ":"})),
    FilterField("spec.trainer.builtin.id", FieldType.STRING, STRING_EQUALITY),
    FilterField("creator", FieldType.STRING, STRING_EQUALITY),
    FilterField("resolved_inputs.datasets.dataset_version", FieldType.STRING, {"="}, repeated=True),
)


class LayerClients:
    """The data layer and registry training calls, connected when the server listens."""

    def __init__(self, server: ServerConfig, config: TrainingConfig) -> None:
        hosted = selected_layers(server)
        self._data_address = config.data_address
        self._registry_address = config.registry_address
        self.hosts_data = "data" in hosted
        self.hosts_registry = "registry" in hosted
        self._server = server
        self._data: DataManager | None = None
        self._registry: ModelRegistry | None = None
        self.data_address = ""

    @property
    def has_registry(self) -> bool:
        return self.hosts_registry or self._registry_address is not None

    def connect(self, own_address: str) -> None:
        data = self._data_address or (own_address if self.hosts_data else None)
        registry = self._registry_address or (own_address if self.hosts_registry else None)
        if data is not None:
            options = client_options(self._server, data == own_address)
            self._data = DataManager.connect(data, **options)
            self.data_address = data
        if registry is not None:
            options = client_options(self._server, registry == own_address)
            self._registry = ModelRegistry.connect(registry, **options)

    def data_source(self) -> DataLayerSource:
        if self._data is None:
            raise Unavailable(
                reason="SERVICE_UNAVAILABLE",
                message="this server reaches no data layer (--training-data-address)",
            )
        return DataLayerSource(self._data)

    def registration(self) -> ModelRegistration | None:
        if self._registry is None:
            return None
        return ModelRegistration(self._registry, same_server=self._registry_address is None)

    def close(self) -> None:
        for client in (self._data, self._registry):
            if client is not None:
                client.close()


def build(server: ServerConfig, config: TrainingConfig) -> list[HostedService]:
    """Open training's stores and describe the service."""
    if config.executor == "ray":
        # Now, on the main thread and before the server sets its own signal handlers:
        # connected later, Ray's SIGTERM handler would replace the server's graceful stop.
        try:
            ray_connection.connect(config.ray_address)
        except ConnectionError as error:
            raise StartupError(f"--ray-address {config.ray_address}: {error}") from None
    root = server.data_dir / "training"
    # What attempts of a server that was killed left on disk: a job's attempt starts afresh
    # (from a checkpoint, which is a blob), and its trainer ended with that server (TRN-063).
    shutil.rmtree(root / "work", ignore_errors=True)
    store = SqliteDatabase(root / "training.sqlite", "")
    records = JobRecords(root / "records.sqlite", keepalive_seconds=config.keepalive_seconds)
    sealed = None
    if server.encryption is not None:
        sealed = SealedFiles(server.encryption, fs.LocalFileSystem())
    blobs = TrainingBlobs(root / "blobs", sealed)
    tokens = PageTokens()
    checkpoints = Checkpoints(root / "checkpoints.sqlite", blobs, tokens)
    if config.cpu is None or config.memory_bytes is None:
        machine = Capacity.of_this_machine()
        capacity = Capacity(config.cpu or machine.cpu, config.memory_bytes or machine.memory_bytes)
    else:
        capacity = Capacity(config.cpu, config.memory_bytes)

    def on_change(job: tj.TrainingJob) -> None:
        job.update_time.GetCurrentTime()
        if job.status.state in TERMINAL:
            records.end(job.name)

    runner = JobRunner(JobTable(root / "jobs.sqlite"), {KIND: tj.TrainingJob}, on_change=on_change)
    collection = JobCollection(
        runner,
        KIND,
        tokens,
        extra_fields=FILTER_FIELDS,
        orderable=("status.create_time", "update_time", "display_name"),
        values={
            "update_time": lambda job: job.update_time,
            "spec.trainer.builtin.id": lambda job: job.spec.trainer.builtin.id,
            "resolved_inputs.datasets.dataset_version": lambda job: [
                d.dataset_version for d in job.resolved_inputs.datasets
            ],
        },
    )
    clients = LayerClients(server, config)
    features = ALWAYS_FEATURES + (REGISTRY_FEATURES if clients.has_registry else ())

    def positions(order: dict[str, int]) -> None:
        for name, position in order.items():
            if runner.resource(name).queue_position != position:
                runner.update(name, lambda job, p=position: setattr(job, "queue_position", p))

    context = RunContext(
        records=records,
        checkpoints=checkpoints,
        blobs=blobs,
        queue=JobQueue(capacity, positions),
        executor=_executor(config),
        data=clients.data_source,
        data_endpoint=lambda: clients.data_address,
        registration=clients.registration,
        work_root=root / "work",
        file_roots=FileRoots([server.data_dir / "files", *config.file_roots]),
        grace_seconds=config.stop_grace_seconds,
        pinned=set,
    )
    jobs = TrainingJobs(
        collection,
        context,
        store,
        capacity=capacity,
        features=features,
        secrets=config.secrets,
        max_jobs_per_creator=config.max_jobs_per_creator,
    )
    context.pinned = jobs.pinned
    checkpoints.in_use = jobs.uses_blob
    servicer = TrainingServicer(jobs, tokens)

    def start(loop: asyncio.AbstractEventLoop, address: str) -> None:
        clients.connect(address)
        loop.create_task(_recover(jobs))

    def close() -> None:
        for run in jobs.runs.values():
            run.kill()
        clients.close()
        store.close()

    return [
        HostedService(
            SERVICE,
            lambda grpc_server: pb_grpc.add_TrainingServiceServicer_to_server(
                servicer, grpc_server
            ),
            features=features,
            metrics=job_metrics("training", runner, server.tenant),
            start=start,
            close=close,
        )
    ]


def _executor(config: TrainingConfig) -> Callable[[AttemptPlan], Attempt]:
    if config.executor == "ray":
        from lepton_server.training.ray_attempts import RayAttempt  # noqa: PLC0415

        return lambda plan: RayAttempt(plan, config.ray_address)
    return LocalAttempt


async def _recover(jobs: TrainingJobs) -> None:
    """TRN-031: jobs a previous process left unfinished. QUEUED and PAUSED ones wait again;
    a RUNNING one lost its workers and restarts if restarts remain, else ends FAILED
    (WORKER_LOST); a CANCELLING one ends CANCELLED."""
    runner = jobs.runner
    for job in runner.list(KIND, None):
        state = job.status.state
        if state in TERMINAL:
            continue
        runner.adopt(KIND, KIND, job)
        name = job.name
        if state == job_pb2.JOB_STATE_CANCELLING:
            await runner.set_state(name, job_pb2.JOB_STATE_CANCELLED, "the server restarted")
            continue
        try:
            checked = jobs.check(job)
        except LeptonError as error:
            await runner.fail(name, error)
            continue
        if state == job_pb2.JOB_STATE_RUNNING:
            if job.restart_count >= job.spec.max_restart_count:
                await runner.fail(
                    name,
                    Unavailable(
                        reason="WORKER_LOST",
                        message="the server stopped while the job ran",
                        metadata={"worker_index": "0"},
                    ),
                )
                continue
            runner.update(name, _restarted)
            await runner.set_state(name, job_pb2.JOB_STATE_QUEUED, "restart after WORKER_LOST")
        run = JobRun(jobs.context, name, checked)
        jobs.runs[name] = run
        runner.start(name, run, queues_itself=True)


def _restarted(job: tj.TrainingJob) -> None:
    job.restart_count += 1
