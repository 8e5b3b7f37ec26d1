"""TLS and mutual TLS handshakes with certificates the tests create."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.certificates import CertificateAuthority

SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def ca(tmp_path):
    return CertificateAuthority(tmp_path)


def _check(address: str, credentials: grpc.ChannelCredentials) -> int:
    with grpc.secure_channel(address, credentials) as channel:
        return (
            health_pb2_grpc.HealthStub(channel)
            .Check(health_pb2.HealthCheckRequest(), timeout=10)
            .status
        )


def test_tls_client_trusting_the_ca_connects(server_factory, ca):
    issued = ca.issue("server", server=True)
    server = server_factory("--tls-cert", str(issued.cert), "--tls-key", str(issued.key))
    credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert.read_bytes())
    assert _check(server.address, credentials) == SERVING


def test_tls_client_trusting_another_ca_is_refused(server_factory, ca, tmp_path):
    issued = ca.issue("server", server=True)
    server = server_factory("--tls-cert", str(issued.cert), "--tls-key", str(issued.key))
    stranger = CertificateAuthority(tmp_path, name="Other CA")
    credentials = grpc.ssl_channel_credentials(root_certificates=stranger.cert.read_bytes())
    with pytest.raises(grpc.RpcError) as error:
        _check(server.address, credentials)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


def test_plaintext_client_cannot_talk_to_a_tls_server(server_factory, ca):
    issued = ca.issue("server", server=True)
    server = server_factory("--tls-cert", str(issued.cert), "--tls-key", str(issued.key))
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as error:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.fixture
def mtls_server(server_factory, ca):
    issued = ca.issue("server", server=True)
    return server_factory(
        "--tls-cert",
        str(issued.cert),
        "--tls-key",
        str(issued.key),
        "--tls-client-ca",
        str(ca.cert),
    )


def test_mtls_client_with_a_certificate_from_the_ca_connects(mtls_server, ca):
    client = ca.issue("client", server=False)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.cert.read_bytes(),
        private_key=client.key.read_bytes(),
        certificate_chain=client.cert.read_bytes(),
    )
    assert _check(mtls_server.address, credentials) == SERVING


def test_mtls_client_without_a_certificate_is_refused(mtls_server, ca):
    credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert.read_bytes())
    with pytest.raises(grpc.RpcError) as error:
        _check(mtls_server.address, credentials)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mtls_client_with_a_certificate_from_another_ca_is_refused(mtls_server, ca, tmp_path):
    stranger = CertificateAuthority(tmp_path, name="Other CA").issue("intruder", server=False)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.cert.read_bytes(),
        private_key=stranger.key.read_bytes(),
        certificate_chain=stranger.cert.read_bytes(),
    )
    with pytest.raises(grpc.RpcError) as error:
        _check(mtls_server.address, credentials)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
