"""Server interceptors: the one place domain errors become statuses, and bearer-token auth."""

from __future__ import annotations

import hmac
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from grpc import aio

from lepton_server.errors import Internal, InvalidArgument, LeptonError, Unauthenticated

log = logging.getLogger(__name__)

Behavior = Callable[..., Any]

# Discovery must work before a client holds credentials (spec/general.md, GEN auth rules).
OPEN_SERVICE_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/lepton.discovery.v1.DiscoveryService/",
)


_KINDS = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}


def _replace_behavior(
    handler: grpc.RpcMethodHandler,
    wrap: Callable[[Behavior], Behavior],
    deserializer: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler:
    """The same handler with its behaviour passed through `wrap` (and, when given, another
    request deserializer)."""
    for attribute, factory in _KINDS.items():
        behavior = getattr(handler, attribute)
        if behavior is not None:
            return factory(
                wrap(behavior),
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


async def _abort_with(context: aio.ServicerContext, error: LeptonError) -> None:
    await context.abort_with_status(error.to_grpc_status())


def _map_errors(behavior: Behavior) -> Behavior:
    """Wrap one async behaviour so LeptonError (and any bug) ends the call with a full status,
    and an undecodable request ends it with INVALID_ARGUMENT before the handler runs."""

    def decoded(request: Any) -> Any:
        if isinstance(request, _Undecodable):
            raise request.error
        if isinstance(request, AsyncIterator):
            return _checked_stream(request)
        return request

    async def on_error(context: aio.ServicerContext, exc: Exception) -> None:
        if isinstance(exc, aio.AbortError):
            raise exc
        if isinstance(exc, LeptonError):
            await _abort_with(context, exc)
        log.exception("unhandled error in RPC handler")
        await _abort_with(context, Internal(reason="INTERNAL_ERROR", message="internal error"))

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


class ErrorMappingInterceptor(aio.ServerInterceptor):
    """Turns domain errors raised by any handler into status + ErrorInfo + BadRequest."""

    def __init__(self) -> None:
        # gRPC asks for the handler on every call; wrapping it once per method keeps the
        # interceptor off the per-request cost.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        cached = self._wrapped.get(handler_call_details.method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = _replace_behavior(handler, _map_errors, _tolerant(handler.request_deserializer))
        self._wrapped[handler_call_details.method] = (handler, wrapped)
        return wrapped


def load_tokens(lines: Iterable[str]) -> frozenset[str]:
    """Tokens from a token file: one per line; blank lines and lines starting with # ignored."""
    tokens = {line.strip() for line in lines}
    return frozenset(t for t in tokens if t and not t.startswith("#"))


class BearerTokenInterceptor(aio.ServerInterceptor):
    """Requires `authorization: Bearer <token>` on every method outside OPEN_SERVICE_PREFIXES."""

    def __init__(self, tokens: frozenset[str]) -> None:
        if not tokens:
            raise ValueError("the token file holds no tokens")
        self._tokens = [t.encode() for t in tokens]

    def _rejection(self, metadata: Iterable[tuple[str, str | bytes]]) -> Unauthenticated | None:
        values = [v for k, v in metadata if k == "authorization"]
        if not values:
            return Unauthenticated(
                reason="MISSING_CREDENTIALS",
                message="this method requires an 'authorization: Bearer <token>' header",
            )
        value = values[0] if isinstance(values[0], str) else values[0].decode(errors="replace")
        scheme, _, token = value.partition(" ")
        presented = token.strip().encode()
        # compare_digest against every token keeps timing independent of which token matched.
        matched = [hmac.compare_digest(presented, known) for known in self._tokens]
        if scheme.lower() != "bearer" or not any(matched):
            return Unauthenticated(
                reason="INVALID_CREDENTIALS", message="the bearer token is not valid"
            )
        return None

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(OPEN_SERVICE_PREFIXES):
            return handler
        rejection = self._rejection(handler_call_details.invocation_metadata or ())
        if rejection is None:
            return handler
        return _replace_behavior(handler, lambda _behavior: _rejecting(rejection))


def _rejecting(error: LeptonError) -> Behavior:
    async def reject(_request: Any, context: aio.ServicerContext) -> None:
        await _abort_with(context, error)

    return reject
