"""What hosting one gRPC service means to the server host."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grpc import aio


@dataclass(frozen=True)
class HostedService:
    """One gRPC service mounted on the host: its full name, how to mount it, the optional
    features it claims (GEN-032) and what to release when the server stops."""

    name: str
    register: Callable[[aio.Server], None]
    features: tuple[str, ...] = ()
    close: Callable[[], None] | None = None
    # For a service mounted under a second name: the service whose descriptor it mirrors.
    mirrors: str | None = None
