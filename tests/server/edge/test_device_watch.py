"""WatchDevices over a real fleet server (EDG-117): the matching devices as ADDED, one
initial_state_complete marker, then ADDED / MODIFIED / DELETED as devices start to match,
change or stop matching, each carrying the device after the change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from support.edge_devices import (
    DeviceKey,
    ResponseStream,
    SyncStream,
    create_device,
    hello,
    new_id,
    refused,
)
from support.status_details import error_info

from lepton.edge.v1 import deployment_pb2, device_pb2, device_state_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb

D = device_pb2
ADDED = pb.DEVICE_CHANGE_TYPE_ADDED
MODIFIED = pb.DEVICE_CHANGE_TYPE_MODIFIED
DELETED = pb.DEVICE_CHANGE_TYPE_DELETED


@contextmanager
def _watching(edge, filter_text: str) -> Iterator[ResponseStream]:
    stream = ResponseStream(edge.WatchDevices(pb.WatchDevicesRequest(filter=filter_text)))
    try:
        yield stream
    finally:
        stream.close()


def _initial(stream: ResponseStream) -> list[str]:
    """The names of the initial ADDED messages, up to and including the marker."""
    names = []
    while not (response := stream.receive()).initial_state_complete:
        assert response.change_type == ADDED
        names.append(response.device.name)
    assert response.change_type == pb.DEVICE_CHANGE_TYPE_UNSPECIFIED
    assert not response.HasField("device")
    return names


def _next(stream: ResponseStream, timeout: float = 5.0) -> tuple[int, device_pb2.Device]:
    response = stream.receive(timeout)
    assert not response.initial_state_complete
    return response.change_type, response.device


@pytest.fixture
def site() -> str:
    return new_id("site")


def _at(edge, site: str, **fields: object) -> device_pb2.Device:
    return create_device(edge, device=D.Device(labels={"site": site}), **fields).device


def test_the_matching_devices_come_first_then_one_marker(edge, site):
    names = sorted(_at(edge, site).name for _ in range(3))
    _at(edge, new_id("elsewhere"))
    with _watching(edge, f'labels.site = "{site}"') as stream:
        assert _initial(stream) == names
        assert stream.nothing_within(0.3)


def test_an_invalid_filter_is_refused_before_any_message(edge):
    with _watching(edge, "approval_state = MAYBE") as stream:
        error = stream.error(skip_responses=False)
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FILTER",
    )


def test_devices_are_added_modified_and_deleted_as_they_change(edge, site):
    with _watching(edge, f'labels.site = "{site}"') as stream:
        assert _initial(stream) == []
        created = _at(edge, site, require_approval=True)
        assert _next(stream) == (ADDED, created)
        renamed = edge.UpdateDevice(
            pb.UpdateDeviceRequest(device=D.Device(name=created.name, display_name="cam"))
        ).device
        assert _next(stream) == (MODIFIED, renamed)
        rejected = edge.RejectDevice(pb.RejectDeviceRequest(name=created.name)).device
        assert _next(stream) == (MODIFIED, rejected)
        edge.DeleteDevice(pb.DeleteDeviceRequest(name=created.name))
        assert _next(stream) == (DELETED, rejected)
        assert stream.nothing_within(0.3)


def test_a_device_that_stops_or_starts_matching_is_deleted_or_added(edge, site):
    device = _at(edge, site)
    with _watching(edge, f'labels.site = "{site}"') as stream:
        assert _initial(stream) == [device.name]
        moved = edge.UpdateDevice(
            pb.UpdateDeviceRequest(device=D.Device(name=device.name, labels={"site": "x"}))
        ).device
        change, sent = _next(stream)
        assert (change, sent) == (DELETED, moved)
        back = edge.UpdateDevice(
            pb.UpdateDeviceRequest(device=D.Device(name=device.name, labels={"site": site}))
        ).device
        assert _next(stream) == (ADDED, back)


def test_a_watch_on_approval_state_follows_approval(edge, site):
    device = _at(edge, site, require_approval=True)
    with _watching(edge, f'labels.site = "{site}" AND approval_state = APPROVED') as stream:
        assert _initial(stream) == []
        approved = edge.ApproveDevice(pb.ApproveDeviceRequest(name=device.name)).device
        change, sent = _next(stream)
        assert change == ADDED and sent.approval_state == approved.approval_state


def test_a_watch_on_deployment_follows_the_target(edge, site):
    device = _at(edge, site)
    deployment = edge.CreateDeployment(
        pb.CreateDeploymentRequest(
            deployment_id=new_id("dep"),
            deployment=deployment_pb2.Deployment(
                target=deployment_pb2.DeviceTarget(match_labels={"site": "nowhere"})
            ),
        )
    ).deployment
    with _watching(edge, f'deployment = "{deployment.name}"') as stream:
        assert _initial(stream) == []
        change = deployment_pb2.Deployment(
            name=deployment.name, target=deployment_pb2.DeviceTarget(devices=[device.name])
        )
        edge.UpdateDeployment(pb.UpdateDeploymentRequest(deployment=change))
        assert _next(stream)[0:1] == (ADDED,)
        assert stream.nothing_within(1.5)


def _registered(edge, agent, site: str, interval: int):
    created = create_device(
        edge, device=D.Device(labels={"site": site}, report_interval=Duration(seconds=interval))
    )
    key = DeviceKey()
    device_id = created.device.name.removeprefix("devices/")
    return created.device.name, key.register(agent, device_id, created.bootstrap_token)


def test_connection_state_changes_are_modifications(edge, agent, site):
    with _watching(edge, f'labels.site = "{site}"') as stream:
        assert _initial(stream) == []
        name, _ = _registered(edge, agent, site, interval=1)
        assert _next(stream)[0] == ADDED
        change, device = _next(stream)
        assert (change, device.connection_state) == (MODIFIED, D.DEVICE_CONNECTION_STATE_ONLINE)
        # Three silent report intervals later the device reads OFFLINE, with no event.
        change, device = _next(stream, timeout=6)
        assert (change, device.connection_state) == (
            MODIFIED,
            D.DEVICE_CONNECTION_STATE_OFFLINE,
        )
        assert device.name == name


def test_a_watch_on_connection_state_drops_a_device_that_goes_offline(edge, agent, site):
    with _watching(edge, f'labels.site = "{site}" AND connection_state = ONLINE') as stream:
        assert _initial(stream) == []
        name, _ = _registered(edge, agent, site, interval=1)
        change, device = _next(stream)
        assert (change, device.name) == (ADDED, name)
        change, device = _next(stream, timeout=6)
        assert (change, device.connection_state) == (
            DELETED,
            D.DEVICE_CONNECTION_STATE_OFFLINE,
        )


def test_heartbeats_that_change_only_their_time_are_sent_once_per_interval(edge, agent, site):
    name, answer = _registered(edge, agent, site, interval=30)
    metadata = (("authorization", f"Bearer {answer.access_token}"),)
    with (
        _watching(edge, f'labels.site = "{site}"') as stream,
        SyncStream(agent, metadata, hello(health=device_state_pb2.HEALTH_STATE_HEALTHY)) as sync,
    ):
        assert _initial(stream) == [name]
        sync.open()
        reported = _next(stream)[1].reported_state
        assert reported.health == device_state_pb2.HEALTH_STATE_HEALTHY

        def beat(seconds: int, health=device_state_pb2.HEALTH_STATE_HEALTHY) -> None:
            heartbeat = device_state_pb2.Heartbeat(time=Timestamp(seconds=seconds), health=health)
            sync.send(agent_pb.SyncRequest(heartbeat=heartbeat))

        beat(1)
        assert _next(stream)[1].last_heartbeat.time.seconds == 1
        beat(2)
        beat(3)
        assert stream.nothing_within(0.5)
        beat(4, device_state_pb2.HEALTH_STATE_UNHEALTHY)
        change, device = _next(stream)
        assert change == MODIFIED
        assert device.last_heartbeat.health == device_state_pb2.HEALTH_STATE_UNHEALTHY


def test_a_filter_watch_refuses_what_list_devices_refuses(edge):
    refused(
        lambda: next(edge.WatchDevices(pb.WatchDevicesRequest(filter='name = "x"'))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FILTER",
        "filter",
    )
