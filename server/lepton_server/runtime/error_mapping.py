"""The one place domain errors become statuses.

Every handler the host registers is wrapped once, at registration: a LeptonError raised by
the handler ends the call with its code, ErrorInfo and BadRequest; any other exception is a
server bug and ends it with INTERNAL; request bytes that do not parse end it with
INVALID_ARGUMENT [MALFORMED_REQUEST] before the handler runs (GEN-001, GEN-003, GEN-008).
The same wrapper runs the credential checks that apply to the method (runtime/auth.py,
runtime/service_credentials.py) before anything else. Wrapping at registration rather than in
interceptors keeps the cost off every call: a grpc.aio interceptor costs about 90 us of CPU per
call even where it checks nothing."""

from __future__ import annotations

import errno
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.message import DecodeError
from grpc import aio

from lepton_server.runtime.errors import (
    Internal,
    InvalidArgument,
    LeptonError,
    ResourceExhausted,
)

log = logging.getLogger(__name__)

Behavior = Callable[..., Any]
Metadata = Sequence[tuple[str, str | bytes]]
# Checks one call's invocation metadata: raises LeptonError to refuse the call, and may record
# the caller's principal (in the call's own task, so the handler sees it).
MethodCheck = Callable[[Metadata], None]


class CallCheck(Protocol):
    """A credential check the host runs on the calls of the methods it applies to."""

    def for_method(self, method: str) -> MethodCheck | None:
        """The check for `method` ("/package.Service/Method"), or None if it does not apply."""


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


class CallObserver(Protocol):
    """Told of each call of one method as it starts and as it ends (the metrics of
    runtime/metrics.py, the audit log of runtime/audit_log.py)."""

    def started(self, context: aio.ServicerContext) -> Any:
        """The call started; returns what `ended` is given back (its start time, its span)."""

    def ended(
        self, start: Any, code: grpc.StatusCode, reason: str, request: Any, response: Any
    ) -> None:
        """The call ended with `code` and ErrorInfo `reason` (empty on success); `request` is
        the request message (None for a client stream), `response` the unary response (None
        when it failed or streamed)."""


class CallObservers(Protocol):
    """Gives the observer of each method's calls (or None when it observes none of them)."""

    def for_method(self, method: str, kind: str) -> CallObserver | None:
        """The observer of `method` ("/package.Service/Method"), a handler of `kind`
        ("unary_unary", "unary_stream", "stream_unary" or "stream_stream")."""


# What the file system or SQLite says when the disk (or the user's quota) is full.
_STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def as_lepton_error(exc: BaseException) -> LeptonError | None:
    """The domain error `exc` stands for, or None for a server bug: a LeptonError is itself;
    storage that is full is no bug but RESOURCE_EXHAUSTED [STORAGE_FULL], which the client
    may retry once room is made (GEN-009)."""
    if isinstance(exc, LeptonError):
        return exc
    # sqlite3 is looked up, not imported: a server without SQLite never loads it.
    sqlite3 = sys.modules.get("sqlite3")
    full = (isinstance(exc, OSError) and exc.errno in _STORAGE_FULL_ERRNOS) or (
        sqlite3 is not None
        and isinstance(exc, sqlite3.OperationalError)
        and "disk is full" in str(exc)
    )
    if full:
        return ResourceExhausted(
            reason="STORAGE_FULL",
            message="the server's storage is full; nothing of this call was kept",
        )
    return None


def _outcome(exc: BaseException, context: aio.ServicerContext) -> tuple[grpc.StatusCode, str]:
    """The status code and ErrorInfo reason of a call that ended with `exc` without the
    wrapper mapping it: cancelled, or aborted by its handler."""
    if isinstance(exc, aio.AbortError):
        # A handler's own abort: the compiled front's carries its status; grpc.aio's context
        # keeps the code.
        status = getattr(exc, "status", None)
        code = status.code if status is not None else context.code()
        return (code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN), ""
    # A handler is cancelled (a stream's closed) when its client goes away and when the
    # deadline passes.
    past_deadline = context.time_remaining() == 0.0
    return (grpc.StatusCode.DEADLINE_EXCEEDED if past_deadline else grpc.StatusCode.CANCELLED), ""


_FAILED = object()  # what an observer that failed to start is given back as its start


class _Observed:
    """One call as its observers see it: told once that it started and once how it ended."""

    __slots__ = ("_ended", "_starts")

    def __init__(self, observers: Sequence[CallObserver], context: aio.ServicerContext) -> None:
        # The last observer is the outermost: started first and ended last.
        self._starts = [(o, _started(o, context)) for o in reversed(observers)]
        self._ended = False

    def end(self, code: grpc.StatusCode, reason: str, request: Any, response: Any) -> None:
        if self._ended:
            return
        self._ended = True
        for observer, start in reversed(self._starts):
            _ended(observer, start, code, reason, request, response)


