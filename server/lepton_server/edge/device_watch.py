"""WatchDevices (EDG-117): every device that matches a ListDevices filter as ADDED, the
`initial_state_complete` marker, then ADDED / MODIFIED / DELETED as devices start to match,
change or stop matching, each with the device as it is after the change.

A watch re-reads a device whenever DeviceEvents names it. Two things change what a device
reads as, or whether it matches, without an event of its own, so the watch also wakes for
them: the connection state turning OFFLINE after three silent report intervals (at each
ONLINE device's deadline), and, for a filter on the derived `deployment` term, a deployment's
target changing (a rescan every RESCAN_SECONDS)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from lepton.edge.v1 import device_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_server.aip.filtering.compile import Filter, compile_filter
from lepton_server.aip.standard_fields import now_ns
from lepton_server.edge.devices import DEVICE_FILTER, Devices, device_fields, filtered_device
from lepton_server.edge.fleet_database import report_interval_ns

ADDED = pb.DEVICE_CHANGE_TYPE_ADDED
MODIFIED = pb.DEVICE_CHANGE_TYPE_MODIFIED
DELETED = pb.DEVICE_CHANGE_TYPE_DELETED
ONLINE = device_pb2.DEVICE_CONNECTION_STATE_ONLINE
# How often a watch filtering on `deployment` re-reads every device (spec/edge.md 4: within
# a second).
RESCAN_SECONDS = 1.0
SECOND_NS = 10**9


def _without_liveness(device: device_pb2.Device) -> bytes:
    """The device without what every heartbeat moves (times, uptime, usage, outbox) and the
    receive time of a repeated report: what a change must touch to be sent at once."""
    copy = device_pb2.Device()
    copy.CopyFrom(device)
    copy.ClearField("last_seen_time")
    for name in ("time", "uptime", "resource_usage", "outbox"):
        copy.last_heartbeat.ClearField(name)
    copy.reported_state.ClearField("receive_time")
    return copy.SerializeToString(deterministic=True)


class _Watch:
    """What one watch has sent: the matching devices as last sent, when each was sent, and
    when each ONLINE device turns OFFLINE unless it is heard from."""

    def __init__(self, matches: Filter) -> None:
        self.matches = matches
        self.rescans = any(term.field.path == "deployment" for term in matches.terms)
        self.sent: dict[str, device_pb2.Device] = {}
        self.sent_time: dict[str, int] = {}
        self.offline_at: dict[str, int] = {}

    def wake_in(self, now: int) -> float | None:
        """Seconds until the watch must look again without an event; None: only on one."""
        deadlines = [(t - now) / SECOND_NS for t in self.offline_at.values()]
        if self.rescans:
            deadlines.append(RESCAN_SECONDS)
        return max(0.0, min(deadlines)) if deadlines else None

    def due(self, now: int) -> list[str]:
        return [name for name, at in self.offline_at.items() if at <= now]

    def change(self, name: str, devices: Devices, deployments: list, now: int):
        """The message that `name`'s current state calls for, or None."""
        row = devices.db.device(name)
        before = self.sent.get(name)
        if row is None:
            self.offline_at.pop(name, None)
            return None if before is None else self._send(name, DELETED, before, now)
        item = filtered_device(row, deployments, now)
        device = item[0]
        if device.connection_state == ONLINE:
            silence = 3 * report_interval_ns(device)
            self.offline_at[name] = device.last_seen_time.ToNanoseconds() + silence
        else:
            self.offline_at.pop(name, None)
        if not self.matches.matches(device_fields(item)):
            return None if before is None else self._send(name, DELETED, device, now)
        if before is None:
            return self._send(name, ADDED, device, now)
        if device == before:
            return None
        # Heartbeats that move only liveness fields: at most one message per report interval.
        if _without_liveness(device) == _without_liveness(before) and (
            now - self.sent_time[name] < report_interval_ns(device)
        ):
            return None
        return self._send(name, MODIFIED, device, now)

    def _send(
        self, name: str, change: int, device: device_pb2.Device, now: int
    ) -> pb.WatchDevicesResponse:
        if change == DELETED:
            self.sent.pop(name, None)
            self.sent_time.pop(name, None)
        else:
            self.sent[name] = device
            self.sent_time[name] = now
        return pb.WatchDevicesResponse(change_type=change, device=device)


class DeviceWatches:
    """The WatchDevices streams over the device registry."""

    def __init__(self, devices: Devices) -> None:
        self.devices = devices

    async def watch(self, filter_text: str) -> AsyncIterator[pb.WatchDevicesResponse]:
        """The stream of one WatchDevices call; INVALID_FILTER before any message."""
        watch = _Watch(compile_filter(filter_text, DEVICE_FILTER))
        loop = asyncio.get_running_loop()
        named: asyncio.Queue[str] = asyncio.Queue()
        # Listening before the initial read, so no change between the two is lost; a device
        # read twice yields nothing the second time unless it changed.
        stop = self.devices.events.listen(
            lambda name, _change: loop.call_soon_threadsafe(named.put_nowait, name)
        )
        try:
            names = [row.device.name for row in self.devices.db.devices()]
            for response in self._changes(watch, names):
                yield response
            yield pb.WatchDevicesResponse(initial_state_complete=True)
            while True:
                for response in self._changes(watch, await self._next(watch, named)):
                    yield response
        finally:
            stop()

    async def _next(self, watch: _Watch, named: asyncio.Queue[str]) -> list[str]:
        """The devices to read again: those named by events (all that are queued), or when
        the watch's timer fires those due to turn OFFLINE, or every device on a rescan."""
        try:
            first = await asyncio.wait_for(named.get(), watch.wake_in(now_ns()))
        except TimeoutError:
            if watch.rescans:
                return [row.device.name for row in self.devices.db.devices()]
            return watch.due(now_ns())
        names = {first}
        while not named.empty():
            names.add(named.get_nowait())
        return sorted(names)

    def _changes(self, watch: _Watch, names: Iterable[str]) -> list[pb.WatchDevicesResponse]:
        now, deployments = now_ns(), self.devices.db.deployments()
        responses = (watch.change(name, self.devices, deployments, now) for name in names)
        return [response for response in responses if response is not None]
