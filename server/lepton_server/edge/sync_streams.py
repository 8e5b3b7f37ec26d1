"""The Sync stream (spec/edge.md 2.3, EDG-029 to EDG-037): the hello and its welcome, the
desired state at once and at every new generation, the device's commands, settings when the
report interval changes, and the agent's heartbeats, reported states, acknowledgements and
command updates stored as they arrive. One stream per device is current: a newer one ends
the older with ABORTED [SYNC_STREAM_SUPERSEDED]; decommissioning ends it with
PERMISSION_DENIED [DEVICE_DECOMMISSIONED]."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from lepton.edge.v1 import device_agent_service_pb2 as pb
from lepton.edge.v1 import device_pb2, device_state_pb2
from lepton_server.aip.standard_fields import now_ns, timestamp
from lepton_server.edge.device_commands import DeviceCommands
from lepton_server.edge.device_events import Change, DeviceEvents
from lepton_server.edge.devices import DECOMMISSIONED, Devices, device_message
from lepton_server.edge.fleet_database import DeviceRow, FleetDatabase
from lepton_server.edge.registration import agent_settings
from lepton_server.runtime.errors import (
    Aborted,
    InvalidArgument,
    PermissionDenied,
    invalid_field,
)

MAX_HEALTH_MESSAGE = 1024
MAX_AGENT_VERSION = 128
# What a stream's queue carries besides device changes and errors.
_SUPERSEDED = "superseded"
_CLIENT_CLOSED = "closed"


@dataclass(eq=False)
class _Stream:
    """One device's open stream: its queue of changes and what it has sent."""

    device: str
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    generation: int = 0
    settings: pb.AgentSettings | None = None
    delivered: set[str] = field(default_factory=set)


def _violation(message: str) -> InvalidArgument:
    return InvalidArgument(reason="SYNC_PROTOCOL_VIOLATION", message=message)


def _decommissioned(device: str) -> PermissionDenied:
    return PermissionDenied(
        reason="DEVICE_DECOMMISSIONED",
        message=f"{device} was decommissioned",
        metadata={"device": device},
    )