def _map_errors(
    behavior: Behavior,
    streams_requests: bool,
    check: MethodCheck | None = None,
    observers: Sequence[CallObserver] = (),
) -> Behavior:
    """Wrap one async behaviour so `check` runs first, LeptonError (and any bug) ends the call
    with a full status, and an undecodable request ends it with INVALID_ARGUMENT before the
    handler runs. Each of `observers` is told of every call as it starts and as it ends."""
    decoded = _checked_stream if streams_requests else _decoded

    async def on_error(
        context: aio.ServicerContext, exc: BaseException, call: _Observed, request: Any
    ) -> None:
        if isinstance(exc, Exception) and not isinstance(exc, aio.AbortError):
            error = as_lepton_error(exc)
            if error is None:
                log.exception("unhandled error in RPC handler")
                error = Internal(reason="INTERNAL_ERROR", message="internal error")
            # Told before the status is sent: a client that reads the metrics as soon as its
            # call fails finds the call counted (GEN-101).
            call.end(error.code, error.reason, request, None)
            await abort_with(context, error)
        call.end(*_outcome(exc, context), request, None)
        raise exc

    if inspect.isasyncgenfunction(behavior):

        async def streaming(request: Any, context: aio.ServicerContext) -> Any:
            call = _Observed(observers, context)
            observed = None if streams_requests else request
            try:
                if check is not None:
                    check(context.invocation_metadata() or ())
                async for response in behavior(decoded(request), context):
                    yield response
            except BaseException as exc:
                await on_error(context, exc, call, observed)
            call.end(grpc.StatusCode.OK, "", observed, None)

        return streaming

    if inspect.iscoroutinefunction(behavior):

        async def unary(request: Any, context: aio.ServicerContext) -> Any:
            call = _Observed(observers, context)
            observed = None if streams_requests else request
            try:
                if check is not None:
                    check(context.invocation_metadata() or ())
                response = await behavior(decoded(request), context)
            except BaseException as exc:
                await on_error(context, exc, call, observed)
            call.end(grpc.StatusCode.OK, "", observed, response)
            return response

        return unary

    if check is not None:  # a check a synchronous handler would skip must not pass silently
        raise TypeError(f"{behavior!r}: credential checks need an async handler")
    return behavior


def _started(observer: CallObserver, context: aio.ServicerContext) -> Any:
    """`observer.started`; a failure of the observer is logged and never fails the call."""
    try:
        return observer.started(context)
    except Exception:
        log.exception("a call observer failed as the call started")
        return _FAILED


def _ended(observer: CallObserver, start: Any, *outcome: Any) -> None:
    """`observer.ended`; a failure of the observer (a full disk under the audit log) is
    logged and never changes what the client receives."""
    if start is _FAILED:
        return
    try:
        observer.ended(start, *outcome)
    except Exception:
        log.exception("a call observer failed as the call ended")


def handler_kind(handler: grpc.RpcMethodHandler) -> str:
    """Which of unary_unary, unary_stream, stream_unary, stream_stream `handler` is."""
    return next(kind for kind in _KINDS if getattr(handler, kind) is not None)


def map_errors(
    handler: grpc.RpcMethodHandler,
    check: MethodCheck | None = None,
    observers: Sequence[CallObserver] = (),
) -> grpc.RpcMethodHandler:
    """`handler` with `check`, error mapping, the tolerant request deserializer and the
    `observers` of its calls."""
    return replace_behavior(
        handler,
        lambda behavior, streams: _map_errors(behavior, streams, check, observers),
        _tolerant(handler.request_deserializer),
    )


def _method_check(checks: Sequence[CallCheck], method: str) -> MethodCheck | None:
    """The checks that apply to `method`, in order, as one (None when none applies)."""
    applying = [c for c in (check.for_method(method) for check in checks) if c is not None]
    if not applying:
        return None
    if len(applying) == 1:
        return applying[0]

    def check_all(metadata: Metadata) -> None:
        for check in applying:
            check(metadata)

    return check_all


def _wrapped(
    handler: grpc.RpcMethodHandler,
    method: str,
    checks: Sequence[CallCheck],
    observers: Sequence[CallObservers],
) -> grpc.RpcMethodHandler:
    kind = handler_kind(handler)
    chosen = [o for o in (source.for_method(method, kind) for source in observers) if o]
    return map_errors(handler, _method_check(checks, method), chosen)


class _MappedGenericHandler(grpc.GenericRpcHandler):
    """A generic handler whose method handlers are wrapped, once per method."""

    def __init__(
        self,
        inner: grpc.GenericRpcHandler,
        checks: Sequence[CallCheck],
        observers: Sequence[CallObservers],
    ) -> None:
        self._inner = inner
        self._checks = checks
        self._observers = observers
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def service(self, call: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(call)
        if handler is None:
            return None
        cached = self._wrapped.get(call.method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = _wrapped(handler, call.method, self._checks, self._observers)
        self._wrapped[call.method] = (handler, wrapped)
        return wrapped


class ErrorMappingServer:
    """Stands in for a grpc.aio server while services register: every handler added through
    it is wrapped with `map_errors` and the `checks` that apply to its method. Everything else
    passes through to the server. The `observers` are told of every call of those handlers."""

    def __init__(
        self,
        server: aio.Server,
        checks: Sequence[CallCheck] = (),
        observers: Sequence[CallObservers] = (),
    ) -> None:
        self._server = server
        self._checks = tuple(checks)
        self._observers = tuple(observers)
        # Full method name -> the wrapped handler registered for it, for the compiled front.
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(_MappedGenericHandler(h, self._checks, self._observers) for h in handlers)
        )

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        wrapped = {
            name: _wrapped(h, f"/{service_name}/{name}", self._checks, self._observers)
            for name, h in method_handlers.items()
        }
        self.handlers.update({f"/{service_name}/{name}": h for name, h in wrapped.items()})
        self._server.add_registered_method_handlers(service_name, wrapped)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)
