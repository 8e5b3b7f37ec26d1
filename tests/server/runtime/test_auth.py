"""Bearer-token auth: protected methods need a valid token; discovery stays open."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.hosting import ECHO_SERVICE, echo_service, hosted
from support.reflection_client import list_services
from support.status_details import error_info

from lepton.discovery.v1 import discovery_service_pb2, discovery_service_pb2_grpc
from lepton_server.config import ServerConfig

TOKEN = "s3cr3t-token"


async def _echo(request: bytes, _context) -> bytes:
    return request


@pytest.fixture
def address(tmp_path):
    config = ServerConfig(data_dir=tmp_path, auth_tokens=frozenset({TOKEN, "second-token"}))
    with hosted(config, [echo_service(_echo)]) as address:
        yield address


def _call(address: str, metadata: tuple[tuple[str, str], ...] = ()) -> bytes:
    with grpc.insecure_channel(address) as channel:
        return channel.unary_unary(f"/{ECHO_SERVICE}/Call")(b"ping", metadata=metadata, timeout=10)


def _rejection(address: str, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        _call(address, metadata)
    return error.value


def test_call_without_token_is_unauthenticated(address):
    error = _rejection(address)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(error).reason == "MISSING_CREDENTIALS"
    assert error_info(error).domain == "lepton.ai"


def test_call_with_wrong_token_is_unauthenticated(address):
    error = _rejection(address, (("authorization", "Bearer wrong"),))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(error).reason == "INVALID_CREDENTIALS"


def test_token_with_another_scheme_is_unauthenticated(address):
    error = _rejection(address, (("authorization", f"Basic {TOKEN}"),))
    assert error_info(error).reason == "INVALID_CREDENTIALS"


@pytest.mark.parametrize("token", [TOKEN, "second-token"])
def test_call_with_a_listed_token_is_accepted(address, token):
    assert _call(address, (("authorization", f"Bearer {token}"),)) == b"ping"


def test_health_needs_no_token(address):
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=ECHO_SERVICE), timeout=10
        )
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_discovery_needs_no_token(address):
    with grpc.insecure_channel(address) as channel:
        info = discovery_service_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_service_pb2.GetServerInfoRequest(), timeout=10
        )
    assert ECHO_SERVICE in {s.name for s in info.services}


def test_reflection_needs_no_token(address):
    with grpc.insecure_channel(address) as channel:
        assert ECHO_SERVICE in list_services(channel, "grpc.reflection.v1.ServerReflection")


def test_serve_refuses_an_empty_token_file(server_factory, tmp_path):
    empty = tmp_path / "tokens"
    empty.write_text("# no tokens yet\n\n")
    with pytest.raises(RuntimeError, match="holds no tokens"):
        server_factory("--auth-tokens", str(empty))


def test_serve_with_token_file_starts_and_keeps_health_open(server_factory, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# operators\n{TOKEN}\n")
    server = server_factory("--auth-tokens", str(tokens))
    with grpc.insecure_channel(server.address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10
        )
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_each_call_runs_as_the_principal_of_its_token(tmp_path):
    """GEN-014: the handler sees the principal the token file names, or `token:<digest>` for a
    token listed alone, never the token itself; concurrent calls do not see each other's."""
    from concurrent import futures  # noqa: PLC0415

    from lepton_server.runtime.principals import (  # noqa: PLC0415
        current_principal,
        load_token_file,
        token_principal,
    )

    async def whoami(_request: bytes, _context) -> bytes:
        return current_principal().encode()

    grants = load_token_file(["# tokens", "", f"{TOKEN} alice@example.com", "second-token"])
    principals = {token: grant.principal for token, grant in grants.items()}
    config = ServerConfig(
        data_dir=tmp_path, auth_tokens=frozenset(principals), principals=principals
    )
    with hosted(config, [echo_service(whoami)]) as address:

        def who(token: str) -> bytes:
            return _call(address, (("authorization", f"Bearer {token}"),))

        with futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(who, [TOKEN, "second-token"] * 10))
    assert answers == [b"alice@example.com", token_principal("second-token").encode()] * 10
    assert token_principal("second-token").startswith("token:")
    assert "second-token" not in token_principal("second-token")
