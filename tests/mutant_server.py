"""Mutants: the reference server with exactly one MUST broken, to prove the suite catches it.

    python tests/mutant_server.py MUTANT serve --address 127.0.0.1:0 --data-dir DIR

applies the named mutation inside this process, then runs `lepton serve` unchanged.
MUTANTS maps each name to what it breaks and the case IDs that must fail — no more, no fewer.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2

from lepton_server import cli, discovery, errors, host, interceptors

DISCOVERY_SERVICE = "lepton.discovery.v1.DiscoveryService"
HealthServicer = health.aio.HealthServicer


@dataclass(frozen=True)
class Mutant:
    """One broken server: what it breaks, how, and the cases that must catch it."""

    breaks: str
    apply: Callable[[], None]
    caught_by: frozenset[str]


def _after_start(action: Callable[[host.RunningServer], object]) -> Callable[[], None]:
    """A mutation that runs `action` (a coroutine function) once the host has started."""

    def apply() -> None:
        original = host.ServerHost.start

        async def start(self: host.ServerHost) -> host.RunningServer:
            running = await original(self)
            await action(running)
            return running

        host.ServerHost.start = start

    return apply


def _health_class(cls: type) -> Callable[[], None]:
    def apply() -> None:
        health.aio.HealthServicer = cls

    return apply


class _LyingHealth(HealthServicer):
    async def Check(self, request, context):
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


class _SilentWatchHealth(HealthServicer):
    async def Watch(self, request, context):
        await asyncio.Event().wait()


class _ClosingWatchHealth(HealthServicer):
    async def Watch(self, request, context):
        if request.service not in self._server_status:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        await super().Watch(request, context)


def _reflection_without(names: set[str], v1: bool = True) -> Callable[[], None]:
    def apply() -> None:
        from grpc_reflection.v1alpha import reflection  # noqa: PLC0415

        original = host.enable_reflection

        def enable(server, service_names, mirrors=None):
            kept = [n for n in service_names if n not in names]
            if v1:
                original(server, kept, mirrors)
            else:
                reflection.enable_server_reflection([*kept, reflection.SERVICE_NAME], server)

        host.enable_reflection = enable

    return apply


def _catch_all_unknown_methods() -> None:
    original = host.enable_reflection

    class CatchAll(grpc.GenericRpcHandler):
        def service(self, handler_call_details):
            async def answer(request, context):
                return b""

            return grpc.unary_unary_rpc_method_handler(answer)

    def enable(server, service_names, mirrors=None):
        original(server, service_names, mirrors)
        server.add_generic_rpc_handlers((CatchAll(),))

    host.enable_reflection = enable


def _discovery_describes_nothing() -> None:
    original = discovery.DiscoveryServicer.__init__

    def init(self, services):
        original(self, [])

    discovery.DiscoveryServicer.__init__ = init


def _strict_deserializer(deserializer):
    if deserializer is None:
        return None

    def deserialize(data: bytes):
        try:
            message = deserializer(data)
        except DecodeError:
            message = None
        if message is None or len(unknown_fields.UnknownFieldSet(message)):
            return interceptors._Undecodable(
                errors.InvalidArgument(reason="MALFORMED_REQUEST", message="unknown fields")
            )
        return message

    return deserialize


def _set_attribute(owner: object, name: str, value: object) -> Callable[[], None]:
    return lambda: setattr(owner, name, value)


def _status_without_details(self: errors.LeptonError):
    from google.rpc import code_pb2, status_pb2  # noqa: PLC0415

    return status_pb2.Status(code=getattr(code_pb2, self.code.name), message=self.message)


NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN

MUTANTS: dict[str, Mutant] = {
    "health-overall-not-serving": Mutant(
        "GEN-020: the whole server reports NOT_SERVING while it serves",
        _after_start(lambda r: r.health.set("", NOT_SERVING)),
        frozenset({"general.health.check-overall", "general.health.watch-sends-current-status"}),
    ),
    "health-forgets-a-service": Mutant(
        "GEN-020: a hosted service has no SERVING health entry",
        _after_start(lambda r: r.health.set(DISCOVERY_SERVICE, SERVICE_UNKNOWN)),
        frozenset({"general.health.check-each-service"}),
    ),
    "health-lies-about-unknown-services": Mutant(
        "GEN-021: Check says SERVING for a service the server does not host",
        _health_class(_LyingHealth),
        frozenset({"general.health.check-unknown-service"}),
    ),
    "health-watch-sends-nothing": Mutant(
        "GEN-022: Watch never sends the current status",
        _health_class(_SilentWatchHealth),
        frozenset(
            {
                "general.health.watch-sends-current-status",
                "general.health.watch-unknown-service-stays-open",
            }
        ),
    ),
    "health-watch-closes-on-unknown-service": Mutant(
        "GEN-022: Watch of an unknown service ends at once with NOT_FOUND",
        _health_class(_ClosingWatchHealth),
        frozenset({"general.health.watch-unknown-service-stays-open"}),
    ),
    "reflection-v1-missing": Mutant(
        "GEN-030: only grpc.reflection.v1alpha is served",
        _reflection_without(set(), v1=False),
        frozenset(
            {
                "general.reflection.lists-hosted-services",
                "general.reflection.describes-hosted-services",
                "general.reflection.v1alpha-lists-the-same-services",
            }
        ),
    ),
    "reflection-hides-a-service": Mutant(
        "GEN-030: reflection does not list a hosted service",
        _reflection_without({DISCOVERY_SERVICE}),
        frozenset(
            {
                "general.reflection.lists-hosted-services",
                "general.reflection.describes-hosted-services",
                "general.discovery.describes-the-server",
            }
        ),
    ),
    "discovery-describes-nothing": Mutant(
        "GEN-032: GetServerInfo lists no services",
        _discovery_describes_nothing,
        frozenset({"general.discovery.describes-the-server"}),
    ),
    "unknown-methods-answer-ok": Mutant(
        "GEN-034: a method the server does not know answers OK",
        _catch_all_unknown_methods,
        frozenset({"general.errors.unknown-method-is-unimplemented"}),
    ),
    "malformed-request-is-unknown": Mutant(
        "GEN-008: undecodable request bytes get gRPC's default UNKNOWN",
        _set_attribute(interceptors, "_tolerant", lambda deserializer: deserializer),
        frozenset({"general.errors.malformed-request-is-invalid-argument"}),
    ),
    "errors-without-error-info": Mutant(
        "GEN-001: error statuses carry no ErrorInfo",
        _set_attribute(errors.LeptonError, "to_status_proto", _status_without_details),
        frozenset({"general.errors.malformed-request-is-invalid-argument"}),
    ),
    "error-info-in-another-domain": Mutant(
        "GEN-001: ErrorInfo.domain is not lepton.ai",
        _set_attribute(errors, "ERROR_DOMAIN", "example.com"),
        frozenset({"general.errors.malformed-request-is-invalid-argument"}),
    ),
    "unknown-fields-rejected": Mutant(
        "GEN-091: a request with a field the server does not know is rejected",
        _set_attribute(interceptors, "_tolerant", _strict_deserializer),
        frozenset(
            {
                "general.compatibility.unknown-fields-are-ignored",
                "general.limits.accepts-64-mib-messages",
            }
        ),
    ),
}


def main(argv: list[str]) -> int:
    MUTANTS[argv[0]].apply()
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main(sys.argv[1:]))
