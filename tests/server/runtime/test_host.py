"""The server host: health, reflection, discovery, shutdown and message limits over loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.hosting import ECHO_SERVICE, echo_service, hosted
from support.reflection_client import list_services
from support.status_details import error_info

from lepton.discovery.v1 import discovery_service_pb2, discovery_service_pb2_grpc
from lepton_server.config import ServerConfig
from lepton_server.runtime.layer_registry import build_services

DISCOVERY = "lepton.discovery.v1.DiscoveryService"
SERVING = health_pb2.HealthCheckResponse.SERVING


def test_server_announces_an_ephemeral_loopback_port(server):
    host, _, port = server.address.rpartition(":")
    assert host == "127.0.0.1"
    assert int(port) > 0


def test_overall_health_is_serving(server):
    with grpc.insecure_channel(server.address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=10
        )
    assert response.status == SERVING


def test_every_hosted_service_reports_serving(server):
    with grpc.insecure_channel(server.address) as channel:
        info = discovery_service_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_service_pb2.GetServerInfoRequest(), timeout=10
        )
        stub = health_pb2_grpc.HealthStub(channel)
        names = [s.name for s in info.services]
        statuses = [stub.Check(health_pb2.HealthCheckRequest(service=n)).status for n in names]
    assert DISCOVERY in names
    assert statuses == [SERVING] * len(names)


def test_health_of_an_unknown_service_is_not_found(server):
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as error:
        health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_watch_sends_current_status_then_not_serving_on_shutdown(server):
    with grpc.insecure_channel(server.address) as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=DISCOVERY), timeout=30
        )
        assert next(stream).status == SERVING
        server.process.send_signal(signal.SIGTERM)
        assert next(stream).status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert server.process.wait(timeout=20) == 0


@pytest.mark.parametrize(
    "reflection_service",
    ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"],
)
def test_reflection_lists_every_service(server, reflection_service):
    with grpc.insecure_channel(server.address) as channel:
        listed = list_services(channel, reflection_service)
        info = discovery_service_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_service_pb2.GetServerInfoRequest(), timeout=10
        )
    expected = {s.name for s in info.services} | {
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert set(listed) == expected


def test_discovery_names_the_server_and_spec_version(server):
    with grpc.insecure_channel(server.address) as channel:
        info = discovery_service_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_service_pb2.GetServerInfoRequest(), timeout=10
        )
    assert info.server_name == "lepton-reference-server"
    assert info.spec_version.startswith("1.")


def test_unknown_method_is_unimplemented(server):
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as error:
        channel.unary_unary(f"/{DISCOVERY}/NoSuchMethod")(b"", timeout=10)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_sigint_stops_the_server_cleanly(server):
    assert server.stop(signal.SIGINT) == 0


def test_unknown_layer_is_refused_at_start(server_factory):
    with pytest.raises(RuntimeError, match="unknown or unimplemented layer"):
        server_factory("--services", "no-such-layer")


def _oversized_call(address: str, size: int) -> grpc.StatusCode:
    """Send `size` bytes of an unknown field to GetServerInfo; return the status code."""
    # Field 15, wire type 2 (length-delimited): parsers skip it, so only the size matters.
    payload = b"\x7a" + _varint(size) + b"\0" * size
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    with grpc.insecure_channel(address, options=options) as channel:
        method = channel.unary_unary(
            f"/{DISCOVERY}/GetServerInfo",
            response_deserializer=discovery_service_pb2.GetServerInfoResponse.FromString,
        )
        try:
            method(payload, timeout=60)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_message_over_the_configured_limit_is_resource_exhausted(server_factory):
    server = server_factory("--max-message-bytes", str(1024 * 1024))
    assert _oversized_call(server.address, 2 * 1024 * 1024) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_message_under_the_configured_limit_is_accepted(server_factory):
    server = server_factory("--max-message-bytes", str(1024 * 1024))
    assert _oversized_call(server.address, 512 * 1024) == grpc.StatusCode.OK


def test_default_limit_accepts_a_64_mib_tensor(server):
    assert _oversized_call(server.address, 64 * 1024 * 1024) == grpc.StatusCode.OK


def test_undecodable_request_is_invalid_argument_with_error_info(server):
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as error:
        channel.unary_unary(f"/{DISCOVERY}/GetServerInfo")(b"\xff\xff\xff", timeout=10)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error.value).reason == "MALFORMED_REQUEST"


def test_undecodable_message_on_a_stream_is_invalid_argument(server):
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as error:
        responses = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        )(iter([b"\xff\xff\xff"]), timeout=10)
        list(responses)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error.value).reason == "MALFORMED_REQUEST"


def test_a_service_streaming_from_its_own_server_does_not_hold_the_shutdown(tmp_path):
    """A service that follows a stream of the same server (the inference layer following
    the registry) lets go of it as the host begins to stop; otherwise every stop would wait
    out the whole grace period for that stream."""
    opened = threading.Event()
    channels: list[grpc.Channel] = []

    async def endless(_request: bytes, context: grpc.aio.ServicerContext):
        opened.set()
        await asyncio.Event().wait()
        yield b""

    def follow(_loop: asyncio.AbstractEventLoop, address: str) -> None:
        channel = grpc.insecure_channel(address)
        channels.append(channel)
        stream = channel.unary_stream(f"/{ECHO_SERVICE}/Stream")(b"")
        threading.Thread(target=_ended, args=(stream,), daemon=True).start()

    def let_go() -> None:
        for channel in channels:
            channel.close()

    service = dataclasses.replace(
        echo_service(lambda request, context: request, endless), start=follow, stopping=let_go
    )
    config = ServerConfig(data_dir=tmp_path, services=(), shutdown_grace_seconds=600)
    # `hosted` allows the stop 30 s: without the hook it would last the 600 s grace.
    with hosted(config, [service]):
        assert opened.wait(10)


def test_the_inference_layer_lets_go_of_its_own_registry_when_the_host_stops(tmp_path):
    config = ServerConfig(data_dir=tmp_path, services=("inference", "registry"))
    follows = [s for s in build_services(config) if s.start is not None and "inference" in s.name]
    assert follows and all(s.stopping is not None for s in follows)


def _ended(stream) -> list:
    try:
        return list(stream)
    except grpc.RpcError:
        return []
