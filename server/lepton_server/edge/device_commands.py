"""Device commands (spec/edge.md 2.3, feature edge.commands; EDG-039 to EDG-043): created by
operators, delivered on the device's Sync stream (sync_streams.py), answered by the agent
with command updates, expired when their time runs out, cancelled while still PENDING.

Expiry is applied whenever a command is read (Get, List, delivery, an update), with the
expiry time as its end time: a command past its expire_time is EXPIRED from that moment on,
whoever looks, without a sweeper."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from lepton.edge.v1 import command_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_server.aip import request_ids
from lepton_server.aip.filtering.fields import EQUALITY, FieldType, FilterField
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.resource_names import check_id, parse
from lepton_server.aip.standard_fields import not_found, now_ns, timestamp
from lepton_server.edge.device_events import Change, DeviceEvents
from lepton_server.edge.devices import APPROVED
from lepton_server.edge.fleet_database import FleetDatabase
from lepton_server.runtime.errors import AlreadyExists, FailedPrecondition, invalid_field

C = command_pb2
PENDING = C.DEVICE_COMMAND_STATE_PENDING
DELIVERED = C.DEVICE_COMMAND_STATE_DELIVERED
ACCEPTED = C.DEVICE_COMMAND_STATE_ACCEPTED
EXPIRED = C.DEVICE_COMMAND_STATE_EXPIRED
CANCELLED = C.DEVICE_COMMAND_STATE_CANCELLED
# Not yet taken on by the device: delivered (again) on every new Sync stream (EDG-040).
DELIVERABLE = frozenset({PENDING, DELIVERED})
TERMINAL = frozenset(
    {
        C.DEVICE_COMMAND_STATE_SUCCEEDED,
        C.DEVICE_COMMAND_STATE_FAILED,
        C.DEVICE_COMMAND_STATE_REJECTED,
        EXPIRED,
        CANCELLED,
    }
)
# The states an agent may report (EDG-041).
REPORTABLE = frozenset(
    {
        ACCEPTED,
        C.DEVICE_COMMAND_STATE_SUCCEEDED,
        C.DEVICE_COMMAND_STATE_FAILED,
        C.DEVICE_COMMAND_STATE_REJECTED,
        EXPIRED,
    }
)
TYPE = re.compile(r"^[a-z0-9.-]{1,128}$")
MAX_ENTRIES = 64
MAX_MAP_BYTES = 64 * 1024
MAX_IDEMPOTENCY_KEY = 128
DEFAULT_TTL_NS = 3600 * 10**9
MIN_TTL_NS, MAX_TTL_NS = 10**9, 30 * 86400 * 10**9

COMMANDS = Listing(
    (
        FilterField.for_enum("state", C.DeviceCommandState.keys()),
        FilterField("type", FieldType.STRING, EQUALITY),
    ),
    ("create_time", "expire_time", "name"),
    "create_time, name",
    "name",
)


def command_name(name: str, field_path: str = "name") -> tuple[str, str]:
    """(device name, command name) of "devices/{device}/commands/{command}", else
    INVALID_NAME on `field_path`."""
    parse(name, ("devices", "commands"), field_path)
    return name.rsplit("/commands/", 1)[0], name


def check_string_map(values: Any, field_path: str) -> None:
    """At most 64 entries and 64 KiB of keys and values (parameters, results)."""
    if len(values) > MAX_ENTRIES:
        raise invalid_field(field_path, f"at most {MAX_ENTRIES} entries")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in values.items())
    if size > MAX_MAP_BYTES:
        raise invalid_field(field_path, f"at most {MAX_MAP_BYTES} bytes in total")


class DeviceCommands:
    """The commands of every device."""

    def __init__(self, db: FleetDatabase, events: DeviceEvents, page_tokens: PageTokens) -> None:
        self.db = db
        self.events = events
        self.page_tokens = page_tokens

    # --- operators -------------------------------------------------------------------------

    def create(self, request: pb.CreateDeviceCommandRequest) -> C.DeviceCommand:
        """CreateDeviceCommand (EDG-039): a PENDING command, delivered at once to a device
        with an open Sync stream."""
        parse(request.parent, ("devices",), "parent")
        if request.command_id:
            check_id(request.command_id, "command_id", "command id")
        request_ids.check_request_id(request.request_id)
        given = request.command
        _check_command(given)
        with self.db.atomic():
            replay = request_ids.replayed(self.db, "CreateDeviceCommand", request.parent, request)
            if replay is not None:
                return self.get(replay)
            row = self.db.device(request.parent)
            if row is None:
                raise not_found(request.parent)
            if row.device.approval_state != APPROVED:
                raise FailedPrecondition(
                    reason="DEVICE_STATE_CONFLICT",
                    message=f"{request.parent} is not APPROVED: it takes no commands",
                    metadata={"device": request.parent},
                )
            command_id = request.command_id or f"c{uuid.uuid4().hex[:16]}"
            name = f"{request.parent}/commands/{command_id}"
            if self.db.command(name) is not None:
                raise AlreadyExists(
                    reason="RESOURCE_ALREADY_EXISTS",
                    message=f"{name} already exists",
                    metadata={"resource_name": name},
                )
            now = now_ns()
            ttl = given.ttl.ToNanoseconds() or DEFAULT_TTL_NS
            command = C.DeviceCommand(
                name=name,
                type=given.type,
                parameters=given.parameters,
                idempotency_key=given.idempotency_key or name,
                expire_time=timestamp(now + ttl),
                state=PENDING,
                create_time=timestamp(now),
            )
            self.db.put_command(request.parent, command)
            request_ids.remember(self.db, "CreateDeviceCommand", request.parent, request, name)
            self.db.after_commit(lambda: self.events.emit(request.parent, Change.COMMANDS))
        return self.get(name)

    def get(self, name: str) -> C.DeviceCommand:
        _, name = command_name(name)
        return self._current(name)

    def list(self, request: pb.ListDeviceCommandsRequest) -> tuple[list[C.DeviceCommand], str]:
        parse(request.parent, ("devices",), "parent")
        if self.db.device(request.parent) is None:
            raise not_found(request.parent)
        return COMMANDS.page(
            self.page_tokens,
            request,
            lambda: [self._expired(c, now_ns()) for c in self.db.commands(request.parent)],
            _getter,
            f"{request.parent}/commands",
        )

    def cancel(self, name: str) -> C.DeviceCommand:
        """CancelDeviceCommand (EDG-043)."""
        device, name = command_name(name)
        with self.db.atomic():
            command = self._current(name)
            if command.state == PENDING:
                command.state = CANCELLED
                command.end_time.CopyFrom(timestamp(now_ns()))
                self.db.put_command(device, command)
            elif command.state != CANCELLED:
                raise FailedPrecondition(
                    reason="COMMAND_NOT_CANCELLABLE",
                    message=f"{name} is {C.DeviceCommandState.Name(command.state)}: only a "
                    "PENDING command can be cancelled",
                    metadata={"resource_name": name},
                )
        return command

    # --- the device's Sync stream ----------------------------------------------------------

    def deliver(self, device: str, sent: set[str]) -> list[agent_pb.CommandDelivery]:
        """The deliveries of the device's deliverable commands not in `sent` (names), in
        creation order; each becomes DELIVERED with its first deliver_time (EDG-040)."""
        deliveries = []
        with self.db.atomic():
            now = now_ns()
            for command in self.db.commands(device):
                command = self._expired(command, now, device)
                if command.state not in DELIVERABLE or command.name in sent:
                    continue
                if command.state == PENDING:
                    command.state = DELIVERED
                    command.deliver_time.CopyFrom(timestamp(now))
                    self.db.put_command(device, command)
                delivery = agent_pb.CommandDelivery(
                    name=command.name,
                    type=command.type,
                    parameters=command.parameters,
                    idempotency_key=command.idempotency_key,
                    expire_time=command.expire_time,
                )
                delivery.remaining_ttl.FromNanoseconds(command.expire_time.ToNanoseconds() - now)
                deliveries.append(delivery)
        return deliveries

    def update(self, device: str, update: agent_pb.CommandUpdate) -> None:
        """A command update of the device's agent (EDG-041): INVALID_FIELD for a state an
        agent cannot report; ignored for an unknown, another device's or a terminal
        command."""
        if update.state not in REPORTABLE:
            raise invalid_field(
                "command_update.state",
                "must be ACCEPTED, SUCCEEDED, FAILED, REJECTED or EXPIRED",
            )
        check_string_map(update.result, "command_update.result")
        with self.db.atomic():
            command = self.db.command(update.name)
            if command is None or not update.name.startswith(f"{device}/commands/"):
                return
            command = self._expired(command, now_ns(), device)
            if command.state in TERMINAL:
                return
            command.state = update.state
            if update.HasField("error"):
                command.error.CopyFrom(update.error)
            command.result.clear()
            command.result.update(update.result)
            if update.state in TERMINAL:
                command.end_time.CopyFrom(timestamp(now_ns()))
            self.db.put_command(device, command)

    # --- expiry ----------------------------------------------------------------------------

    def _current(self, name: str) -> C.DeviceCommand:
        command = self.db.command(name)
        if command is None:
            raise not_found(name)
        return self._expired(command, now_ns(), name.rsplit("/commands/", 1)[0])

    def _expired(
        self, command: C.DeviceCommand, now: int, device: str | None = None
    ) -> C.DeviceCommand:
        """`command`, made EXPIRED (stored, when `device` is given) if it was PENDING or
        DELIVERED at its expire_time (EDG-042)."""
        expires = command.expire_time.ToNanoseconds()
        if command.state in DELIVERABLE and now >= expires:
            command.state = EXPIRED
            command.end_time.CopyFrom(command.expire_time)
            if device is not None:
                self.db.put_command(device, command)
        return command


def _check_command(command: C.DeviceCommand) -> None:
    """EDG-039: the fields CreateDeviceCommand reads."""
    if not TYPE.match(command.type):
        raise invalid_field("command.type", "1-128 characters of a-z, 0-9, '.' and '-'")
    check_string_map(command.parameters, "command.parameters")
    if len(command.idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise invalid_field("command.idempotency_key", f"at most {MAX_IDEMPOTENCY_KEY} characters")
    ttl = command.ttl.ToNanoseconds()
    if command.HasField("ttl") and ttl != 0 and not MIN_TTL_NS <= ttl <= MAX_TTL_NS:
        raise invalid_field("command.ttl", "between 1 second and 30 days")


def _getter(command: C.DeviceCommand) -> Callable[[str], Any]:
    def get(path: str) -> Any:
        if path == "state":
            return C.DeviceCommandState.Name(command.state)
        value = getattr(command, path)
        if isinstance(value, Timestamp):
            return value if command.HasField(path) else None
        return value

    return get
