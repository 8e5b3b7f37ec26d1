"""The compiled front (`server/dataplane`, the `lepton_dataplane` extension): when it is on,
it owns the public port, frames the calls of the hot-path methods services name in
`HostedService.fast_methods` (ModelInfer; the data layer's WriteVersion and ReadVersion) and
hands them here as bytes; everything else it proxies to the grpc.aio server, which then
listens on a private unix socket only.

A handed call runs the very handler the grpc.aio server registered for its method, wrapped
by the same error mapping and credential checks (runtime/error_mapping.py), so its answer,
status and ErrorInfo are those the grpc.aio server would give. What moves out of Python is
HTTP/2 and gRPC framing: a bare grpc.aio server spends about 190 us of CPU per small call,
more than Triton's whole request, and a stream proxied to it crosses one more socket in
small pieces (issue 14). A client stream's messages arrive as events and are taken by the
handler at its own pace; a server stream's responses go out with back-pressure: when the
front has enough queued, the handler waits until it says more may be sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
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
# The call shapes the front answers, by the grpc handler attribute that serves them.
_SHAPES = {
    "unary_unary": "unary",
    "stream_unary": "client_stream",
    "unary_stream": "server_stream",
}


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
        self._call = call
        self._metadata = call.metadata
        self._deadline = None if call.timeout is None else time.monotonic() + call.timeout

    def invocation_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    async def abort_with_status(self, status: grpc.Status) -> None:
        raise _Aborted(status)

    async def send_initial_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        # The front sends the headers with the answer. Asked with none, this is the check a
        # client stream's handler makes that its call is still live before it commits
        # (data/servicer.py): it fails, as grpc.aio's does, once the client has gone or the
        # deadline has passed, even before the cancel the front sent has arrived.
        if metadata:
            raise NotImplementedError("initial metadata on a call the compiled front handed")
        if not self._call.live() or self.time_remaining() == 0.0:
            raise aio.UsageError("the call has ended")

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
        self._shapes: dict[str, str] = {}
        # Calls handed and not yet answered, by the front's call id.
        self._tasks: dict[int, asyncio.Future[None]] = {}
        # The request messages of client streams not yet taken (None marks the end).
        self._inboxes: dict[int, asyncio.Queue[bytes | None]] = {}
        # Server streams waiting for the front to take what they sent.
        self._writable: dict[int, asyncio.Future[None]] = {}

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
        self._shapes = {method: _shape(handlers[method]) for method in self.methods}
        self._handlers, self._loop = handlers, loop
        self._front = lepton_dataplane.Front(
            config.address,
            str(self.socket),
            list(self._shapes.items()),
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

    # Called by the front's dispatcher thread, holding the GIL: must not block. The events
    # are _on_events' arguments.
    def _dispatch(self, *events: list[Any]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._on_events, *events)

    def _on_events(
        self,
        calls: list[Any],
        messages: list[tuple[int, bytes | None]],
        writable: list[int],
        cancels: list[int],
    ) -> None:
        for call in calls:
            if self._shapes[call.method] == "client_stream":
                self._inboxes[call.id] = asyncio.Queue()
            # Held until done (the loop keeps only weak references to its tasks), and found
            # by id when the call's client goes, to cancel it as grpc.aio would.
            task = asyncio.ensure_future(self._answer(call))
            self._tasks[call.id] = task
            task.add_done_callback(lambda _, id_=call.id: self._forget(id_))
        for id_, data in messages:
            inbox = self._inboxes.get(id_)
            if inbox is not None:  # else the call is over and its messages unwanted
                inbox.put_nowait(data)
        for id_ in writable:
            waiting = self._writable.get(id_)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)
        for id_ in cancels:
            task = self._tasks.get(id_)
            if task is not None:
                task.cancel()

    def _forget(self, id_: int) -> None:
        self._tasks.pop(id_, None)
        self._inboxes.pop(id_, None)

    async def _requests(
        self, call: Any, deserialize: Callable[[bytes], Any] | None
    ) -> AsyncIterator[Any]:
        """A client stream's request messages, in order, as its handler takes them."""
        inbox = self._inboxes[call.id]
        while (data := await inbox.get()) is not None:
            call.took()
            yield data if deserialize is None else deserialize(data)

    async def _send_responses(
        self, call: Any, handler: grpc.RpcMethodHandler, context: _HandedCallContext
    ) -> None:
        """Run a server stream's handler, sending each response as it comes."""
        assert self._loop is not None
        serialize = handler.response_serializer
        request = handler.request_deserializer(call.request)
        async with contextlib.aclosing(handler.unary_stream(request, context)) as responses:
            async for response in responses:
                if call.send(response if serialize is None else serialize(response)):
                    continue
                waiting = self._writable[call.id] = self._loop.create_future()
                try:
                    await waiting
                finally:
                    del self._writable[call.id]
        call.finish()

    async def _answer(self, call: Any) -> None:
        handler = self._handlers[call.method]
        context = _HandedCallContext(call)
        try:
            shape = self._shapes[call.method]
            if shape == "server_stream":
                await self._send_responses(call, handler, context)
                return
            if shape == "client_stream":
                requests = self._requests(call, handler.request_deserializer)
                response = await handler.stream_unary(requests, context)
            else:
                request = handler.request_deserializer(call.request)
                response = await handler.unary_unary(request, context)
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


def _shape(handler: grpc.RpcMethodHandler) -> str:
    """How the front frames the calls `handler` serves."""
    for attribute, shape in _SHAPES.items():
        if getattr(handler, attribute) is not None:
            return shape
    raise ValueError("the compiled front does not serve bidirectional streams")
