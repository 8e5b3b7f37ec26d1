"""OpenTelemetry traces (spec/general.md §11, GEN-104), exported over OTLP when
`--otlp-endpoint` is given and absent otherwise.

Each call gets a server span, child of the trace context its caller sent in the W3C
`traceparent` metadata, started in the handler wrapper every method goes through on either
data plane (runtime/otlp_tracing.py, a CallObservers of runtime/error_mapping.py). It is the
current span while the handler runs, so the spans the layers open around their domain and
storage steps (`span`, here) are its children. Without an endpoint OpenTelemetry is not even
loaded, no call is wrapped and `span` opens nothing: tracing that is off costs a call nothing
but one test of a class attribute at each domain step."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _Active:
    """The tracer of the server process while it exports: the domain's spans open only then."""

    # An opentelemetry Tracer, set by runtime/otlp_tracing.py (which alone loads OpenTelemetry).
    tracer: Any = None


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[None]:
    """A span around one domain or storage step, child of the call's; nothing when off."""
    tracer = _Active.tracer
    if tracer is None:
        yield
        return
    with tracer.start_as_current_span(name, attributes=attributes):
        yield
