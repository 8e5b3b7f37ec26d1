"""edge-fleet case of WatchDevices: the matching devices as ADDED, one marker, then ADDED,
MODIFIED and DELETED as devices start to match, change and stop matching; an invalid filter
is refused before any message (EDG-117)."""

from __future__ import annotations

import queue
import threading
from typing import Any

import grpc

from lepton.edge.v1 import device_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import PROMPT_S, FleetClient, unique_id
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
ADDED = pb.DEVICE_CHANGE_TYPE_ADDED
MODIFIED = pb.DEVICE_CHANGE_TYPE_MODIFIED
DELETED = pb.DEVICE_CHANGE_TYPE_DELETED
_END = object()
WATCH_S = 120.0


class DeviceWatch:
    """A WatchDevices stream read by a thread; messages taken one at a time with a short
    deadline. Use it in a `with` block; it is cancelled at the end."""

    def __init__(self, fleet: FleetClient, filter: str) -> None:
        self._call = fleet.call("WatchDevices", pb.WatchDevicesRequest(filter=filter), WATCH_S)
        self._messages: queue.Queue[Any] = queue.Queue()
        self.error: grpc.RpcError | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def __enter__(self) -> DeviceWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self._call.cancel()

    def _read(self) -> None:
        try:
            for message in self._call:
                self._messages.put(message)
        except grpc.RpcError as error:
            self.error = error
        self._messages.put(_END)

    def next(self, what: str) -> pb.WatchDevicesResponse:
        """The next message, which `what` describes; Failed when none comes promptly."""
        try:
            message = self._messages.get(timeout=PROMPT_S)
        except queue.Empty:
            raise Failed(f"{what} within {PROMPT_S:g} s", "no message") from None
        if message is _END:
            ended = expect.describe(self.error) if self.error is not None else "OK"
            raise Failed(what, f"the stream ended: {ended}")
        return message

    def change(self, kind: int, device: str, what: str) -> device_pb2.Device:
        """The next message is a `kind` change of `device`; the device it carries."""
        message = self.next(what)
        expect.equal(
            (pb.DeviceChangeType.Name(message.change_type), message.device.name),
            (pb.DeviceChangeType.Name(kind), device),
            f"(change_type, device) of {what}",
        )
        return message.device


@CASES.case(FLEET, "watch.devices-then-a-marker-then-every-change", "EDG-117")
def watch(ctx: CaseContext) -> None:
    """WatchDevices sends an ADDED message per matching device, one initial_state_complete
    marker, then ADDED when a device is created or changed to match, MODIFIED with the
    changed device, DELETED when one stops matching or is deleted; an invalid filter is
    INVALID_ARGUMENT [INVALID_FILTER] before any message."""
    with FleetClient(ctx) as fleet:
        run = unique_id("run")
        labels = {"conf-run": run}
        a = fleet.create_device(labels=labels).device
        b = fleet.create_device(labels=labels, require_approval=True).device
        fleet.create_device(labels={"conf-run": unique_id("other")})
        where = f'labels.conf-run = "{run}" AND approval_state != REJECTED'
        with DeviceWatch(fleet, where) as stream:
            initial = [stream.next("an initial message") for _ in range(2)]
            expect.equal(
                sorted((m.change_type, m.device.name, m.initial_state_complete) for m in initial),
                sorted([(ADDED, a.name, False), (ADDED, b.name, False)]),
                "the initial messages (change_type, device, initial_state_complete)",
            )
            expect.equal(
                {m.device.name: m.device for m in initial},
                {a.name: fleet.device(a.name), b.name: fleet.device(b.name)},
                "the devices of the initial messages",
            )
            marker = stream.next("the initial_state_complete marker")
            expect.equal(
                (marker.initial_state_complete, marker.change_type, marker.HasField("device")),
                (True, pb.DEVICE_CHANGE_TYPE_UNSPECIFIED, False),
                "(initial_state_complete, change_type, device set) of the marker",
            )
            c = fleet.create_device(labels=labels).device
            expect.equal(stream.change(ADDED, c.name, "a created device"), c, "its device")
            renamed = fleet.update_device(
                device_pb2.Device(name=a.name, display_name="renamed"), "display_name"
            )
            modified = stream.change(MODIFIED, a.name, "an update")
            expect.equal(modified, renamed, "the device of the MODIFIED message")
            fleet.transition("RejectDevice", b.name)
            stream.change(DELETED, b.name, "a device that stopped matching (rejected)")
            approved = fleet.transition("ApproveDevice", b.name)
            expect.equal(
                stream.change(ADDED, b.name, "a device that started matching (approved)"),
                approved,
                "its device",
            )
            fleet.update_device(
                device_pb2.Device(name=c.name, labels={"conf-run": "elsewhere"}), "labels"
            )
            stream.change(DELETED, c.name, "a device whose labels stopped matching")
            retired = fleet.transition("DecommissionDevice", b.name)
            expect.equal(
                stream.change(MODIFIED, b.name, "a decommissioned device"), retired, "its device"
            )
            fleet.transition("DeleteDevice", b.name)
            stream.change(DELETED, b.name, "a deleted device")
        for bad in ("approval_state > PENDING", 'display_name = "x"', "approval_state = NONE"):
            with DeviceWatch(fleet, bad) as refused:
                try:
                    message = refused.next("the refusal of an invalid filter")
                except Failed:
                    message = None
                expect.holds(
                    message is None, "no message before the refusal", expect._short(message)
                )
                error = refused.error

                def again(error: grpc.RpcError | None = error) -> None:
                    if error is not None:
                        raise error

                expect.fails_with(
                    again, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FILTER", field="filter"
                )
