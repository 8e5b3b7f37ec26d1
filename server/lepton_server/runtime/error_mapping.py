"""The one place domain errors become statuses.

Every handler the host registers is wrapped once, at registration: a LeptonError raised by
the handler ends the call with its code, ErrorInfo and BadRequest; any other exception is a
server bug and ends it with INTERNAL; request bytes that do not parse end it with
INVALID_ARGUMENT [MALFORMED_REQUEST] before the handler runs (GEN-001, GEN-003, GEN-008).
Wrapping at registration rather than in an interceptor keeps the cost off every call."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from grpc import aio

from lepton_server.runtime.errors import Internal, InvalidArgument, LeptonError

log = logging.getLogger(__name__)

Behavior = Callable[..., Any]


_KINDS = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}


def replace_behavior(
    handler: grpc.RpcMethodHandler,
    wrap: Callable[[Behavior, bool], Behavior],
    deserializer: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler:
    """The same handler with its behaviour passed through `wrap(behavior, streams_requests)`
    (and, when given, another request deserializer)."""
    for attribute, factory in _KINDS.items():
        behavior = getattr(handler, attribute)
        if behavior is not None:
            return factory(
                wrap(behavior, attribute.startswith("stream_")),
                request_deserializer=deserializer or handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler


@dataclass(frozen=True)
class _Undecodable:
    """Stands in for a request whose bytes did not parse, so the handler can reject it."""

    error: InvalidArgument


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A deserializer that returns _Undecodable instead of raising: the runtime would turn the
    exception into UNKNOWN, but undecodable bytes are the client's mistake (GEN-008)."""
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError as exc:
            return _Undecodable(
                InvalidArgument(
                    reason="MALFORMED_REQUEST",
                    message=f"the request is not a valid protobuf message: {exc}",
                )
            )

    return deserialize


async def _checked_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, _Undecodable):
            raise request.error
        yield request


async def abort_with(context: aio.ServicerContext, error: LeptonError) -> None:
    await context.abort_with_status(error.to_grpc_status())


def _decoded(request: Any) -> Any:
    if type(request) is _Undecodable:
        raise request.error
    return request


def _map_errors(behavior: Behavior, streams_requests: bool) -> Behavior:
    """Wrap one async behaviour so LeptonError (and any bug) ends the call with a full status,
    and an undecodable request ends it with INVALID_ARGUMENT before the handler runs."""
    decoded = _checked_stream if streams_requests else _decoded

    async def on_error(context: aio.ServicerContext, exc: Exception) -> None:
        if isinstance(exc, aio.AbortError):
            raise exc
        if isinstance(exc, LeptonError):
            await abort_with(context, exc)
        log.exception("unhandled error in RPC handler")
        await abort_with(context, Internal(reason="INTERNAL_ERROR", message="internal error"))

    if inspect.isasyncgenfunction(behavior):

        async def streaming(request: Any, context: aio.ServicerContext) -> Any:
            try:
                async for response in behavior(decoded(request), context):
                    yield response
            except Exception as exc:
                await on_error(context, exc)

        return streaming

    if inspect.iscoroutinefunction(behavior):

        async def unary(request: Any, context: aio.ServicerContext) -> Any:
            try:
                return await behavior(decoded(request), context)
            except Exception as exc:
                await on_error(context, exc)

        return unary

    return behavior


def map_errors(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """`handler` with error mapping and the tolerant request deserializer."""
    return replace_behavior(handler, _map_errors, _tolerant(handler.request_deserializer))


class _MappedGenericHandler(grpc.GenericRpcHandler):
    """A generic handler whose method handlers are wrapped, once per method."""

    def __init__(self, inner: grpc.GenericRpcHandler) -> None:
        self._inner = inner
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def service(self, call: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(call)
        if handler is None:
            return None
        cached = self._wrapped.get(call.method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = map_errors(handler)
        self._wrapped[call.method] = (handler, wrapped)
        return wrapped


class ErrorMappingServer:
    """Stands in for a grpc.aio server while services register: every handler added through
    it is wrapped with `map_errors`. Everything else passes through to the server."""

    def __init__(self, server: aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(tuple(_MappedGenericHandler(h) for h in handlers))

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        self._server.add_registered_method_handlers(
            service_name, {name: map_errors(h) for name, h in method_handlers.items()}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)
