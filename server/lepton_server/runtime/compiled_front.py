"""The compiled front (`server/dataplane`, the `lepton_dataplane` extension): when it is on,
it owns the public port, frames the calls of the hot-path methods services name in
`HostedService.fast_methods` (ModelInfer) and hands them here as bytes; everything else it
proxies to the grpc.aio server, which then listens on a private unix socket only.

A handed call runs the very handler the grpc.aio server registered for its method, wrapped
by the same error mapping and credential checks (runtime/error_mapping.py), so its answer,
status and ErrorInfo are those the grpc.aio server would give. What moves out of Python is
HTTP/2 and gRPC framing: a bare grpc.aio server spends about 190 us of CPU per small call,
more than Triton's whole request (issue 14)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc import aio

from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService

log = logging.getLogger(__name__)

try:  # Built by `make install`; a server without it serves every call from grpc.aio.
    import lepton_dataplane
except ImportError:  # pragma: no cover - depends on the install
    lepton_dataplane = None

FRONT_THREADS = 2


def available() -> bool:
    """Whether the extension is installed."""
    return lepton_dataplane is not None


def fast_methods(services: Sequence[HostedService]) -> list[str]:
    """The full method names ("/package.Service/Method") the front answers itself."""
    return [f"/{s.name}/{method}" for s in services for method in s.fast_methods]


def wanted(config: ServerConfig, services: Sequence[HostedService]) -> bool:
    """Whether this process serves through the front: asked for, installed, some service
    has a fast method, and no TLS (which the front does not terminate)."""
    if config.data_plane != "compiled" or not fast_methods(services) or config.tls is not None:
        return False
    if not available():
        log.warning("lepton_dataplane is not installed: serving every call from grpc.aio")
        return False
    return True


class _Aborted(aio.AbortError):
    """How a handler's `abort_with_status` ends a call handed by the front."""

    def __init__(self, status: grpc.Status) -> None:
        super().__init__(status.details)
        self.status = status


class _HandedCallContext:
    """The part of `aio.ServicerContext` that the wrapped hot-path handlers use."""

    def __init__(self, call: Any) -> None:
        self._metadata = call.metadata
        self._deadline = None if call.timeout is None else time.monotonic() + call.timeout

    def invocation_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    async def abort_with_status(self, status: grpc.Status) -> None:
        raise _Aborted(status)

    def __getattr__(self, name: str) -> Any:
        # A fast method's handler may use only what is above (tests/server/runtime/
        # test_compiled_front.py runs every fast method through both data planes).
        raise NotImplementedError(f"ServicerContext.{name} on a call the compiled front handed")


def _trailing(status: grpc.Status) -> list[tuple[str, bytes]]:
    return [
        (key, value.encode() if isinstance(value, str) else bytes(value))
        for key, value in status.trailing_metadata or ()
    ]


class CompiledFront:
    """The front of one server process and the private socket its grpc.aio server serves."""

    def __init__(self, methods: Sequence[str], socket_dir: Path | None, name: str) -> None:
        self.methods = list(methods)
        self._own_dir = socket_dir is None
        # Short (unix socket paths are limited to about 100 bytes) and private (mode 0700).
        directory = Path(tempfile.mkdtemp(prefix="lepton-")) if socket_dir is None else socket_dir
        self._socket_dir = directory
        self.socket = directory / f"{name}.sock"
        self._handlers: Mapping[str, grpc.RpcMethodHandler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._front: Any = None
        # Calls handed and not yet answered, by the front's call id.
        self._tasks: dict[int, asyncio.Future[None]] = {}

    @property
    def backend_address(self) -> str:
        """Where the grpc.aio server listens instead of the public address."""
        return f"unix:{self.socket}"

    def start(
        self,
        config: ServerConfig,
        handlers: Mapping[str, grpc.RpcMethodHandler],
        loop: asyncio.AbstractEventLoop,
        reuse_port: bool,
    ) -> int:
        """Bind the public address and serve; the bound port. `handlers` are the wrapped
        handlers the grpc.aio server registered, by full method name."""
        missing = [m for m in self.methods if m not in handlers]
        if missing:
            raise ValueError(f"no registered handler for {missing}")
        self._handlers, self._loop = handlers, loop
        self._front = lepton_dataplane.Front(
            config.address,
            str(self.socket),
            self.methods,
            self._dispatch,
            config.max_message_bytes,
            reuse_port,
            FRONT_THREADS,
        )
        return self._front.port

    async def stop(self, grace_seconds: float) -> None:
        """Stop accepting and let calls in flight finish within the grace period; the
        grpc.aio server behind must still be serving."""
        front, self._front = self._front, None
        if front is not None:
            await asyncio.to_thread(front.stop, grace_seconds)
        if self._own_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    # Called by the front's dispatcher thread, holding the GIL: must not block.
    def _dispatch(self, calls: list[Any], cancels: list[int]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._start_calls, calls, cancels)

    def _start_calls(self, calls: list[Any], cancels: list[int]) -> None:
        for call in calls:
            # Held until done (the loop keeps only weak references to its tasks), and found
            # by id when the call's client goes, to cancel it as grpc.aio would.
            task = asyncio.ensure_future(self._answer(call))
            self._tasks[call.id] = task
            task.add_done_callback(lambda _, id_=call.id: self._tasks.pop(id_, None))
        for id_ in cancels:
            task = self._tasks.get(id_)
            if task is not None:
                task.cancel()

    async def _answer(self, call: Any) -> None:
        handler = self._handlers[call.method]
        try:
            request = handler.request_deserializer(call.request)
            response = await handler.unary_unary(request, _HandedCallContext(call))
            if handler.response_serializer is not None:
                response = handler.response_serializer(response)
        except _Aborted as aborted:
            status = aborted.status
            call.fail(status.code.value[0], status.details or "", _trailing(status))
            return
        except Exception:  # the error mapping answers every error; this is a bug here
            log.exception("unhandled error in a call handed by the compiled front")
            call.fail(grpc.StatusCode.INTERNAL.value[0], "internal error", [])
            return
        call.ok(response)
