"""The inference layer's services built from their parts: the engine over the model
repository, served under both the Lepton and the Open Inference Protocol service names."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
from prometheus_client.core import Metric

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_server.config import ServerConfig
from lepton_server.inference import wire
from lepton_server.inference.engine import EXTENSIONS, InferenceEngine
from lepton_server.inference.layer import InferenceConfig
from lepton_server.inference.metrics import model_metrics
from lepton_server.inference.model_repository import ModelRepository
from lepton_server.inference.registry_models import RegistryModels
from lepton_server.inference.replicas import WorkerEngines
from lepton_server.inference.servicer import (
    PRESERIALIZED,
    SERVICE,
    SERVICE_NAMES,
    InferenceServicer,
)
from lepton_server.runtime import process_services
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import LAYERS
from lepton_server.runtime.method_handlers import method_handlers, mounter

# What a worker process answers itself (runtime/worker_host.py); it forwards the rest of the
# service (statistics, the repository) to the primary, whose answers cover every process.
DATA_PLANE = (
    "ServerLive",
    "ServerReady",
    "ServerMetadata",
    "ModelReady",
    "ModelMetadata",
    "ModelInfer",
    "ModelStreamInfer",
)
# What the compiled front frames itself (runtime/compiled_front.py).
FAST_METHODS = ("ModelInfer",)


@dataclass
class _Engine:
    """An engine over the repository, following a registry when there is one to serve."""

    engine: InferenceEngine
    follow: Callable[[asyncio.AbstractEventLoop, str], None] | None = None
    unfollow: Callable[[], None] | None = None


def _engine(server: ServerConfig, config: InferenceConfig, cache: str = "registry") -> _Engine:
    """Load the model repository, and follow a registry when there is one to serve."""
    repository = ModelRepository(config.model_repository)
    own_registry = "registry" in (server.services or LAYERS)
    built = _Engine(InferenceEngine(repository, server.max_message_bytes))
    if config.model_registry is not None or own_registry:
        # A token of this server's own list, for a registry that wants one (the same holds
        # for a remote registry behind the same tokens).
        token = server.own_token
        registry = RegistryModels(
            server.data_dir / "inference" / cache,
            token,
            # A replica that only serves a remote registry is ready once it has read it.
            gates_readiness=config.model_registry is not None,
        )
        repository.registry = registry
        built.unfollow = registry.close
        # A worker reaches its own server's registry on the primary's private socket.
        credentials = None if _is_worker(server) else _own_credentials(server)

        def follow(_loop: asyncio.AbstractEventLoop, address: str) -> None:
            if config.model_registry is not None:
                registry.start(config.model_registry)
            else:
                registry.start(address, credentials)

        built.follow = follow
    built.engine.start()
    return built


def _is_worker(server: ServerConfig) -> bool:
    return server.workers is not None and server.workers.index > 0


def _handlers(servicer: InferenceServicer) -> dict[str, grpc.RpcMethodHandler]:
    return method_handlers(
        SERVICE,
        servicer,
        # The inference hot path encodes its own messages (wire.py); requests keep large raw
        # contents as views of the received bytes.
        preserialized=PRESERIALIZED,
        deserializers=dict.fromkeys(("ModelInfer", "ModelStreamInfer"), wire.parse_infer_request),
    )


class _ModelMetrics:
    """The per-model metrics of the engine and, on the primary of several processes, of every
    worker's (the same counters ModelStatistics answers with). A scrape runs on a thread of
    its own; the workers are asked on the server's event loop."""

    # Seconds a scrape waits for the workers' counters.
    TIMEOUT_S = 10.0

    def __init__(self, engine: InferenceEngine, replicas: WorkerEngines | None) -> None:
        self._engine = engine
        self._replicas = replicas
        self._loop: asyncio.AbstractEventLoop | None = None

    def started(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def collect(self) -> Iterator[Metric]:
        request = pb.ModelStatisticsRequest()
        statistics = self._engine.statistics(request)
        if self._replicas is not None and self._loop is not None:
            gathering = self._replicas.statistics(request, statistics)
            future = asyncio.run_coroutine_threadsafe(gathering, self._loop)
            statistics = future.result(self.TIMEOUT_S)
        return model_metrics(statistics)


def build(server: ServerConfig, config: InferenceConfig) -> list[HostedService]:
    """The engine's services, under both service names; on the primary of several processes
    it drives the workers' engines too (inference/replicas.py)."""
    built = _engine(server, config)
    engine = built.engine
    # Annotation's prediction jobs call it in-process (no gRPC loopback under one GIL).
    process_services.offer(server.data_dir, "inference.engine", engine)
    replicas = None
    if server.workers is not None:
        replicas = WorkerEngines(server.workers.worker_sockets)
    handlers = _handlers(InferenceServicer(engine, replicas))
    metrics = _ModelMetrics(engine, replicas)

    def start(loop: asyncio.AbstractEventLoop, address: str) -> None:
        metrics.started(loop)
        if built.follow is not None:
            built.follow(loop, address)

    def close() -> None:
        process_services.withdraw(server.data_dir, "inference.engine")
        engine.close()

    lepton_name, oip_name = SERVICE_NAMES
    return [
        HostedService(
            lepton_name,
            mounter(lepton_name, handlers),
            EXTENSIONS,
            close=close,
            start=start,
            stopping=built.unfollow,
            fast_methods=FAST_METHODS,
            metrics=metrics.collect,
        ),
        HostedService(
            oip_name,
            mounter(oip_name, handlers),
            EXTENSIONS,
            mirrors=lepton_name,
            fast_methods=FAST_METHODS,
        ),
    ]


def build_worker(
    server: ServerConfig, config: InferenceConfig
) -> tuple[list[HostedService], list[HostedService]]:
    """A worker's services: (public) the data plane under both service names, and (private)
    the whole service over the same engine, for the primary. The worker follows the registry
    into a cache of its own."""
    assert server.workers is not None
    built = _engine(server, config, cache=f"registry-worker-{server.workers.index}")
    handlers = _handlers(InferenceServicer(built.engine))
    data_plane = {name: handlers[name] for name in DATA_PLANE}
    lepton_name = SERVICE_NAMES[0]
    public = [
        HostedService(name, mounter(name, data_plane), EXTENSIONS, fast_methods=FAST_METHODS)
        for name in SERVICE_NAMES
    ]
    private = [
        HostedService(
            lepton_name,
            mounter(lepton_name, handlers),
            EXTENSIONS,
            close=built.engine.close,
            start=built.follow,
            stopping=built.unfollow,
        )
    ]
    return public, private


def _own_credentials(server: ServerConfig) -> grpc.ChannelCredentials | None:
    """How this server's inference layer reaches its own registry over TLS: trusting the
    server's own certificate, and presenting it when clients must (mutual TLS, which works
    when the client CA also signed the server's certificate)."""
    if server.tls is None:
        return None
    cert = server.tls.cert_file.read_bytes()
    mutual = server.tls.client_ca_file is not None
    return grpc.ssl_channel_credentials(
        root_certificates=cert,
        private_key=server.tls.key_file.read_bytes() if mutual else None,
        certificate_chain=cert if mutual else None,
    )
