"""What a rollout is made of, apart from its operations (rollouts.py): the fleet as rollouts
see it (`RolloutFleet`), the rollout and per-device records and their SQLite store, the state
sets they are judged by, and how rollouts and device statuses are listed."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from google.protobuf import timestamp_pb2

from lepton.edge.v1 import (
    capabilities_pb2,
    device_state_pb2,
    release_pb2,
    rollout_pb2,
    update_window_pb2,
)
from lepton.type.v1 import error_pb2
from lepton_server.aip.filtering.fields import EQUALITY, FieldType, FilterField
from lepton_server.aip.listing import Listing
from lepton_server.runtime.errors import (
    ERROR_DOMAIN,
)
from lepton_server.runtime.sqlite_database import SqliteDatabase

R = rollout_pb2
Rollout = rollout_pb2.Rollout
ModelRelease = release_pb2.ModelRelease

ACTIVE = frozenset(
    {
        R.ROLLOUT_STATE_QUEUED,
        R.ROLLOUT_STATE_RUNNING,
        R.ROLLOUT_STATE_PAUSED,
        R.ROLLOUT_STATE_ROLLING_BACK,
    }
)
TERMINAL = frozenset(
    {
        R.ROLLOUT_STATE_SUCCEEDED,
        R.ROLLOUT_STATE_FAILED,
        R.ROLLOUT_STATE_ABORTED,
        R.ROLLOUT_STATE_ROLLED_BACK,
    }
)
# Per-device states that count as "reached a final state" for status.progress (EDG-081).
FINAL_DEVICE_STATES = frozenset(
    {
        R.ROLLOUT_DEVICE_STATE_SUCCEEDED,
        R.ROLLOUT_DEVICE_STATE_FAILED,
        R.ROLLOUT_DEVICE_STATE_TIMED_OUT,
        R.ROLLOUT_DEVICE_STATE_INCOMPATIBLE,
        R.ROLLOUT_DEVICE_STATE_SKIPPED,
        R.ROLLOUT_DEVICE_STATE_ROLLED_BACK,
    }
)
# Devices a rollback returns to the previous release (spec/edge.md, "Rollback").
HANDED = frozenset(
    {
        R.ROLLOUT_DEVICE_STATE_DISPATCHED,
        R.ROLLOUT_DEVICE_STATE_IN_PROGRESS,
        R.ROLLOUT_DEVICE_STATE_SUCCEEDED,
        R.ROLLOUT_DEVICE_STATE_FAILED,
        R.ROLLOUT_DEVICE_STATE_TIMED_OUT,
    }
)
UNFINISHED_STAGES = frozenset(
    {
        R.ROLLOUT_STAGE_STATE_PENDING,
        R.ROLLOUT_STAGE_STATE_AWAITING_APPROVAL,
        R.ROLLOUT_STAGE_STATE_DISPATCHING,
        R.ROLLOUT_STAGE_STATE_VERIFYING,
    }
)
COUNT_FIELDS = {
    R.ROLLOUT_DEVICE_STATE_PENDING: "pending_count",
    R.ROLLOUT_DEVICE_STATE_DISPATCHED: "dispatched_count",
    R.ROLLOUT_DEVICE_STATE_IN_PROGRESS: "in_progress_count",
    R.ROLLOUT_DEVICE_STATE_SUCCEEDED: "succeeded_count",
    R.ROLLOUT_DEVICE_STATE_FAILED: "failed_count",
    R.ROLLOUT_DEVICE_STATE_TIMED_OUT: "timed_out_count",
    R.ROLLOUT_DEVICE_STATE_INCOMPATIBLE: "incompatible_count",
    R.ROLLOUT_DEVICE_STATE_SKIPPED: "skipped_count",
    R.ROLLOUT_DEVICE_STATE_ROLLING_BACK: "rolling_back_count",
    R.ROLLOUT_DEVICE_STATE_ROLLED_BACK: "rolled_back_count",
}


# --- the fleet, as rollouts see it ------------------------------------------------------------


@dataclass(frozen=True)
class TargetedDevice:
    """A device a deployment targets now: its name "devices/{device}", its reported
    capabilities (None before it reported any) and whether it is connected."""

    name: str
    capabilities: capabilities_pb2.DeviceCapabilities | None
    online: bool


@dataclass(frozen=True)
class AssignedRelease:
    """What a rollout puts in a device's desired state for a deployment: the release, the
    rollout that assigned it ("" when none did) and the install windows (EDG-113)."""

    release: ModelRelease
    rollout: str
    install_windows: list[update_window_pb2.UpdateWindow] = field(default_factory=list)


@dataclass(frozen=True)
class DeviceProgress:
    """How a device stands for a deployment: its desired and acknowledged generations, its
    latest report of the deployment (None when it reports no entry for it) and whether it
    is connected."""

    desired_generation: int
    acknowledged_generation: int
    reported: device_state_pb2.ReportedDeployment | None
    online: bool


class RolloutFleet(Protocol):
    """The fleet side of the edge layer as rollouts use it (implemented by the fleet slice)."""

    def targeted_devices(self, deployment: str) -> list[TargetedDevice]:
        """The devices `deployment` targets now."""
        ...

    def assign(
        self, deployment: str, releases: Mapping[str, AssignedRelease | None]
    ) -> dict[str, int]:
        """Set (or, with None, remove) each named device's desired release for `deployment`;
        every call raises the named devices' desired generation, also when the release is
        the one they have (a retry, EDG-114). Returns each device's new desired generation."""
        ...

    def device_progress(
        self, deployment: str, devices: Collection[str]
    ) -> dict[str, DeviceProgress]:
        """How each of `devices` stands for `deployment`; a device that no longer exists is
        left out."""
        ...

    def set_current_release(self, deployment: str, release: ModelRelease | None) -> None:
        """The deployment's current_release (EDG-075), which targeted devices that can run
        it and do not hold it get without a rollout name, and newly targeted ones later
        (EDG-061); None clears it and changes no assignment."""
        ...

    def set_rollout_state(self, deployment: str, latest_rollout: str, active: bool) -> None:
        """The deployment's latest_rollout and rollout_active."""
        ...

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(device)` whenever a device's ack, report, connection or targeting
        changes, from any thread; returns how to unsubscribe."""
        ...


ValidateRelease = Callable[[ModelRelease], ModelRelease]
Clock = Callable[[], int]  # nanoseconds since the epoch


# --- records ----------------------------------------------------------------------------------


@dataclass
class DeviceTrack:
    """What the controller remembers of one device of a rollout besides its status."""

    position: int  # place in the dispatch order, from 0
    generation: int = 0  # desired generation that carried the release (or the rollback)
    acknowledged_ns: int | None = None
    outcome_ns: int | None = None  # when it last reached SUCCEEDED, FAILED or TIMED_OUT
    rollback_ns: int | None = None  # when its assignment was set back
    waited_ns: int = 0  # time spent awaiting an install window, which device_timeout skips
    checked_ns: int | None = None
    final_once: bool = False
    healthy: bool = False


@dataclass
class DeviceEntry:
    status: rollout_pb2.RolloutDeviceStatus
    track: DeviceTrack


@dataclass
class RolloutRecord:
    """One rollout: its resource, its devices in dispatch order and what the controller
    keeps between passes."""

    rollout: Rollout
    deployment: str
    sequence: int  # creation order, breaking ties of create_time
    devices: dict[str, DeviceEntry] = field(default_factory=dict)
    approvals: dict[int, int] = field(default_factory=dict)  # stage -> approve time ns
    counting_since_ns: int = 0  # abort criteria count outcomes since (EDG-073)
    gate_since_ns: int | None = None  # the current gate's timeout runs from
    # One snapshot per entry of status.history, so that Watch sends each state entered.
    transitions: dict[int, Rollout] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.rollout.name

    @property
    def state(self) -> int:
        return self.rollout.status.state

    def internal(self) -> str:
        return json.dumps(
            {
                "sequence": self.sequence,
                "approvals": {str(k): v for k, v in self.approvals.items()},
                "counting_since_ns": self.counting_since_ns,
                "gate_since_ns": self.gate_since_ns,
            }
        )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollouts (
    name TEXT PRIMARY KEY,
    deployment TEXT NOT NULL,
    message BLOB NOT NULL,
    internal TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollout_devices (
    rollout TEXT NOT NULL,
    device TEXT NOT NULL,
    status BLOB NOT NULL,
    track TEXT NOT NULL,
    PRIMARY KEY (rollout, device)
);
"""


class RolloutDatabase(SqliteDatabase):
    """The rollouts and their per-device statuses, one row each, with the request ids."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def put(self, record: RolloutRecord, *, devices: bool = True) -> None:
        with self.transaction():
            self._run(
                "INSERT OR REPLACE INTO rollouts VALUES (?, ?, ?, ?)",
                record.name,
                record.deployment,
                record.rollout.SerializeToString(deterministic=True),
                record.internal(),
            )
            if devices:
                for name, entry in record.devices.items():
                    self._run(
                        "INSERT OR REPLACE INTO rollout_devices VALUES (?, ?, ?, ?)",
                        record.name,
                        name,
                        entry.status.SerializeToString(deterministic=True),
                        json.dumps(asdict(entry.track)),
                    )

    def load(self) -> list[RolloutRecord]:
        records = []
        for name, deployment, message, internal in self._all(
            "SELECT name, deployment, message, internal FROM rollouts"
        ):
            extra = json.loads(internal)
            record = RolloutRecord(
                rollout=Rollout.FromString(message),
                deployment=deployment,
                sequence=extra["sequence"],
                approvals={int(k): v for k, v in extra["approvals"].items()},
                counting_since_ns=extra["counting_since_ns"],
                gate_since_ns=extra["gate_since_ns"],
            )
            rows = self._all(
                "SELECT device, status, track FROM rollout_devices WHERE rollout=?", name
            )
            entries = [
                DeviceEntry(R.RolloutDeviceStatus.FromString(s), DeviceTrack(**json.loads(t)))
                for _, s, t in rows
            ]
            entries.sort(key=lambda entry: entry.track.position)
            record.devices = {entry.status.device: entry for entry in entries}
            records.append(record)
        return records

    def delete_deployment(self, deployment: str) -> None:
        with self.transaction():
            for (name,) in self._all("SELECT name FROM rollouts WHERE deployment=?", deployment):
                self._run("DELETE FROM rollout_devices WHERE rollout=?", name)
            self._run("DELETE FROM rollouts WHERE deployment=?", deployment)
        self.forget_requests(deployment)


# --- listings ---------------------------------------------------------------------------------

ROLLOUT_LISTING = Listing(
    [FilterField.for_enum("status.state", R.RolloutState.keys())],
    ("status.create_time", "status.start_time", "status.end_time", "update_time", "name"),
    "status.create_time desc, name desc",
    "status.create_time desc, name desc",
)
DEVICE_LISTING = Listing(
    [
        FilterField.for_enum("state", R.RolloutDeviceState.keys()),
        FilterField("stage", FieldType.INTEGER, EQUALITY),
    ],
    ("device", "stage", "update_time"),
    "device",
    "device",
)


def _time_or_none(message: Any, name: str) -> timestamp_pb2.Timestamp | None:
    return getattr(message, name) if message.HasField(name) else None


def rollout_getter(rollout: Rollout) -> Callable[[str], Any]:
    def get(path: str) -> Any:
        if path == "status.state":
            return R.RolloutState.Name(rollout.status.state)
        if path.startswith("status."):
            return _time_or_none(rollout.status, path.removeprefix("status."))
        if path == "update_time":
            return _time_or_none(rollout, path)
        return getattr(rollout, path)

    return get


def device_getter(status: rollout_pb2.RolloutDeviceStatus) -> Callable[[str], Any]:
    def get(path: str) -> Any:
        if path == "state":
            return R.RolloutDeviceState.Name(status.state)
        if path == "update_time":
            return _time_or_none(status, path)
        return getattr(status, path)

    return get


def timestamp(ns: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(ns)
    return stamp


def error_status(code: int, reason: str, message: str, **metadata: str) -> error_pb2.ErrorStatus:
    """An in-band ErrorStatus of this layer (spec/edge.md 6.2)."""
    return error_pb2.ErrorStatus(
        code=code, reason=reason, domain=ERROR_DOMAIN, message=message, metadata=metadata
    )
