"""Forwarding a call unchanged to another server: how a worker process (`lepton serve
--workers N`, runtime/workers.py) answers every method it does not serve itself, by handing
it to the primary process over a private socket.

Requests and responses pass as bytes, never parsed. The caller's metadata (its credentials
among it) and deadline go along; the primary's status, details and trailing metadata (the
ErrorInfo of a refusal among it) come back as they were, so the caller cannot tell which
process answered."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import grpc
from google.protobuf.descriptor import FileDescriptor
from grpc import aio
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
                call = call_method(
                    request,
                    metadata=_forwardable(context.invocation_metadata()),
                    timeout=context.time_remaining(),
                )
                try:
                    response = await call
                except aio.AioRpcError as error:
                    await _fail_like(context, error)
                context.set_trailing_metadata(_forwardable(await call.trailing_metadata()))
                return response

            return unary

        factory = channel.stream_stream if client_streams else channel.unary_stream
        call_method = factory(method)

        async def streaming(request: Any, context: aio.ServicerContext) -> AsyncIterator[bytes]:
            call = call_method(
                request,
                metadata=_forwardable(context.invocation_metadata()),
                timeout=context.time_remaining(),
            )
            try:
                async for response in call:
                    yield response
            except aio.AioRpcError as error:
                await _fail_like(context, error)
            finally:
                call.cancel()  # the caller went away: so does the call it made
            context.set_trailing_metadata(_forwardable(await call.trailing_metadata()))

        return streaming
