"""edge-fleet cases of device commands (feature edge.commands; spec/edge.md 2.3, EDG-039 to
EDG-043), with a device the suite plays: creation and its checks, delivery on each new Sync
stream until the device takes a command on, the agent's updates, expiry and cancel."""

from __future__ import annotations

import time
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration

from lepton.edge.v1 import command_pb2 as C
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.type.v1 import error_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import (
    PROMPT_S,
    SERVICE,
    AgentClient,
    Enrolled,
    FleetClient,
    enrol,
)
from lepton_conformance.suites.edge.profiles import FLEET
from lepton_conformance.suites.edge.sync_driver import SyncStream, hello

CASES = CaseList()
COMMANDS = "edge.commands"
INVALID = grpc.StatusCode.INVALID_ARGUMENT
# How long a stream must stay quiet to show that nothing more is delivered on it.
QUIET_S = 1.0


def _request(device: str, **fields: Any) -> pb.CreateDeviceCommandRequest:
    command = C.DeviceCommand(**{"type": "com.example.conformance", **fields})
    return pb.CreateDeviceCommandRequest(parent=device, command=command)


def _create(fleet: FleetClient, device: str, **fields: Any) -> C.DeviceCommand:
    return fleet.ok("CreateDeviceCommand", _request(device, **fields)).command


def _get(fleet: FleetClient, name: str) -> C.DeviceCommand:
    return fleet.ok("GetDeviceCommand", pb.GetDeviceCommandRequest(name=name)).command


def _open(agent: AgentClient, device: Enrolled) -> SyncStream:
    stream = SyncStream(agent, device.token, hello())
    stream.opened()
    return stream


def _quiet(stream: SyncStream, what: str) -> None:
    """No command arrives on `stream` for QUIET_S."""
    try:
        got = stream.next_of("command", QUIET_S)
    except Failed:
        return
    raise Failed(f"no command delivered {what}", f"{got.name} was delivered")


def _update(stream: SyncStream, command: Any, state: int, **fields: Any) -> None:
    update = agent_pb.CommandUpdate(
        name=command.name, idempotency_key=command.idempotency_key, state=state, **fields
    )
    stream.send(command_update=update)


def _reaches(fleet: FleetClient, name: str, state: int) -> C.DeviceCommand:
    deadline = time.monotonic() + PROMPT_S
    while True:
        command = _get(fleet, name)
        if command.state == state or time.monotonic() > deadline:
            expect.equal(
                C.DeviceCommandState.Name(command.state),
                C.DeviceCommandState.Name(state),
                f"the state of {name}",
            )
            return command
        time.sleep(0.05)


def _lifetime(command: C.DeviceCommand) -> float:
    return (command.expire_time.ToNanoseconds() - command.create_time.ToNanoseconds()) / 1e9


@CASES.case(FLEET, "commands.create-checks-the-command-and-fills-its-defaults", "EDG-039")
def create(ctx: CaseContext) -> None:
    """CreateDeviceCommand refuses with INVALID_FIELD a type outside [a-z0-9.-]{1,128}, more
    than 64 parameters, an idempotency key over 128 characters and a ttl outside 1 s … 30
    days; a valid command is PENDING or DELIVERED, expires ttl after create_time (1 hour
    without a ttl) and has its own name as idempotency key unless it was given one."""
    ctx.require_feature(SERVICE, COMMANDS)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, AgentClient(ctx))
        for fields, path in (
            ({"type": "Com.Example"}, "command.type"),
            ({"type": "x" * 129}, "command.type"),
            ({"parameters": {f"k{i}": "v" for i in range(65)}}, "command.parameters"),
            ({"idempotency_key": "k" * 129}, "command.idempotency_key"),
            ({"ttl": Duration(nanos=500_000_000)}, "command.ttl"),
            ({"ttl": Duration(seconds=31 * 86400)}, "command.ttl"),
        ):
            expect.rejects(
                lambda fields=fields: fleet.call(
                    "CreateDeviceCommand", _request(device.name, **fields)
                ),
                INVALID,
                "INVALID_FIELD",
                field=path,
            )
        created = _create(fleet, device.name, ttl=Duration(seconds=90))
        expect.holds(
            created.state in (C.DEVICE_COMMAND_STATE_PENDING, C.DEVICE_COMMAND_STATE_DELIVERED),
            "a new command PENDING or DELIVERED",
            C.DeviceCommandState.Name(created.state),
        )
        expect.equal(_lifetime(created), 90.0, "expire_time - create_time with ttl 90 s")
        expect.equal(created.idempotency_key, created.name, "the default idempotency key")
        keyed = _create(fleet, device.name, idempotency_key="conformance-key")
        expect.equal(_lifetime(keyed), 3600.0, "expire_time - create_time without a ttl")
        expect.equal(keyed.idempotency_key, "conformance-key", "the idempotency key given")


