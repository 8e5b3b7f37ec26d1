"""The agent's local Open Inference Protocol endpoint (EDG-120): the inference layer's
engine and servicer, mounted as `inference.GRPCInferenceService` (and the Lepton name) on
the agent's --serve address, over a repository of the committed releases. Each model is
named after its deployment ID ("deployments/cam-1" serves as model "cam-1") with the single
version "1"; a newly committed release replaces it atomically, so a request in flight
finishes on the release it started with. Every inference of a deployment's model goes to
the outbox as an InferenceEvent with the deployment and the rollout that assigned its
release (EDG-119)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import duration_pb2, timestamp_pb2
from grpc import aio

from lepton.edge.v1 import telemetry_pb2
from lepton.type.v1 import error_pb2
from lepton_server.config import ServerConfig
from lepton_server.inference import wire
from lepton_server.inference.engine import EXTENSIONS, InferenceEngine
from lepton_server.inference.model_repository import (
    LoadedVersion,
    ModelConfig,
    ModelEntry,
    ModelRepository,
)
from lepton_server.inference.onnx_model import OnnxModel
from lepton_server.inference.servicer import (
    PRESERIALIZED,
    SERVICE,
    SERVICE_NAMES,
    InferenceServicer,
)
from lepton_server.inference.statistics import ModelStatistics
from lepton_server.runtime.errors import ERROR_DOMAIN, LeptonError, NotFound
from lepton_server.runtime.host import RunningServer, ServerHost
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.method_handlers import method_handlers, mounter

VERSION = "1"
INFERENCE_STREAM = "inference"
DEPLOYMENTS = "deployments/"


@dataclass(frozen=True)
class ServedRelease:
    """What an inference of a model is attributed to."""

    deployment: str  # "deployments/{deployment}"
    rollout: str
    model_version: str


class ReleaseRepository(ModelRepository):
    """The committed releases as models, by deployment ID; nothing is read from a directory
    tree: releases arrive with `serve` and leave with `remove`."""

    def __init__(self) -> None:
        super().__init__(None)
        self._paths: dict[str, Path] = {}

    def model_names(self) -> list[str]:
        with self._lock:
            return sorted(self._paths)

    def load(self, name: str) -> list[LoadedVersion]:
        """RepositoryModelLoad: reload the committed release's model file."""
        with self._lock:
            path = self._paths.get(name)
        if path is None:
            raise NotFound(
                reason="MODEL_NOT_FOUND",
                message=f"no committed release serves as model {name!r}",
                metadata={"model": name},
            )
        return [self.serve(name, OnnxModel(path), path)]

    def serve(self, name: str, model: OnnxModel, path: Path) -> LoadedVersion:
        """Serve `model` (loaded from `path`) as `name`, replacing what served before."""
        loaded = LoadedVersion(name, VERSION, model, ModelConfig(), ModelStatistics(name, VERSION))
        with self._lock:
            self._paths[name] = path
            self._models[name] = ModelEntry(
                loaded={VERSION: loaded}, states={VERSION: ("READY", "")}
            )
        return loaded

    def remove(self, name: str) -> None:
        with self._lock:
            self._paths.pop(name, None)
            self._models.pop(name, None)


class RecordingServicer(InferenceServicer):
    """The inference layer's servicer, recording the outcome of every inference."""

    def __init__(
        self, engine: InferenceEngine, record: Callable[[str, str, int, LeptonError | None], None]
    ) -> None:
        super().__init__(engine)
        self._record = record

    async def ModelInfer(self, request: wire.InferRequest, context: aio.ServicerContext) -> bytes:
        started = time.perf_counter_ns()
        message = request.message
        try:
            response = await super().ModelInfer(request, context)
        except LeptonError as error:
            self._record(message.model_name, message.id, time.perf_counter_ns() - started, error)
            raise
        self._record(message.model_name, message.id, time.perf_counter_ns() - started, None)
        return response

    async def _stream_one(self, request: wire.InferRequest) -> bytes:
        started = time.perf_counter_ns()
        message = request.message
        try:
            answer = await self.engine.infer(message, request.raw)
        except LeptonError as error:
            self._record(message.model_name, message.id, time.perf_counter_ns() - started, error)
            return await super()._stream_one(request)
        self._record(message.model_name, message.id, time.perf_counter_ns() - started, None)
        return wire.stream_response(answer)


