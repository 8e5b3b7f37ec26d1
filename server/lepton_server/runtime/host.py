"""One grpc.aio server hosting the given services with health, reflection, discovery,
auth, TLS and message-size limits. The host knows no layer: it mounts whatever services it
is given (`layer_registry.build_services` builds those of the selected layers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from lepton_server.config import ServerConfig, TlsConfig
from lepton_server.runtime import compiled_front
from lepton_server.runtime.audit_log import AuditLog, audit_path
from lepton_server.runtime.audit_service import audit_service
from lepton_server.runtime.auth import OPEN_SERVICE_PREFIXES, BearerTokenCheck
from lepton_server.runtime.compiled_front import CompiledFront
from lepton_server.runtime.discovery import discovery_service
from lepton_server.runtime.error_mapping import CallCheck, ErrorMappingServer
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.metrics import ServerMetrics, storage_metrics
from lepton_server.runtime.reflection import enable_reflection
from lepton_server.runtime.service_credentials import ServiceCredentialsCheck
from lepton_server.runtime.startup_errors import StartupError
from lepton_server.runtime.worker_pool import WorkerPool

if TYPE_CHECKING:  # loaded only when a server traces (call_tracer)
    from lepton_server.runtime.otlp_tracing import CallTracer

log = logging.getLogger(__name__)

HEALTH_SERVICE_NAME = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
OVERALL = ""  # the health service name that stands for the whole server


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    client_ca = tls.client_ca_file.read_bytes() if tls.client_ca_file else None
    return grpc.ssl_server_credentials(
        [(tls.key_file.read_bytes(), tls.cert_file.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def call_tracer(endpoint: str) -> CallTracer:
    """The observer that traces each call to `endpoint` (runtime/otlp_tracing.py), imported
    only then: a server that does not trace never loads OpenTelemetry."""
    from lepton_server.runtime.otlp_tracing import CallTracer  # noqa: PLC0415

    return CallTracer(endpoint)


def _host_part(address: str) -> str:
    host, _, _ = address.rpartition(":")
    return host or "0.0.0.0"


@dataclass
class RunningServer:
    """A started host: where it listens and the handles needed to stop it."""

    address: str
    services: list[HostedService]
    server: aio.Server
    health: health.aio.HealthServicer
    front: CompiledFront | None = None
    metrics: ServerMetrics | None = None
    # Where Prometheus scrapes `/metrics` (HOST:PORT), when the host serves metrics.
    metrics_address: str | None = None


class ServerHost:
    """Starts and gracefully stops the server for one ServerConfig and the layers' services."""

    def __init__(self, config: ServerConfig, layer_services: Sequence[HostedService]) -> None:
        self.config = config
        self.audit: AuditLog | None = None
        if config.auth_tokens:
            # Who did what is known only where callers prove who they are.
            unaudited = OPEN_SERVICE_PREFIXES + tuple(
                f"/{s.name}/" for s in layer_services if s.authenticate
            )
            self.audit = AuditLog(audit_path(config.data_dir), unaudited)
            layer_services = [*layer_services, audit_service(self.audit)]
        self.services = [*layer_services, discovery_service(layer_services)]
        self._running: RunningServer | None = None
        self._pool: WorkerPool | None = None
        self._tracer: CallTracer | None = None

    def _checks(self) -> list[CallCheck]:
        config = self.config
        # Services' own credential checks first, so their refusal is the answer a caller sees.
        checks: list[CallCheck] = [ServiceCredentialsCheck(self.services)]
        if config.auth_tokens:
            self_authenticating = [s.name for s in self.services if s.authenticate]
            checks.append(
                BearerTokenCheck(
                    config.auth_tokens,
                    config.principals,
                    self_authenticating,
                    config.roles,
                    config.tenants,
                )
            )
        return checks

    async def _start_services(self, loop: asyncio.AbstractEventLoop, address: str) -> None:
        for service in self.services:
            if service.start is not None:
                service.start(loop, address)
        if self.config.workers is not None:
            self._pool = WorkerPool(self.config.workers)
            await asyncio.to_thread(self._pool.start, address)

    def _serve_metrics(self) -> tuple[ServerMetrics | None, str | None]:
        """The metrics endpoint, when configured, and where it listens. Bound first: a port in
        use stops the start before anything else runs."""
        config = self.config
        if config.metrics_address is None:
            return None, None
        sources = [s.metrics for s in self.services if s.metrics is not None]
        shared = None if config.workers is None else config.workers.metrics_dir
        metrics = ServerMetrics([*sources, lambda: storage_metrics(config.data_dir)], shared)
        try:
            return metrics, metrics.serve(config.metrics_address)
        except OSError as exc:
            raise StartupError(f"--metrics-address {config.metrics_address}: {exc}") from exc

    async def start(self) -> RunningServer:
        """Bind, mount every service and mark them SERVING. Returns the bound address."""
        config = self.config
        limit = config.max_message_bytes
        server = aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                # Only worker processes share the port; otherwise a port in use is an error.
                ("grpc.so_reuseport", int(config.workers is not None)),
            ],
        )
        metrics, metrics_address = self._serve_metrics()
        # Every handler is registered through the error mapping, wrapped once per method.
        tracer = None if config.otlp_endpoint is None else call_tracer(config.otlp_endpoint)
        # The tracer last: its span is the outermost, around the audit's and the metrics' work.
        observers = [o for o in (metrics and metrics.calls, self.audit, tracer) if o is not None]
        registrar = ErrorMappingServer(server, self._checks(), observers)
        for service in self.services:
            service.register(registrar)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, registrar)
        names = [s.name for s in self.services]
        mirrors = {s.name: s.mirrors for s in self.services if s.mirrors}
        enable_reflection(registrar, [*names, HEALTH_SERVICE_NAME], mirrors)

        front = None
        if compiled_front.wanted(config, self.services):
            socket_dir = config.workers.socket_dir if config.workers is not None else None
            front = CompiledFront(compiled_front.fast_methods(self.services), socket_dir, "front-0")
            server.add_insecure_port(front.backend_address)
        elif config.tls is None:
            port = server.add_insecure_port(config.address)
        else:
            port = server.add_secure_port(config.address, server_credentials(config.tls))
        if config.workers is not None:
            # Where the workers forward what they do not serve (runtime/worker_host.py).
            server.add_insecure_port(config.workers.primary_socket)
        await server.start()
        loop = asyncio.get_running_loop()
        if front is not None:
            reuse_port = config.workers is not None
            port = front.start(config, registrar.handlers, loop, reuse_port)
        address = f"{_host_part(config.address)}:{port}"
        try:
            await self._start_services(loop, address)
        except BaseException:
            # Nothing will stop a front or a metrics endpoint the host never reports as running.
            if front is not None:
                await front.stop(0)
            if metrics is not None:
                metrics.stop()
            raise
        for name in [OVERALL, *names]:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._running = RunningServer(
            address, self.services, server, health_servicer, front, metrics, metrics_address
        )
        self._tracer = tracer
        log.info("serving %s on %s", ", ".join(names), address)
        return self._running

    async def stop(self) -> None:
        """Report NOT_SERVING, let in-flight calls finish within the grace period, then stop."""
        running, self._running = self._running, None
        if running is None:
            return
        await running.health.enter_graceful_shutdown()
        for service in running.services:
            if service.stopping is not None:
                service.stopping()
        if self._pool is not None:
            # Workers first: their calls to this process drain while it still serves.
            await asyncio.to_thread(self._pool.stop, self.config.shutdown_grace_seconds)
        if running.front is not None:
            # Its calls in flight drain while the grpc.aio server behind it still serves.
            await running.front.stop(self.config.shutdown_grace_seconds)
        await running.server.stop(self.config.shutdown_grace_seconds)
        if running.metrics is not None:
            running.metrics.stop()
        if self._tracer is not None:
            self._tracer.close()
        for service in running.services:
            if service.close is not None:
                service.close()

    async def serve_until_signalled(
        self, on_ready: Callable[[RunningServer], None] | None = None
    ) -> None:
        """Run until SIGINT or SIGTERM, then shut down gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Handlers go in before the server announces itself, so a signal sent right after the
        # announcement always takes the graceful path.
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            running = await self.start()
            if on_ready is not None:
                on_ready(running)
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(signum)
            await self.stop()