@CASES.case(FLEET, "commands.delivered-on-each-stream-until-taken-on", "EDG-040", "EDG-041")
def delivery(ctx: CaseContext) -> None:
    """A command created before the device connects is delivered on its Sync stream after
    the desired state, with name, type, parameters, idempotency key, expire_time and a
    remaining_ttl within the lifetime, and becomes DELIVERED with deliver_time; one created
    while the stream is open arrives promptly; after the device ACCEPTED the second, a new
    stream delivers the first again and not the second."""
    ctx.require_feature(SERVICE, COMMANDS)
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        first = _create(fleet, device.name, parameters={"level": "2"})
        stream = _open(agent, device)
        try:
            delivered = stream.expect("command")
            expect.equal(
                (delivered.name, delivered.type, dict(delivered.parameters)),
                (first.name, first.type, {"level": "2"}),
                "the delivered (name, type, parameters)",
            )
            expect.equal(delivered.idempotency_key, first.idempotency_key, "idempotency_key")
            expect.equal(delivered.expire_time, first.expire_time, "expire_time")
            remaining = delivered.remaining_ttl.ToNanoseconds() / 1e9
            expect.holds(
                0 < remaining <= _lifetime(first), "0 < remaining_ttl <= the ttl", f"{remaining}"
            )
            taken = _reaches(fleet, first.name, C.DEVICE_COMMAND_STATE_DELIVERED)
            expect.holds(taken.HasField("deliver_time"), "deliver_time set", "unset")
            second = _create(fleet, device.name)
            expect.equal(stream.next_of("command").name, second.name, "the command sent next")
            _update(stream, second, C.DEVICE_COMMAND_STATE_ACCEPTED)
            _reaches(fleet, second.name, C.DEVICE_COMMAND_STATE_ACCEPTED)
        finally:
            stream.close()
        again = _open(agent, device)
        try:
            expect.equal(again.next_of("command").name, first.name, "redelivered on a new stream")
            _quiet(again, "besides the DELIVERED one (the ACCEPTED one is taken on)")
        finally:
            again.close()


@CASES.case(FLEET, "commands.updates-move-the-command-until-it-ends", "EDG-041")
def updates(ctx: CaseContext) -> None:
    """FAILED with an error and a result is stored with end_time; a later update of that
    terminal command, and one for another device's command, are ignored and the stream stays
    open; an update with state CANCELLED ends the stream with INVALID_FIELD."""
    ctx.require_feature(SERVICE, COMMANDS)
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device, other = enrol(fleet, agent), enrol(fleet, agent)
        command = _create(fleet, device.name)
        foreign = _create(fleet, other.name)
        stream = _open(agent, device)
        try:
            stream.next_of("command")
            error = error_pb2.ErrorStatus(code=9, reason="CONFORMANCE_BUSY", message="busy")
            _update(stream, command, C.DEVICE_COMMAND_STATE_FAILED, error=error, result={"n": "1"})
            failed = _reaches(fleet, command.name, C.DEVICE_COMMAND_STATE_FAILED)
            expect.equal(
                (failed.error.reason, dict(failed.result)),
                ("CONFORMANCE_BUSY", {"n": "1"}),
                "the stored (error reason, result)",
            )
            expect.holds(failed.HasField("end_time"), "end_time set", "unset")
            _update(stream, command, C.DEVICE_COMMAND_STATE_SUCCEEDED)
            _update(stream, foreign, C.DEVICE_COMMAND_STATE_SUCCEEDED)
            later = _create(fleet, device.name)
            expect.equal(stream.next_of("command").name, later.name, "a command after those")
            expect.equal(
                C.DeviceCommandState.Name(_get(fleet, command.name).state),
                "DEVICE_COMMAND_STATE_FAILED",
                "the terminal command after a later update",
            )
            expect.holds(
                _get(fleet, foreign.name).state != C.DEVICE_COMMAND_STATE_SUCCEEDED,
                "another device's command untouched",
                C.DeviceCommandState.Name(_get(fleet, foreign.name).state),
            )
            _update(stream, later, C.DEVICE_COMMAND_STATE_CANCELLED)
            stream.ends_with(INVALID, "INVALID_FIELD")
        finally:
            stream.close()


@CASES.case(FLEET, "commands.expire-and-are-never-delivered", "EDG-042")
def expiry(ctx: CaseContext) -> None:
    """A PENDING command with a 1-second ttl is EXPIRED once its expire_time has passed and
    is not delivered on a stream opened afterwards."""
    ctx.require_feature(SERVICE, COMMANDS)
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        command = _create(fleet, device.name, ttl=Duration(seconds=1))
        time.sleep(1.5)
        _reaches(fleet, command.name, C.DEVICE_COMMAND_STATE_EXPIRED)
        stream = _open(agent, device)
        try:
            _quiet(stream, "once it expired")
        finally:
            stream.close()


@CASES.case(FLEET, "commands.cancel-a-pending-command-only", "EDG-043")
def cancel(ctx: CaseContext) -> None:
    """CancelDeviceCommand makes a PENDING command CANCELLED, which is never delivered, and
    returns it unchanged when called again; a DELIVERED command is COMMAND_NOT_CANCELLABLE."""
    ctx.require_feature(SERVICE, COMMANDS)
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        pending = _create(fleet, device.name)
        request = pb.CancelDeviceCommandRequest(name=pending.name)
        cancelled = fleet.ok("CancelDeviceCommand", request).command
        expect.equal(
            C.DeviceCommandState.Name(cancelled.state), "DEVICE_COMMAND_STATE_CANCELLED", "state"
        )
        expect.equal(fleet.ok("CancelDeviceCommand", request).command, cancelled, "again")
        stream = _open(agent, device)
        try:
            _quiet(stream, "after its cancel")
            delivered = _create(fleet, device.name)
            stream.next_of("command")
            _reaches(fleet, delivered.name, C.DEVICE_COMMAND_STATE_DELIVERED)
            expect.rejects(
                lambda: fleet.call(
                    "CancelDeviceCommand", pb.CancelDeviceCommandRequest(name=delivered.name)
                ),
                grpc.StatusCode.FAILED_PRECONDITION,
                "COMMAND_NOT_CANCELLABLE",
            )
        finally:
            stream.close()
