"""Who may call what (EDG-010, EDG-016, EDG-026): DeviceAgentService takes only device access
tokens from Register, EdgeService refuses them whatever the server's own credentials, and the
operator tokens of `--auth-tokens` guard EdgeService without touching device calls."""

from __future__ import annotations

import time

import grpc
import pytest
from support.edge_devices import DeviceKey, SyncStream, create_device, enroll, hello, refused
from support.status_details import error_info

from lepton.discovery.v1 import discovery_service_pb2, discovery_service_pb2_grpc
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_server.edge.layer import EdgeConfig

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
OPERATOR = "operator-secret"


def _sync_error(agent, metadata) -> grpc.RpcError:
    stream = SyncStream(agent, metadata, hello())
    try:
        return stream.error()
    finally:
        stream.close()


def _reason(error: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    return error.code(), error_info(error).reason


def test_sync_without_authorization_is_missing_credentials(agent):
    assert _reason(_sync_error(agent, ())) == (UNAUTHENTICATED, "MISSING_CREDENTIALS")


@pytest.mark.parametrize("value", ["Bearer lepton-device-forged", "Bearer ", "Basic abc"])
def test_sync_with_a_token_the_server_did_not_issue_is_invalid_credentials(agent, value):
    error = _sync_error(agent, (("authorization", value),))
    assert _reason(error) == (UNAUTHENTICATED, "INVALID_CREDENTIALS")


def test_every_authenticated_agent_rpc_checks_the_token(agent):
    forged = (("authorization", "Bearer lepton-device-forged"),)
    for call in (
        lambda m: agent.StatArtifact(agent_pb.StatArtifactRequest(), metadata=m),
        lambda m: agent.UploadTelemetry(agent_pb.UploadTelemetryRequest(), metadata=m),
        lambda m: list(agent.ReadArtifact(agent_pb.ReadArtifactRequest(), metadata=m)),
    ):
        refused(lambda call=call: call(()), UNAUTHENTICATED, "MISSING_CREDENTIALS")
        refused(lambda call=call: call(forged), UNAUTHENTICATED, "INVALID_CREDENTIALS")


def test_a_device_access_token_opens_sync(edge, agent):
    device = enroll(edge, agent)
    stream = SyncStream(agent, device.metadata, hello())
    try:
        welcome, _ = stream.open()
        assert welcome.welcome.device == device.name
    finally:
        stream.close()


def test_decommissioning_revokes_the_access_tokens(edge, agent):
    device = enroll(edge, agent)
    edge.DecommissionDevice(pb.DecommissionDeviceRequest(name=device.name))
    assert _reason(_sync_error(agent, device.metadata)) == (UNAUTHENTICATED, "INVALID_CREDENTIALS")


def test_edge_service_refuses_a_device_access_token(edge, agent):
    device = enroll(edge, agent)
    for metadata in (device.metadata, (("authorization", "Bearer lepton-device-revoked"),)):
        refused(
            lambda metadata=metadata: edge.GetDevice(
                pb.GetDeviceRequest(name=device.name), metadata=metadata
            ),
            grpc.StatusCode.PERMISSION_DENIED,
            "PERMISSION_DENIED",
        )


def test_discovery_lists_both_services_with_the_features_served(fleet_server):
    info = discovery_service_pb2_grpc.DiscoveryServiceStub(fleet_server.channel).GetServerInfo(
        discovery_service_pb2.GetServerInfoRequest()
    )
    features = {s.name: list(s.features) for s in info.services}
    assert sorted(features["lepton.edge.v1.EdgeService"]) == [
        "edge.artifact_upload",
        "edge.commands",
        "edge.rollout_rate",
        "edge.telemetry_query",
        "edge.update_windows",
    ]
    assert features["lepton.edge.v1.DeviceAgentService"] == ["edge.device_blobs"]


def test_an_expired_access_token_is_invalid_credentials(start_fleet):
    with start_fleet(EdgeConfig(access_token_ttl_seconds=0.5)) as server:
        edge, agent = server.edge, server.agent
        device = enroll(edge, agent)
        time.sleep(0.6)
        error = _sync_error(agent, device.metadata)
        assert _reason(error) == (UNAUTHENTICATED, "INVALID_CREDENTIALS")
        # A new Register gives a fresh token.
        device.token = device.key.register(agent, device.device_id).access_token
        stream = SyncStream(agent, device.metadata, hello())
        try:
            assert stream.open()[0].welcome.device == device.name
        finally:
            stream.close()


def test_with_operator_tokens_devices_still_use_their_own(start_fleet):
    operator = (("authorization", f"Bearer {OPERATOR}"),)
    with start_fleet(auth_tokens=frozenset({OPERATOR})) as server:
        edge, agent = server.edge, server.agent
        refused(lambda: create_device(edge), UNAUTHENTICATED, "MISSING_CREDENTIALS")
        created = edge.CreateDevice(pb.CreateDeviceRequest(device_id="cam"), metadata=operator)
        # Register needs no operator token.
        key = DeviceKey()
        answer = key.register(agent, "cam", created.bootstrap_token)
        device_metadata = (("authorization", f"Bearer {answer.access_token}"),)
        stream = SyncStream(agent, device_metadata, hello())
        try:
            assert stream.open()[0].welcome.device == "devices/cam"
        finally:
            stream.close()
        # An operator token is not a device token, and a device token is no operator's.
        assert _reason(_sync_error(agent, operator)) == (UNAUTHENTICATED, "INVALID_CREDENTIALS")
        refused(
            lambda: edge.GetDevice(
                pb.GetDeviceRequest(name="devices/cam"), metadata=device_metadata
            ),
            grpc.StatusCode.PERMISSION_DENIED,
            "PERMISSION_DENIED",
        )