class LocalInference:
    """The OIP server of the agent and the releases it serves."""

    def __init__(
        self,
        address: str,
        state_dir: Path,
        append_event: Callable[[str, telemetry_pb2.TelemetryRecord], object],
    ) -> None:
        self.repository = ReleaseRepository()
        self.engine = InferenceEngine(self.repository, ServerConfig().max_message_bytes)
        self._served: dict[str, ServedRelease] = {}
        self._append_event = append_event
        handlers = method_handlers(
            SERVICE,
            RecordingServicer(self.engine, self._record),
            preserialized=PRESERIALIZED,
            deserializers=dict.fromkeys(
                ("ModelInfer", "ModelStreamInfer"), wire.parse_infer_request
            ),
        )
        lepton_name, oip_name = SERVICE_NAMES
        services = [
            HostedService(lepton_name, mounter(lepton_name, handlers), EXTENSIONS),
            HostedService(oip_name, mounter(oip_name, handlers), EXTENSIONS, mirrors=lepton_name),
        ]
        self.host = ServerHost(
            ServerConfig(address=address, data_dir=state_dir, services=("inference",)), services
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        # Outbox writes under way, awaited at stop so none outlives the outbox.
        self._writes: set[asyncio.Future] = set()

    async def start(self) -> RunningServer:
        self._loop = asyncio.get_running_loop()
        self.engine.start()  # an empty repository: ready at once; releases come with serve()
        return await self.host.start()

    async def stop(self) -> None:
        await self.host.stop()
        await asyncio.gather(*self._writes, return_exceptions=True)
        self.engine.close()

    def serve(
        self, deployment: str, model: OnnxModel, model_path: Path, rollout: str, model_version: str
    ) -> None:
        """Serve a committed release of `deployment` ("deployments/{id}")."""
        name = deployment.removeprefix(DEPLOYMENTS)
        self._served[name] = ServedRelease(deployment, rollout, model_version)
        self.repository.serve(name, model, model_path)

    def reattribute(self, deployment: str, rollout: str, model_version: str) -> None:
        """Attribute later inferences of the served release to another rollout."""
        name = deployment.removeprefix(DEPLOYMENTS)
        if name in self._served:
            self._served[name] = ServedRelease(deployment, rollout, model_version)

    def remove(self, deployment: str) -> None:
        name = deployment.removeprefix(DEPLOYMENTS)
        self.repository.remove(name)
        self._served.pop(name, None)

    def _record(
        self, model: str, correlation_id: str, latency_ns: int, error: LeptonError | None
    ) -> None:
        served = self._served.get(model)
        if served is None:
            return  # no deployment to attribute an unknown model's answer to
        event = telemetry_pb2.InferenceEvent(
            deployment=served.deployment,
            model_version=served.model_version,
            latency=duration_pb2.Duration(
                seconds=latency_ns // 1_000_000_000, nanos=latency_ns % 1_000_000_000
            ),
            correlation_id=correlation_id[:128],
        )
        if error is not None:
            event.error.CopyFrom(
                error_pb2.ErrorStatus(
                    code=error.code.value[0],
                    reason=error.reason,
                    domain=ERROR_DOMAIN,
                    message=error.message,
                    metadata=dict(error.metadata),
                )
            )
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        record = telemetry_pb2.TelemetryRecord(
            time=now, inference=event, deployment=served.deployment, rollout=served.rollout
        )
        # Written off the event loop and not awaited: the outbox never delays an answer
        # (EDG-100).
        if self._loop is not None:
            write = self._loop.run_in_executor(None, self._append_event, INFERENCE_STREAM, record)
            self._writes.add(write)
            write.add_done_callback(self._writes.discard)
        else:
            self._append_event(INFERENCE_STREAM, record)
