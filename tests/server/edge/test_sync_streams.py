"""The Sync stream over a real fleet server (spec/edge.md 2.3, EDG-029 to EDG-037, EDG-013,
EDG-016, EDG-063): hello and welcome, the desired state at once and at every new generation,
settings, what the agent sends stored on the device, one current stream per device, and the
end of the stream on decommissioning."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from support.edge_devices import (
    EnrolledDevice,
    SyncStream,
    a_release,
    enroll,
    hello,
    new_id,
)
from support.polling import eventually
from support.status_details import bad_request, error_info

from lepton.edge.v1 import command_pb2 as C
from lepton.edge.v1 import deployment_pb2, device_pb2, device_state_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb

D = device_pb2
S = device_state_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _device(edge, name: str) -> device_pb2.Device:
    return edge.GetDevice(pb.GetDeviceRequest(name=name)).device


@contextmanager
def _sync(agent, device: EnrolledDevice, first=None) -> Iterator[SyncStream]:
    stream = SyncStream(agent, device.metadata, hello() if first is None else first)
    try:
        yield stream
    finally:
        stream.close()


def _ended(stream: SyncStream) -> tuple[grpc.StatusCode, str, list[str]]:
    error = stream.error()
    violations = bad_request(error)
    fields = [] if violations is None else [v.field for v in violations.field_violations]
    return error.code(), error_info(error).reason, fields


@pytest.fixture
def device(edge, agent) -> EnrolledDevice:
    return enroll(edge, agent, labels={"site": new_id("site")})


def _deploy(edge, assignments, device: EnrolledDevice, version: str = "1") -> str:
    """A deployment targeting `device` whose current release is `version`."""
    deployment = edge.CreateDeployment(
        pb.CreateDeploymentRequest(
            deployment_id=new_id("dep"),
            deployment=deployment_pb2.Deployment(
                target=deployment_pb2.DeviceTarget(devices=[device.name])
            ),
        )
    ).deployment
    assignments.set_current_release(deployment.name, a_release(f"models/m/versions/{version}"))
    return deployment.name


@pytest.fixture
def assignments(fleet_server):
    return fleet_server.fleet.assignments


# --- opening ---------------------------------------------------------------------------------


def test_hello_is_answered_with_welcome_then_the_current_desired_state(edge, agent, device):
    current = _device(edge, device.name).desired_state
    with _sync(agent, device, hello(acknowledged_generation=current.generation)) as stream:
        welcome, desired = stream.open()
    assert welcome.welcome.device == device.name
    assert welcome.welcome.settings.report_interval.seconds == 30
    assert welcome.welcome.settings.max_telemetry_batch_record_count >= 1000
    assert welcome.welcome.HasField("server_time")
    assert desired.desired_state.generation == current.generation


def test_hello_replaces_reported_state_boot_id_and_acknowledged_generation(edge, agent, device):
    generation = _device(edge, device.name).desired_state.generation
    etag = _device(edge, device.name).etag
    first = hello(generation, boot_id="boot-9", health=S.HEALTH_STATE_DEGRADED)
    with _sync(agent, device, first) as stream:
        stream.open()
        stored = _device(edge, device.name)
    assert stored.reported_state.health == S.HEALTH_STATE_DEGRADED
    assert stored.reported_state.HasField("receive_time")
    assert (stored.boot_id, stored.acknowledged_generation) == ("boot-9", generation)
    assert stored.connection_state == D.DEVICE_CONNECTION_STATE_ONLINE
    assert stored.etag == etag


@pytest.mark.parametrize(
    ("first", "reason", "field"),
    [
        (agent_pb.SyncRequest(heartbeat=S.Heartbeat()), "SYNC_PROTOCOL_VIOLATION", None),
        (agent_pb.SyncRequest(), "SYNC_PROTOCOL_VIOLATION", None),
        (
            agent_pb.SyncRequest(hello=agent_pb.SyncHello(reported_state=S.ReportedState())),
            "INVALID_FIELD",
            "hello.boot_id",
        ),
        (
            agent_pb.SyncRequest(hello=agent_pb.SyncHello(boot_id="b")),
            "INVALID_FIELD",
            "hello.reported_state",
        ),
        (hello(acknowledged_generation=10**6), "INVALID_FIELD", "hello.acknowledged_generation"),
    ],
)
def test_a_bad_first_message_ends_the_stream(agent, device, first, reason, field):
    with _sync(agent, device, first) as stream:
        code, got, fields = _ended(stream)
    assert (code, got) == (INVALID, reason)
    if field is not None:
        assert fields == [field]


@pytest.mark.parametrize(
    "later", [agent_pb.SyncRequest(), hello()], ids=["empty message", "second hello"]
)
def test_an_empty_message_or_a_second_hello_is_a_protocol_violation(agent, device, later):
    with _sync(agent, device) as stream:
        stream.open()
        stream.send(later)
        assert _ended(stream)[:2] == (INVALID, "SYNC_PROTOCOL_VIOLATION")


# --- down: desired state and settings -------------------------------------------------------


def test_a_new_generation_is_sent_at_once_with_the_complete_state(edge, agent, device, assignments):
    first = _deploy(edge, assignments, device, "1")
    with _sync(agent, device) as stream:
        _, desired = stream.open()
        assert [d.deployment for d in desired.desired_state.deployments] == [first]
        second = _deploy(edge, assignments, device, "2")
        sent = stream.receive().desired_state
    assert sent.generation > desired.desired_state.generation
    assert sent == _device(edge, device.name).desired_state
    assert {d.deployment for d in sent.deployments} == {first, second}


def test_a_change_that_keeps_the_generation_sends_nothing(edge, agent, device):
    with _sync(agent, device) as stream:
        stream.open()
        change = D.Device(name=device.name, display_name="renamed")
        edge.UpdateDevice(pb.UpdateDeviceRequest(device=change))
        assert stream.nothing_within(0.5)


def test_a_new_report_interval_is_sent_as_settings(edge, agent, device):
    with _sync(agent, device) as stream:
        stream.open()
        change = D.Device(name=device.name, report_interval=Duration(seconds=12))
        edge.UpdateDevice(pb.UpdateDeviceRequest(device=change))
        settings = stream.receive().settings
    assert settings.report_interval.seconds == 12


# --- up: what the agent sends -----------------------------------------------------------------


def test_acknowledgements_raise_acknowledged_generation_only(edge, agent, device, assignments):
    _deploy(edge, assignments, device)
    generation = _device(edge, device.name).desired_state.generation
    with _sync(agent, device) as stream:
        stream.open()
        stream.send(agent_pb.SyncRequest(desired_state_ack=agent_pb.DesiredStateAck(generation=1)))
        stream.send(
            agent_pb.SyncRequest(desired_state_ack=agent_pb.DesiredStateAck(generation=generation))
        )
        eventually(lambda: _device(edge, device.name).acknowledged_generation == generation)
        stream.send(agent_pb.SyncRequest(desired_state_ack=agent_pb.DesiredStateAck(generation=1)))
        stream.send(agent_pb.SyncRequest(heartbeat=S.Heartbeat()))
        eventually(lambda: _device(edge, device.name).HasField("last_heartbeat"))
        assert _device(edge, device.name).acknowledged_generation == generation
        stream.send(
            agent_pb.SyncRequest(
                desired_state_ack=agent_pb.DesiredStateAck(generation=generation + 1)
            )
        )
        assert _ended(stream) == (INVALID, "INVALID_FIELD", ["desired_state_ack.generation"])


def test_reported_state_and_heartbeat_are_stored_without_a_new_etag(edge, agent, device):
    etag = _device(edge, device.name).etag
    with _sync(agent, device) as stream:
        stream.open()
        stream.send(
            agent_pb.SyncRequest(
                reported_state=S.ReportedState(applied_generation=1, health=S.HEALTH_STATE_HEALTHY)
            )
        )
        stream.send(
            agent_pb.SyncRequest(
                heartbeat=S.Heartbeat(health=S.HEALTH_STATE_UNHEALTHY, health_message="hot")
            )
        )
        stored = eventually(
            lambda: (d := _device(edge, device.name)).last_heartbeat.health_message and d
        )
    assert stored.reported_state.health == S.HEALTH_STATE_HEALTHY
    assert stored.reported_state.applied_generation == 1
    assert stored.last_heartbeat.health == S.HEALTH_STATE_UNHEALTHY
    assert stored.etag == etag


def test_a_reported_applied_generation_above_the_desired_one_ends_the_stream(agent, device):
    with _sync(agent, device) as stream:
        stream.open()
        stream.send(agent_pb.SyncRequest(reported_state=S.ReportedState(applied_generation=10**6)))
        assert _ended(stream) == (INVALID, "INVALID_FIELD", ["reported_state.applied_generation"])


def test_a_command_update_for_an_unknown_command_is_ignored(edge, agent, device):
    with _sync(agent, device) as stream:
        stream.open()
        update = agent_pb.CommandUpdate(
            name=f"{device.name}/commands/nope", state=C.DEVICE_COMMAND_STATE_SUCCEEDED
        )
        stream.send(agent_pb.SyncRequest(command_update=update))
        change = D.Device(name=device.name, report_interval=Duration(seconds=9))
        edge.UpdateDevice(pb.UpdateDeviceRequest(device=change))
        assert stream.receive().settings.report_interval.seconds == 9


def test_device_counts_follow_what_devices_report(edge, agent, device, assignments):
    deployment = _deploy(edge, assignments, device)
    release = _device(edge, device.name).desired_state.deployments[0].release
    attempt = S.UpdateAttempt(
        model_version=release.model_version,
        artifact_digest=release.artifact.digest,
        phase=S.UPDATE_PHASE_DOWNLOADING,
    )
    running = S.InstalledRelease(
        model_version=release.model_version, artifact_digest=release.artifact.digest
    )

    def counts() -> deployment_pb2.DeploymentDeviceCounts:
        return edge.GetDeployment(pb.GetDeploymentRequest(name=deployment)).deployment.device_counts

    assert counts().unreported_count == 1
    with _sync(agent, device) as stream:
        stream.open()
        failed = S.UpdateAttempt()
        failed.CopyFrom(attempt)
        failed.phase = S.UPDATE_PHASE_ROLLED_BACK
        for reported, field in (
            (S.ReportedDeployment(deployment=deployment, last_update=attempt), "updating_count"),
            (S.ReportedDeployment(deployment=deployment, last_update=failed), "failed_count"),
            (S.ReportedDeployment(deployment=deployment, running=running), "in_sync_count"),
        ):
            stream.send(
                agent_pb.SyncRequest(reported_state=S.ReportedState(deployments=[reported]))
            )
            eventually(lambda field=field: getattr(counts(), field) == 1)
        assert counts().targeted_count == 1


# --- the end of a stream ---------------------------------------------------------------------


def test_a_newer_stream_supersedes_the_older(edge, agent, device):
    with _sync(agent, device) as older:
        older.open()
        with _sync(agent, device) as newer:
            newer.open()
            error = older.error()
            assert (error.code(), error_info(error).reason) == (
                grpc.StatusCode.ABORTED,
                "SYNC_STREAM_SUPERSEDED",
            )
            assert error_info(error).metadata["device"] == device.name
            change = D.Device(name=device.name, report_interval=Duration(seconds=8))
            edge.UpdateDevice(pb.UpdateDeviceRequest(device=change))
            assert newer.receive().settings.report_interval.seconds == 8


def test_decommissioning_ends_the_stream_without_sending_anything_more(
    edge, agent, device, assignments
):
    _deploy(edge, assignments, device)
    with _sync(agent, device) as stream:
        stream.open()
        edge.DecommissionDevice(pb.DecommissionDeviceRequest(name=device.name))
        error = stream.error(skip_responses=False)
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "DEVICE_DECOMMISSIONED",
    )
    assert error_info(error).metadata["device"] == device.name


def test_list_devices_filters_on_the_last_heartbeat_health(edge, agent, device):
    site = _device(edge, device.name).labels["site"]
    query = f'labels.site = "{site}" AND last_heartbeat.health = UNHEALTHY'
    with _sync(agent, device) as stream:
        stream.open()
        stream.send(agent_pb.SyncRequest(heartbeat=S.Heartbeat(health=S.HEALTH_STATE_UNHEALTHY)))
        listed = eventually(lambda: edge.ListDevices(pb.ListDevicesRequest(filter=query)).devices)
    assert [d.name for d in listed] == [device.name]
