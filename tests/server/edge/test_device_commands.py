"""Device commands (feature edge.commands, EDG-039 to EDG-043) through a real fleet server on
loopback: creation and its checks, delivery on the Sync stream (at once and on every new
stream), the agent's updates, expiry, cancel, and the list with filter, order and pages."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from support.edge_devices import EnrolledDevice, SyncStream, create_device, enroll, hello, new_id
from support.status_details import bad_request, error_info

from lepton.edge.v1 import command_pb2 as C
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.type.v1 import error_pb2

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def device(edge, agent) -> EnrolledDevice:
    return enroll(edge, agent)


def _create(edge, device: str, **fields) -> C.DeviceCommand:
    command_id = fields.pop("command_id", "")
    request_id = fields.pop("request_id", "")
    command = C.DeviceCommand(type=fields.pop("type", "lepton.resync"), **fields)
    request = pb.CreateDeviceCommandRequest(
        parent=device, command=command, command_id=command_id, request_id=request_id
    )
    return edge.CreateDeviceCommand(request).command


def _get(edge, name: str) -> C.DeviceCommand:
    return edge.GetDeviceCommand(pb.GetDeviceCommandRequest(name=name)).command


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def _stream(agent, device: EnrolledDevice) -> SyncStream:
    stream = SyncStream(agent, device.metadata, hello())
    stream.open()
    return stream


def _update(stream: SyncStream, command: C.DeviceCommand, state: int, **fields) -> None:
    update = agent_pb.CommandUpdate(
        name=command.name, idempotency_key=command.idempotency_key, state=state, **fields
    )
    stream.send(agent_pb.SyncRequest(command_update=update))


def _state(edge, name: str, wanted: int) -> C.DeviceCommand:
    deadline = time.monotonic() + 10
    while True:
        command = _get(edge, name)
        if command.state == wanted or time.monotonic() > deadline:
            return command
        time.sleep(0.05)


def test_a_command_is_created_pending_with_its_expiry_and_key(edge, device):
    created = _create(edge, device.name, parameters={"why": "test"}, ttl=Duration(seconds=120))
    assert created.name.startswith(f"{device.name}/commands/")
    assert created.state == C.DEVICE_COMMAND_STATE_PENDING
    assert created.idempotency_key == created.name
    lifetime = created.expire_time.ToNanoseconds() - created.create_time.ToNanoseconds()
    assert lifetime == 120 * 10**9
    assert _get(edge, created.name) == created
    default = _create(edge, device.name, command_id="c1", idempotency_key="k-1")
    assert default.name == f"{device.name}/commands/c1"
    assert default.idempotency_key == "k-1"
    hour = default.expire_time.ToNanoseconds() - default.create_time.ToNanoseconds()
    assert hour == 3600 * 10**9


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": ""}, "command.type"),
        ({"type": "Lepton.Reboot"}, "command.type"),
        ({"type": "x" * 129}, "command.type"),
        ({"parameters": {f"k{i}": "v" for i in range(65)}}, "command.parameters"),
        ({"parameters": {"k": "v" * 70_000}}, "command.parameters"),
        ({"idempotency_key": "k" * 129}, "command.idempotency_key"),
        ({"ttl": Duration(nanos=500_000_000)}, "command.ttl"),
        ({"ttl": Duration(seconds=31 * 86400)}, "command.ttl"),
    ],
)
def test_creation_checks_every_field(edge, device, fields, field):
    error = _error(lambda: _create(edge, device.name, **fields))
    assert (error.code(), error_info(error).reason) == (INVALID, "INVALID_FIELD")
    assert [v.field for v in bad_request(error).field_violations] == [field]


def test_creation_needs_an_approved_device_and_a_free_id(edge, device):
    pending = create_device(edge, new_id("pending"), require_approval=True).device
    error = _error(lambda: _create(edge, pending.name))
    assert error_info(error).reason == "DEVICE_STATE_CONFLICT"
    error = _error(lambda: _create(edge, "devices/absent"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    _create(edge, device.name, command_id="same")
    error = _error(lambda: _create(edge, device.name, command_id="same"))
    assert error_info(error).reason == "RESOURCE_ALREADY_EXISTS"
    error = _error(lambda: _create(edge, device.name, command_id="Not_An_Id"))
    assert error_info(error).reason == "INVALID_NAME"
    request_id = str(uuid.uuid4())
    first = _create(edge, device.name, request_id=request_id)
    assert _create(edge, device.name, request_id=request_id).name == first.name


def test_commands_are_delivered_on_each_new_stream_until_taken_on(edge, agent, device):
    early = _create(edge, device.name, type="com.example.first", parameters={"a": "1"})
    stream = _stream(agent, device)
    delivered = stream.receive().command
    assert (delivered.name, delivered.type, dict(delivered.parameters)) == (
        early.name,
        "com.example.first",
        {"a": "1"},
    )
    assert delivered.idempotency_key == early.idempotency_key
    assert delivered.expire_time == early.expire_time
    remaining = delivered.remaining_ttl.ToNanoseconds()
    assert 0 < remaining <= early.expire_time.ToNanoseconds() - early.create_time.ToNanoseconds()
    now_delivered = _get(edge, early.name)
    assert now_delivered.state == C.DEVICE_COMMAND_STATE_DELIVERED
    assert now_delivered.HasField("deliver_time")
    # Created while the stream is open: sent promptly on it.
    late = _create(edge, device.name, type="com.example.second")
    assert stream.receive().command.name == late.name
    _update(stream, late, C.DEVICE_COMMAND_STATE_ACCEPTED)
    assert _state(edge, late.name, C.DEVICE_COMMAND_STATE_ACCEPTED).state == (
        C.DEVICE_COMMAND_STATE_ACCEPTED
    )
    stream.close()
    # A new stream: the DELIVERED command again, not the ACCEPTED one.
    again = _stream(agent, device)
    assert again.receive().command.name == early.name
    assert again.nothing_within(0.5)
    again.close()


def test_updates_move_the_command_and_terminal_ones_stay(edge, agent, device):
    command = _create(edge, device.name)
    stream = _stream(agent, device)
    stream.receive()
    error = error_pb2.ErrorStatus(code=9, reason="BUSY", message="try later")
    _update(stream, command, C.DEVICE_COMMAND_STATE_FAILED, error=error, result={"n": "1"})
    failed = _state(edge, command.name, C.DEVICE_COMMAND_STATE_FAILED)
    assert (failed.error.reason, dict(failed.result)) == ("BUSY", {"n": "1"})
    assert failed.HasField("end_time")
    _update(stream, command, C.DEVICE_COMMAND_STATE_SUCCEEDED)
    # Another device's command is ignored too; the stream stays open.
    other = enroll(edge, agent)
    foreign = _create(edge, other.name)
    _update(stream, foreign, C.DEVICE_COMMAND_STATE_SUCCEEDED)
    later = _create(edge, device.name)
    assert stream.receive().command.name == later.name
    assert _get(edge, command.name).state == C.DEVICE_COMMAND_STATE_FAILED
    assert _get(edge, foreign.name).state == C.DEVICE_COMMAND_STATE_PENDING
    _update(stream, later, C.DEVICE_COMMAND_STATE_CANCELLED)
    error = stream.error()
    assert (error.code(), error_info(error).reason) == (INVALID, "INVALID_FIELD")


def test_a_command_expires_and_is_never_delivered_again(edge, agent, device):
    command = _create(edge, device.name, ttl=Duration(seconds=1))
    time.sleep(1.1)
    expired = _get(edge, command.name)
    assert expired.state == C.DEVICE_COMMAND_STATE_EXPIRED
    assert expired.end_time == expired.expire_time
    stream = _stream(agent, device)
    assert stream.nothing_within(0.5)
    stream.close()


def test_cancel_only_a_pending_command(edge, agent, device):
    pending = _create(edge, device.name)
    cancel = pb.CancelDeviceCommandRequest(name=pending.name)
    cancelled = edge.CancelDeviceCommand(cancel).command
    assert cancelled.state == C.DEVICE_COMMAND_STATE_CANCELLED
    assert edge.CancelDeviceCommand(cancel).command == cancelled
    stream = _stream(agent, device)
    assert stream.nothing_within(0.5)  # a cancelled command is never delivered
    delivered = _create(edge, device.name)
    stream.receive()
    error = _error(
        lambda: edge.CancelDeviceCommand(pb.CancelDeviceCommandRequest(name=delivered.name))
    )
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "COMMAND_NOT_CANCELLABLE",
    )
    stream.close()


def test_list_filters_orders_and_pages(edge, device):
    names = [_create(edge, device.name, type=f"com.example.t{i % 2}").name for i in range(5)]
    edge.CancelDeviceCommand(pb.CancelDeviceCommandRequest(name=names[0]))

    def listed(**fields) -> list[str]:
        found, token = [], ""
        while True:
            page = edge.ListDeviceCommands(
                pb.ListDeviceCommandsRequest(
                    parent=device.name, page_size=2, page_token=token, **fields
                )
            )
            found += [c.name for c in page.commands]
            token = page.next_page_token
            if not token:
                return found

    assert listed() == names
    assert listed(filter='type = "com.example.t1"') == [names[1], names[3]]
    assert listed(filter="state = CANCELLED") == [names[0]]
    assert listed(order_by="create_time desc") == names[::-1]
    error = _error(lambda: listed(filter="colour = red"))
    assert error_info(error).reason == "INVALID_FILTER"
