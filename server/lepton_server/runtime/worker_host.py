"""One worker process of `lepton serve --workers N` (runtime/worker_pool.py starts it).

It runs two gRPC servers:
- on the public port, bound beside the primary's with SO_REUSEPORT: the services it serves
  itself (the inference data plane), with the same TLS, limits and credential checks as the
  primary, and a forwarder (runtime/forwarding.py) that hands every other call to the
  primary over its private socket, so a client sees one server whichever process took its
  connection;
- on its own private unix socket: the services the primary drives (loads, unloads and
  statistics of this worker's engine, inference/replicas.py), with no other caller.

It stops on SIGTERM or SIGINT, or when the primary is gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from grpc import aio

from lepton_server.config import ServerConfig, WorkersConfig
from lepton_server.runtime import compiled_front
from lepton_server.runtime.audit_log import AuditLog, audit_path
from lepton_server.runtime.auth import OPEN_SERVICE_PREFIXES, BearerTokenCheck
from lepton_server.runtime.compiled_front import CompiledFront
from lepton_server.runtime.error_mapping import CallCheck, CallObservers, ErrorMappingServer
from lepton_server.runtime.forwarding import Forwarder, known_methods
from lepton_server.runtime.host import call_tracer, server_credentials
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.metrics import RpcMetrics, share_counters

if TYPE_CHECKING:
    from lepton_server.runtime.otlp_tracing import CallTracer

log = logging.getLogger(__name__)
PARENT_POLL_S = 1.0


class WorkerHost:
    """The public and private servers of one worker."""

    def __init__(
        self,
        config: ServerConfig,
        public: Sequence[HostedService],
        private: Sequence[HostedService],
    ) -> None:
        if config.workers is None or config.workers.index < 1:
            raise ValueError("a worker host needs a worker's WorkersConfig")
        self.config = config
        self.workers: WorkersConfig = config.workers
        self.public, self.private = list(public), list(private)
        self._servers: list[aio.Server] = []
        self._primary: aio.Channel | None = None
        self._front: CompiledFront | None = None
        self._audit: AuditLog | None = None
        self._tracer: CallTracer | None = None

    def _limits(self) -> list[tuple[str, int]]:
        limit = self.config.max_message_bytes
        return [
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
        ]

    def _options(self, reuse_port: bool) -> list[tuple[str, int]]:
        return [*self._limits(), ("grpc.so_reuseport", int(reuse_port))]

    async def start(self) -> None:
        config = self.config
        checks: list[CallCheck] = []
        observers: list[CallObservers] = []
        if config.auth_tokens:
            checks.append(
                BearerTokenCheck(
                    config.auth_tokens,
                    config.principals,
                    roles=config.roles,
                    tenants=config.tenants,
                )
            )
            # The calls this process refuses go to the primary's log (every write is the
            # primary's to answer).
            self._audit = AuditLog(audit_path(config.data_dir), OPEN_SERVICE_PREFIXES)
            observers.append(self._audit)
        if config.metrics_address is not None:
            # Counted where the primary's endpoint adds them to its own (runtime/metrics.py).
            share_counters(self.workers.metrics_dir)
            observers.append(RpcMetrics(None))
        if config.otlp_endpoint is not None:
            self._tracer = call_tracer(config.otlp_endpoint)
            observers.append(self._tracer)
        public = aio.server(options=self._options(reuse_port=True))
        registrar = ErrorMappingServer(public, checks, observers)
        for service in self.public:
            service.register(registrar)
        public_handlers = registrar.handlers
        # Registered last: consulted only for methods the services above do not serve. Not
        # through the error mapping: the primary's statuses pass through as they are.
        self._primary = aio.insecure_channel(self.workers.primary_socket, options=self._limits())
        public.add_generic_rpc_handlers((Forwarder(self._primary, known_methods()),))
        if compiled_front.wanted(config, self.public):
            self._front = CompiledFront(
                compiled_front.fast_methods(self.public),
                self.workers.socket_dir,
                f"front-{self.workers.index}",
            )
            public.add_insecure_port(self._front.backend_address)
        elif config.tls is None:
            public.add_insecure_port(config.address)
        else:
            public.add_secure_port(config.address, server_credentials(config.tls))

        private = aio.server(options=self._options(reuse_port=False))
        registrar = ErrorMappingServer(private)
        for service in self.private:
            service.register(registrar)
        private.add_insecure_port(self.workers.worker_socket(self.workers.index))
        await private.start()
        await public.start()
        self._servers = [public, private]
        loop = asyncio.get_running_loop()
        if self._front is not None:
            self._front.start(config, public_handlers, loop, reuse_port=True)
        for service in [*self.public, *self.private]:
            if service.start is not None:
                service.start(loop, self.workers.primary_socket)

    async def stop(self) -> None:
        for service in [*self.public, *self.private]:
            if service.stopping is not None:
                service.stopping()
        if self._front is not None:
            await self._front.stop(self.config.shutdown_grace_seconds)
        for server in self._servers:
            await server.stop(self.config.shutdown_grace_seconds)
        if self._primary is not None:
            await self._primary.close()
        for service in [*self.public, *self.private]:
            if service.close is not None:
                service.close()
        if self._audit is not None:
            self._audit.close()
        if self._tracer is not None:
            self._tracer.close()

    async def serve_until_signalled(self) -> None:
        """Serve until SIGTERM or SIGINT, or until the primary process is gone."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        parent = os.getppid()
        orphaned = asyncio.Event()

        async def watch_parent() -> None:
            # No event tells a process its parent died: it polls.
            while os.getppid() == parent:  # noqa: ASYNC110
                await asyncio.sleep(PARENT_POLL_S)
            log.warning("the primary process is gone; worker %d stops", self.workers.index)
            orphaned.set()
            stop.set()

        watcher = asyncio.ensure_future(watch_parent())
        try:
            await self.start()
            sys.stdout.write(
                f"lepton: worker {self.workers.index} listening on {self.config.address}\n"
            )
            sys.stdout.flush()
            await stop.wait()
        finally:
            watcher.cancel()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(signum)
            await self.stop()
            if orphaned.is_set():  # nobody else is left to remove the sockets
                shutil.rmtree(self.workers.socket_dir, ignore_errors=True)