class SyncStreams:
    """The open Sync streams, one current stream per device."""

    def __init__(
        self, db: FleetDatabase, devices: Devices, events: DeviceEvents, commands: DeviceCommands
    ) -> None:
        self.db = db
        self.devices = devices
        self.commands = commands
        self._streams: dict[str, _Stream] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        events.listen(self._on_change)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the streams run on; changes made on other threads hop there."""
        self._loop = loop

    def _on_change(self, device: str, change: Change) -> None:
        stream = self._streams.get(device)
        relevant = (
            Change.DESIRED_STATE,
            Change.SETTINGS,
            Change.COMMANDS,
            Change.DECOMMISSIONED,
            Change.DELETED,
        )
        if stream is not None and change in relevant and self._loop is not None:
            self._loop.call_soon_threadsafe(stream.queue.put_nowait, change)

    async def serve(
        self, device: str, requests: AsyncIterator[pb.SyncRequest]
    ) -> AsyncIterator[pb.SyncResponse]:
        """The server's half of `device`'s Sync stream."""
        hello = await anext(aiter(requests), None)
        if hello is None:
            return
        kind = hello.WhichOneof("message")
        if kind != "hello":
            raise _violation("the first message of a Sync stream must be a hello")
        self._check_hello(hello.hello)
        stream = _Stream(device)
        older = self._streams.get(device)
        # Registered before the desired state is read, so no change between is missed.
        self._streams[device] = stream
        if older is not None:
            older.queue.put_nowait(_SUPERSEDED)
        reader: asyncio.Task | None = None
        try:
            row = self._apply_hello(device, hello.hello)
            current = device_message(row, now_ns())
            settings = agent_settings(current)
            welcome = pb.SyncWelcome(device=device, settings=settings)
            welcome.server_time.CopyFrom(timestamp(now_ns()))
            yield pb.SyncResponse(welcome=welcome)
            stream.generation = current.desired_state.generation
            stream.settings = settings
            yield pb.SyncResponse(desired_state=current.desired_state)
            for response in self._commands(stream):
                yield response
            reader = asyncio.create_task(self._read(stream, requests))
            while True:
                item = await stream.queue.get()
                if item == _CLIENT_CLOSED:
                    return
                for response in self._changed(stream, item):
                    yield response
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
            if self._streams.get(device) is stream:
                del self._streams[device]

    def _changed(self, stream: _Stream, item: object) -> list[pb.SyncResponse]:
        """What the stream sends after a queued change; raises the error that ends it."""
        current = self._current(stream.device, item)
        if item == Change.DESIRED_STATE and current.desired_state.generation > stream.generation:
            stream.generation = current.desired_state.generation
            return [pb.SyncResponse(desired_state=current.desired_state)]
        if item == Change.SETTINGS and agent_settings(current) != stream.settings:
            stream.settings = agent_settings(current)
            return [pb.SyncResponse(settings=stream.settings)]
        if item == Change.COMMANDS:
            return self._commands(stream)
        return []

    def _commands(self, stream: _Stream) -> list[pb.SyncResponse]:
        """The device's commands it has not taken on yet and this stream has not sent
        (EDG-040)."""
        deliveries = self.commands.deliver(stream.device, stream.delivered)
        stream.delivered.update(delivery.name for delivery in deliveries)
        return [pb.SyncResponse(command=delivery) for delivery in deliveries]

    def _current(self, device: str, item: object) -> device_pb2.Device:
        """The device after a queued change; raises the error that ends the stream."""
        if isinstance(item, Exception):
            raise item
        if item == _SUPERSEDED:
            raise Aborted(
                reason="SYNC_STREAM_SUPERSEDED",
                message=f"{device} opened a newer Sync stream",
                metadata={"device": device},
            )
        found = self.db.device(device)
        # Decommissioning also empties the desired state; the stream ends without sending it.
        if found is None or found.device.approval_state == DECOMMISSIONED:
            raise _decommissioned(device)
        return device_message(found, now_ns())

    async def _read(self, stream: _Stream, requests: AsyncIterator[pb.SyncRequest]) -> None:
        """Store what the agent sends; an invalid message (or a failure to store one) ends the
        stream with its error."""
        try:
            async for message in requests:
                self._apply(stream.device, message)
        except Exception as error:  # a failure to store ends the stream rather than hang it
            stream.queue.put_nowait(error)
            return
        stream.queue.put_nowait(_CLIENT_CLOSED)

    # --- what the agent sends ----------------------------------------------------------------

    @staticmethod
    def _check_hello(hello: pb.SyncHello) -> None:
        if not hello.boot_id:
            raise invalid_field("hello.boot_id", "the hello must carry the boot id")
        if not hello.HasField("reported_state"):
            raise invalid_field("hello.reported_state", "the hello must carry the reported state")
        if len(hello.agent_version) > MAX_AGENT_VERSION:
            raise invalid_field("hello.agent_version", "at most 128 characters")

    def _apply_hello(self, device: str, hello: pb.SyncHello) -> DeviceRow:
        """EDG-031: the hello replaces the reported state and boot id and raises the
        acknowledged generation."""
        with self.db.atomic():
            row, changes = self._arrived(device)
            generation = row.device.desired_state.generation
            if hello.acknowledged_generation > generation:
                raise invalid_field(
                    "hello.acknowledged_generation",
                    f"exceeds the desired generation {generation}",
                )
            _check_applied(hello.reported_state, generation, "hello.reported_state")
            row.device.boot_id = hello.boot_id
            if hello.agent_version:
                row.device.agent_version = hello.agent_version
            changes.append(_store_report(row, hello.reported_state))
            changes += _acknowledge(row, hello.acknowledged_generation)
            self._store(row, changes)
        return row

    def _apply(self, device: str, message: pb.SyncRequest) -> None:
        kind = message.WhichOneof("message")
        if kind is None:
            raise _violation("a Sync message must set exactly one of its fields")
        if kind == "hello":
            raise _violation("only the first message of a Sync stream is a hello")
        with self.db.atomic():
            row, changes = self._arrived(device)
            generation = row.device.desired_state.generation
            if kind == "heartbeat":
                heartbeat = message.heartbeat
                if len(heartbeat.health_message) > MAX_HEALTH_MESSAGE:
                    raise invalid_field("heartbeat.health_message", "at most 1024 characters")
                row.device.last_heartbeat.CopyFrom(heartbeat)
                changes.append(Change.HEARTBEAT)
            elif kind == "reported_state":
                _check_applied(message.reported_state, generation, "reported_state")
                changes.append(_store_report(row, message.reported_state))
            elif kind == "desired_state_ack":
                acked = message.desired_state_ack.generation
                if acked > generation:
                    raise invalid_field(
                        "desired_state_ack.generation",
                        f"exceeds the desired generation {generation}",
                    )
                changes += _acknowledge(row, acked)
            elif kind == "command_update":
                self.commands.update(device, message.command_update)
            self._store(row, changes)

    def _arrived(self, device: str) -> tuple[DeviceRow, list[Change]]:
        """The device's row, marked seen now (EDG-015)."""
        row = self.db.device(device)
        if row is None or row.device.approval_state == DECOMMISSIONED:
            raise _decommissioned(device)
        return row, self.devices.seen(row, now_ns())

    def _store(self, row: DeviceRow, changes: list[Change]) -> None:
        self.db.put_device(row)
        name = row.device.name
        for change in changes:
            self.db.after_commit(lambda change=change: self.devices.events.emit(name, change))


def _check_applied(
    reported: device_state_pb2.ReportedState, generation: int, field_path: str
) -> None:
    if reported.applied_generation > generation:
        raise invalid_field(
            f"{field_path}.applied_generation", f"exceeds the desired generation {generation}"
        )


def _store_report(row: DeviceRow, reported: device_state_pb2.ReportedState) -> Change:
    row.device.reported_state.CopyFrom(reported)
    row.device.reported_state.receive_time.CopyFrom(timestamp(now_ns()))
    return Change.REPORTED_STATE


def _acknowledge(row: DeviceRow, generation: int) -> list[Change]:
    """EDG-035: raise acknowledged_generation; an older acknowledgement is ignored."""
    if generation <= row.device.acknowledged_generation:
        return []
    row.device.acknowledged_generation = generation
    row.acknowledge_time = now_ns()
    return [Change.ACKNOWLEDGED]
