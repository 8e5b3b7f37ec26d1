"""What hosting one gRPC service means to the server host."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from grpc import aio

from lepton_server.runtime.metrics import MetricSource

# Called with a call's full method name ("/package.Service/Method") and its `authorization`
# metadata value (None when absent); returns the caller's principal or raises a LeptonError.
Authenticate = Callable[[str, str | None], str]
# Called with a call's `authorization` metadata value; raises a LeptonError to refuse the call.
Refuse = Callable[[str | None], None]


@dataclass(frozen=True)
class HostedService:
    """One gRPC service mounted on the host: its full name, how to mount it, the optional
    features it claims (GEN-032), what to start once the server runs and what to release
    when it stops."""

    name: str
    register: Callable[[aio.Server], None]
    features: tuple[str, ...] = ()
    close: Callable[[], None] | None = None
    # Called as the host begins to stop, before in-flight calls drain: for a service that
    # holds a stream to this same server, which would otherwise hold the shutdown for the
    # whole grace period.
    stopping: Callable[[], None] | None = None
    # For a service mounted under a second name: the service whose descriptor it mirrors.
    mirrors: str | None = None
    # Called with the host's event loop and the address it listens on once the gRPC server
    # has started: for a service that also serves on threads of its own (an Arrow Flight
    # server) and must reach the loop, or that calls another service of the same server.
    start: Callable[[asyncio.AbstractEventLoop, str], None] | None = None
    # Other endpoints the service listens on besides the gRPC server, as (protocol, location)
    # pairs, e.g. ("flight", "grpc+tcp://127.0.0.1:8815"); `lepton serve` announces each one.
    endpoints: tuple[tuple[str, str], ...] = ()
    # For a service whose callers prove who they are with credentials of its own rather than
    # the host's operator tokens (--auth-tokens), e.g. devices with their access tokens: it
    # checks every call to the service, and the operator-token check skips the service.
    authenticate: Authenticate | None = None
    # Runs on every call to the service before the operator-token check, whether or not the
    # server requires credentials: refuses credentials that must never reach the service
    # (a device access token on the fleet service, EDG-010).
    refuse: Refuse | None = None
    # Methods of the service (by name; unary, or streaming one way) that the compiled front
    # answers itself when it runs (runtime/compiled_front.py): the hot path, framed outside
    # Python.
    fast_methods: tuple[str, ...] = ()
    # Read at each scrape of the server's metrics (runtime/metrics.py): the service's own
    # metric families, from what it keeps anyway (per-model counters, job counts).
    metrics: MetricSource | None = None
