"""The OTLP side of tracing (runtime/tracing.py): a server span per call, exported to an
OTLP/gRPC collector. Imported only when `--otlp-endpoint` is given."""

from __future__ import annotations

from typing import Any

import grpc
from grpc import aio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from lepton_server import __version__
from lepton_server.runtime.tracing import _Active

INSTRUMENTATION = "lepton_server"


class _MethodTracer:
    """Opens the server span of each call of one method."""

    __slots__ = ("_attributes", "_name", "_tracer")

    def __init__(self, tracer: trace.Tracer, method: str) -> None:
        service, _, name = method.lstrip("/").partition("/")
        self._tracer = tracer
        self._name = f"{service}/{name}"
        self._attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}

    def started(self, context: aio.ServicerContext) -> tuple[trace.Span, object]:
        carrier = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        parent = propagate.extract(carrier)
        call = self._tracer.start_span(
            self._name, context=parent, kind=SpanKind.SERVER, attributes=self._attributes
        )
        return call, otel_context.attach(trace.set_span_in_context(call, parent))

    def ended(
        self,
        start: tuple[trace.Span, object],
        code: grpc.StatusCode,
        reason: str,
        request: Any,
        response: Any,
    ) -> None:
        call, token = start
        call.set_attribute("rpc.grpc.status_code", code.value[0])
        if code is not grpc.StatusCode.OK:
            call.set_status(Status(StatusCode.ERROR, f"{code.name} {reason}".strip()))
        call.end()
        otel_context.detach(token)


class CallTracer:
    """Exports a span per call (and the domain's spans) to an OTLP/gRPC collector."""

    def __init__(self, endpoint: str) -> None:
        resource = Resource.create(
            {"service.name": "lepton-server", "service.version": __version__}
        )
        self._provider = TracerProvider(resource=resource)
        exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True)
        self._provider.add_span_processor(BatchSpanProcessor(exporter))
        self._tracer = self._provider.get_tracer(INSTRUMENTATION, __version__)
        _Active.tracer = self._tracer

    def for_method(self, method: str, kind: str) -> _MethodTracer:
        return _MethodTracer(self._tracer, method)

    def close(self) -> None:
        """Export what is left and stop."""
        _Active.tracer = None
        self._provider.shutdown()
