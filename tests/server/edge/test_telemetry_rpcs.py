"""Telemetry through the fleet server (spec/edge.md 2.8): devices upload with their access
tokens (EDG-050 to EDG-056), operators list with ListTelemetryRecords (edge.telemetry_query,
EDG-058, EDG-118), and a rollout's telemetry gate judges the uploaded inference events
(EDG-115)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from support.edge_devices import DeviceKey
from support.edge_fleet import (
    create_deployment,
    create_device,
    device_metadata,
    eventually,
    sync_once,
    uploaded_release,
)
from support.status_details import error_info

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_state_pb2, rollout_pb2, telemetry_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.type.v1 import error_pb2

R = rollout_pb2
U = device_state_pb2
TIME = timestamp_pb2.Timestamp(seconds=1_800_000_000)


def metric(sequence: int, **fields: str) -> telemetry_pb2.TelemetryRecord:
    return telemetry_pb2.TelemetryRecord(
        sequence=sequence,
        time=TIME,
        metric=telemetry_pb2.TelemetryMetric(name="cpu.load", value=0.5),
        **fields,
    )


def inference(
    sequence: int, deployment: str, rollout: str, *, failed: bool = False
) -> telemetry_pb2.TelemetryRecord:
    event = telemetry_pb2.InferenceEvent(
        deployment=deployment, latency=duration_pb2.Duration(nanos=20_000_000)
    )
    if failed:
        event.error.CopyFrom(error_pb2.ErrorStatus(code=13, reason="INFERENCE_FAILED"))
    return telemetry_pb2.TelemetryRecord(
        sequence=sequence, time=TIME, inference=event, deployment=deployment, rollout=rollout
    )


def upload(agent, metadata, stream: str, *records, boot_id: str = "boot-1"):
    segment = agent_pb.TelemetrySegment(stream=stream, boot_id=boot_id, records=records)
    return agent.UploadTelemetry(
        agent_pb.UploadTelemetryRequest(segments=[segment]), metadata=metadata
    )


def listed(edge, parent: str, filter: str = "") -> list[telemetry_pb2.StoredTelemetryRecord]:
    return list(
        edge.ListTelemetryRecords(
            pb.ListTelemetryRecordsRequest(parent=parent, filter=filter, page_size=1000)
        ).records
    )


def failed(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_the_server_lists_telemetry_query(fleet_server):
    discovery = discovery_grpc.DiscoveryServiceStub(fleet_server.channel)
    info = discovery.GetServerInfo(discovery_pb.GetServerInfoRequest())
    edge_service = next(s for s in info.services if s.name == "lepton.edge.v1.EdgeService")
    assert "edge.telemetry_query" in edge_service.features


def test_a_device_uploads_and_a_resend_is_a_duplicate(edge, agent, fleet_server):
    # EDG-052, EDG-053: stored under the calling device, each record once.
    device = create_device(edge, "telemetry-resend").name
    metadata = device_metadata(fleet_server.fleet, device)
    records = [metric(1), metric(2), metric(4)]
    first = upload(agent, metadata, "metrics", *records).acknowledgements[0]
    assert (first.acknowledged_sequence, first.accepted_record_count) == (4, 3)
    again = upload(agent, metadata, "metrics", *records).acknowledgements[0]
    assert (again.acknowledged_sequence, again.accepted_record_count) == (4, 0)
    assert again.duplicate_record_count == 3
    stored = listed(edge, device)
    assert [r.record.sequence for r in stored] == [1, 2, 4]
    assert {(r.device, r.stream, r.boot_id) for r in stored} == {(device, "metrics", "boot-1")}
    assert stored[0].record == records[0]
    assert stored[0].HasField("receive_time")


def test_uploads_need_a_device_token_and_valid_records(agent, fleet_server, edge):
    segment = agent_pb.TelemetrySegment(stream="metrics", boot_id="b", records=[metric(1)])
    error = failed(agent.UploadTelemetry, agent_pb.UploadTelemetryRequest(segments=[segment]))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    device = create_device(edge, "telemetry-invalid").name
    metadata = device_metadata(fleet_server.fleet, device)
    error = failed(upload, agent, metadata, "metrics", metric(2), metric(1))
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    assert listed(edge, device) == []  # EDG-054: nothing of a refused request


def test_the_batch_limit_a_device_is_told_is_the_one_enforced(edge, agent):
    # EDG-051 with EDG-020: Register announced 1000 records while uploads were refused only
    # above 10000, so a batch one over the announced limit was stored.
    created = edge.CreateDevice(pb.CreateDeviceRequest(device_id="telemetry-limit"))
    answer = DeviceKey().register(agent, "telemetry-limit", created.bootstrap_token)
    limit = answer.settings.max_telemetry_batch_record_count
    metadata = (("authorization", f"Bearer {answer.access_token}"),)
    records = [metric(s) for s in range(1, limit + 2)]
    error = failed(upload, agent, metadata, "metrics", *records)
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "MESSAGE_TOO_LARGE",
    )
    stored = upload(agent, metadata, "metrics", *records[:-1]).acknowledgements[0]
    assert stored.accepted_record_count == limit


def test_listing_every_device_with_filters(edge, agent, fleet_server):
    # EDG-118
    one = create_device(edge, "telemetry-one").name
    two = create_device(edge, "telemetry-two").name
    rollout = "deployments/filtered/rollouts/r1"
    upload(
        agent,
        device_metadata(fleet_server.fleet, one),
        "inference",
        inference(1, "deployments/filtered", rollout),
        inference(2, "deployments/filtered", "deployments/filtered/rollouts/r0"),
    )
    upload(
        agent,
        device_metadata(fleet_server.fleet, two),
        "inference",
        inference(1, "deployments/filtered", rollout),
    )
    by_rollout = listed(edge, "devices/-", f'rollout = "{rollout}"')
    assert sorted(r.device for r in by_rollout) == [one, two]
    assert len(listed(edge, "devices/-", 'record.deployment = "deployments/filtered"')) == 3
    mine = listed(edge, "devices/-", f'device = "{two}" AND record.rollout = "{rollout}"')
    assert [(r.device, r.record.sequence) for r in mine] == [(two, 1)]


def test_listing_checks_its_parent_and_filter(edge):
    error = failed(listed, edge, "devices/nobody")
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )
    error = failed(listed, edge, "deployments/x")
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_NAME",
    )
    error = failed(listed, edge, "devices/-", "colour = red")
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FILTER",
    )


def test_a_deleted_device_leaves_no_telemetry(edge, agent, fleet_server):
    device = create_device(edge, "telemetry-deleted").name
    upload(agent, device_metadata(fleet_server.fleet, device), "metrics", metric(1))
    edge.DecommissionDevice(pb.DecommissionDeviceRequest(name=device))
    edge.DeleteDevice(pb.DeleteDeviceRequest(name=device))
    assert listed(edge, "devices/-", f'device = "{device}"') == []


def test_a_telemetry_gate_judges_the_uploaded_inference_events(edge, agent, fleet_server):
    # EDG-115: too many failed inferences of the rollout fail its gate.
    deployment = create_deployment(edge, "gated", group="gated").name
    device = create_device(edge, "gated-0", group="gated").name
    strategy = R.RolloutStrategy(failure_action=R.FAILURE_ACTION_DO_NOTHING)
    strategy.default_gate.telemetry.max_error_percent = 10
    strategy.default_gate.telemetry.min_inference_count = 2
    rollout = edge.CreateRollout(
        pb.CreateRolloutRequest(
            parent=deployment,
            rollout=R.Rollout(release=uploaded_release(edge), strategy=strategy),
        )
    ).rollout
    metadata = device_metadata(fleet_server.fleet, device)

    def assigned():
        state = edge.GetDevice(pb.GetDeviceRequest(name=device)).device.desired_state
        return next((d for d in state.deployments if d.deployment == deployment), None)

    release = eventually(assigned).release
    generation = edge.GetDevice(pb.GetDeviceRequest(name=device)).device.desired_state.generation
    running = U.ReportedDeployment(deployment=deployment, health=U.HEALTH_STATE_HEALTHY)
    running.running.model_version = release.model_version
    running.running.artifact_digest.CopyFrom(release.artifact.digest)
    running.running.rollout = rollout.name
    sync_once(
        agent,
        metadata,
        generation,
        U.ReportedState(applied_generation=generation, deployments=[running]),
    )
    upload(
        agent,
        metadata,
        "inference",
        inference(1, deployment, rollout.name),
        inference(2, deployment, rollout.name, failed=True),
    )

    def finished():
        found = edge.GetRollout(pb.GetRolloutRequest(name=rollout.name)).rollout
        return found if found.status.state == R.ROLLOUT_STATE_FAILED else None

    done = eventually(finished)
    assert done.status.error.reason == "ROLLOUT_HEALTH_GATE_FAILED"
    assert done.stages[0].telemetry.inference_count == 2
    assert done.stages[0].telemetry.error_count == 1
    assert done.stages[0].telemetry.latency_p95.ToNanoseconds() == 20_000_000
