"""In-process hosting for tests that need a service of their own on the real host stack."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import grpc
from grpc import aio

from lepton_server.config import ServerConfig
from lepton_server.runtime.host import ServerHost
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import build_services

ECHO_SERVICE = "lepton.test.Echo"


def echo_service(behavior: Callable, stream_behavior: Callable | None = None) -> HostedService:
    """A test service of raw-bytes methods: unary `/lepton.test.Echo/Call` running `behavior`
    and, when given, server-streaming `/lepton.test.Echo/Stream` running `stream_behavior`."""

    def register(server: aio.Server) -> None:
        handlers = {"Call": grpc.unary_unary_rpc_method_handler(behavior)}
        if stream_behavior is not None:
            handlers["Stream"] = grpc.unary_stream_rpc_method_handler(stream_behavior)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(ECHO_SERVICE, handlers),)
        )

    return HostedService(name=ECHO_SERVICE, register=register)


@contextmanager
def hosted(config: ServerConfig, extra: Sequence[HostedService]) -> Iterator[str]:
    """Run a ServerHost with the services of the layers `config` selects and the `extra`
    services after them, on its own event loop thread; yield its address."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        host = ServerHost(config, [*build_services(config), *extra])
        running = asyncio.run_coroutine_threadsafe(host.start(), loop).result(30)
        try:
            yield running.address
        finally:
            asyncio.run_coroutine_threadsafe(host.stop(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
