"""Forwarding a call unchanged to another server: how a worker process (`lepton serve
--workers N`, runtime/workers.py) answers every method it does not serve itself, by handing
it to the primary process over a private socket.

Requests and responses pass as bytes, never parsed. The caller's metadata (its credentials
among it) and deadline go along; the primary's status, details and trailing metadata (the
ErrorInfo of a refusal among it) come back as they were, so the caller cannot tell which
process answered."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import grpc
from google.protobuf.descriptor import FileDescriptor
from grpc import aio
from grpc._cython import cygrpc
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2 as reflection_v1alpha

import lepton
from lepton.inference.v1 import inference_service_pb2
from lepton_server.runtime.reflection import V1_SERVICE_NAME

# (client streams, server streams) -> the handler factory of that kind of call.
_FACTORIES = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}
# The Open Inference Protocol's name for the inference service (INF-002).
OIP_SERVICE = "inference.GRPCInferenceService"


def _files() -> Iterable[FileDescriptor]:
    """Every file of the Lepton contracts, and those of health and reflection."""
    for module in pkgutil.walk_packages(lepton.__path__, "lepton."):
        if module.name.endswith("_pb2"):
            yield importlib.import_module(module.name).DESCRIPTOR
    yield health_pb2.DESCRIPTOR
    yield reflection_v1alpha.DESCRIPTOR


def known_methods() -> dict[str, tuple[bool, bool]]:
    """ "/package.Service/Method" -> (client streams, server streams), for every method a
    Lepton server can host."""
    methods: dict[str, tuple[bool, bool]] = {}
    for file in _files():
        for service in file.services_by_name.values():
            for method in service.methods:
                kind = (method.client_streaming, method.server_streaming)
                methods[f"/{service.full_name}/{method.name}"] = kind
    # Services a server mounts under a second name as well (INF-002, GEN-030).
    inference = inference_service_pb2.DESCRIPTOR.services_by_name["InferenceService"]
    reflection = reflection_v1alpha.DESCRIPTOR.services_by_name["ServerReflection"]
    for alias, original in ((OIP_SERVICE, inference), (V1_SERVICE_NAME, reflection)):
        for method in original.methods:
            kind = (method.client_streaming, method.server_streaming)
            methods[f"/{alias}/{method.name}"] = kind
    return methods


def _forwardable(metadata: Iterable[tuple[str, Any]] | None) -> tuple[tuple[str, Any], ...]:
    # Pseudo-headers and gRPC's own keys are the transport's, set anew on the next hop.
    return tuple((k, v) for k, v in metadata or () if not k.startswith((":", "grpc-")))


async def _fail_like(context: aio.ServicerContext, error: aio.AioRpcError) -> None:
    # All of it: grpc-status-details-bin carries the ErrorInfo.
    trailing = tuple(error.trailing_metadata() or ())
    await context.abort(error.code(), error.details() or "", trailing)


def _start(
    call_method: Any, client_streams: bool, request: Any, context: aio.ServicerContext
) -> tuple[Any, asyncio.Task[None] | None]:
    """The forwarded call, and for a client stream the task writing the caller's requests
    into it."""
    metadata = _forwardable(context.invocation_metadata())
    timeout = context.time_remaining()
    if not client_streams:
        return call_method(request, metadata=metadata, timeout=timeout), None
    call = call_method(metadata=metadata, timeout=timeout)
    return call, asyncio.get_running_loop().create_task(_pump(call, request))


async def _pump(call: Any, requests: AsyncIterator[bytes]) -> None:
    """Writes the caller's requests into the forwarded call, then half-closes it.

    Not through `call.write()`: when a write races the other server's early end of the call
    (a stream refused on its first message), grpc.aio replaces the status that server sent
    by INTERNAL "Internal error from Core" (grpc/aio/_call.py, `_write`), and the caller
    would get that rather than the refusal. Here a failed write only ends the writing, and
    the call keeps the status the other server sent."""
    core_call = call._cython_call  # private: see above
    try:
        await call.wait_for_connection()
        async for message in requests:
            if call.done():
                return
            await core_call.send_serialized_message(message)
        await core_call.send_receive_close()
    except (aio.AioRpcError, cygrpc.InternalError):
        return  # the call has ended; its status is the answer


class Forwarder(grpc.GenericRpcHandler):
    """Answers every method of `methods` by calling it on `channel`; other methods are left
    unhandled (UNIMPLEMENTED, as the other server would answer)."""

    def __init__(self, channel: aio.Channel, methods: Mapping[str, tuple[bool, bool]]) -> None:
        self._channel = channel
        self._methods = methods
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    def service(self, call: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._handlers.get(call.method)
        if handler is None:
            kind = self._methods.get(call.method)
            if kind is None:
                return None
            handler = _FACTORIES[kind](self._behavior(call.method, *kind))
            self._handlers[call.method] = handler
        return handler

    def _behavior(self, method: str, client_streams: bool, server_streams: bool) -> Any:
        channel = self._channel
        if not server_streams:
            factory = channel.stream_unary if client_streams else channel.unary_unary
            call_method = factory(method)

            async def unary(request: Any, context: aio.ServicerContext) -> bytes:
                call, pump = _start(call_method, client_streams, request, context)
                try:
                    response = await call
                except aio.AioRpcError as error:
                    await _fail_like(context, error)
                finally:
                    if pump is not None:
                        pump.cancel()
                context.set_trailing_metadata(_forwardable(await call.trailing_metadata()))
                return response

            return unary

        factory = channel.stream_stream if client_streams else channel.unary_stream
        call_method = factory(method)

        async def streaming(request: Any, context: aio.ServicerContext) -> AsyncIterator[bytes]:
            call, pump = _start(call_method, client_streams, request, context)
            try:
                async for response in call:
                    yield response
            except aio.AioRpcError as error:
                await _fail_like(context, error)
            finally:
                call.cancel()  # the caller went away: so does the call it made
                if pump is not None:
                    pump.cancel()
            context.set_trailing_metadata(_forwardable(await call.trailing_metadata()))

        return streaming
