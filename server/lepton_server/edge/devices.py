"""The device registry (spec/edge.md 2.1, EDG-011 to EDG-018): CreateDevice with its
bootstrap token, Get, List with the edge filters and orders, Update by field mask and etag,
the approval workflow (Approve, Reject, Decommission, Delete) and IssueBootstrapToken. The
connection state is derived on every read."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from lepton.edge.v1 import deployment_pb2, device_pb2, device_state_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_server.aip import request_ids
from lepton_server.aip.filtering.fields import EQUALITY, FieldType, FilterField
from lepton_server.aip.labels import check_labels
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.resource_names import check_id, parse
from lepton_server.aip.standard_fields import (
    MAX_DISPLAY_NAME,
    check_etag,
    check_text,
    new_etag,
    not_found,
    now_ns,
    timestamp,
)
from lepton_server.edge.desired_states import DesiredStates, is_targeted
from lepton_server.edge.device_events import Change, DeviceEvents
from lepton_server.edge.device_tokens import DeviceTokens
from lepton_server.edge.fleet_database import (
    DEFAULT_REPORT_INTERVAL_NS,
    DeviceRow,
    FleetDatabase,
)
from lepton_server.runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    invalid_field,
)

MAX_DESCRIPTION = 4096
SECOND_NS, MINUTE_NS, HOUR_NS, DAY_NS = 10**9, 60 * 10**9, 3600 * 10**9, 24 * 3600 * 10**9
DEFAULT_BOOTSTRAP_TTL_NS = 7 * DAY_NS
MUTABLE_FIELDS = ("display_name", "description", "labels", "report_interval")

PENDING = device_pb2.DEVICE_APPROVAL_STATE_PENDING
APPROVED = device_pb2.DEVICE_APPROVAL_STATE_APPROVED
REJECTED = device_pb2.DEVICE_APPROVAL_STATE_REJECTED
DECOMMISSIONED = device_pb2.DEVICE_APPROVAL_STATE_DECOMMISSIONED
ONLINE = device_pb2.DEVICE_CONNECTION_STATE_ONLINE

DEVICE_FILTER = (
    FilterField("labels", FieldType.LABEL, EQUALITY),
    FilterField.for_enum("approval_state", device_pb2.DeviceApprovalState.keys()),
    FilterField.for_enum("connection_state", device_pb2.DeviceConnectionState.keys()),
    FilterField.for_enum("last_heartbeat.health", device_state_pb2.HealthState.keys()),
    FilterField("deployment", FieldType.RESOURCE_NAME, EQUALITY),
)
DEVICES = Listing(
    DEVICE_FILTER, ("name", "create_time", "update_time", "last_seen_time"), "name", "name"
)


def device_name(name: str, field_path: str = "name") -> str:
    """`name` if it is "devices/{device}", else INVALID_NAME on `field_path`."""
    parse(name, ("devices",), field_path)
    return name


def device_message(row: DeviceRow, now: int) -> device_pb2.Device:
    """The Device as clients read it: connection state derived now, report interval filled
    in when never set (EDG-014, EDG-015)."""
    device = device_pb2.Device()
    device.CopyFrom(row.device)
    device.connection_state = row.connection_state(now)
    if not device.HasField("report_interval"):
        device.report_interval.FromNanoseconds(DEFAULT_REPORT_INTERVAL_NS)
    return device


def check_duration(value: Duration, field_path: str, low_ns: int, high_ns: int, what: str) -> int:
    """`value` in ns, or INVALID_FIELD when it is outside [low_ns, high_ns]."""
    ns = value.ToNanoseconds()
    if not low_ns <= ns <= high_ns:
        raise invalid_field(field_path, f"must be between {what}")
    return ns


def state_conflict(device: device_pb2.Device, action: str) -> FailedPrecondition:
    """DEVICE_STATE_CONFLICT for an action the device's approval state does not allow."""
    state = device_pb2.DeviceApprovalState.Name(device.approval_state).removeprefix(
        "DEVICE_APPROVAL_STATE_"
    )
    return FailedPrecondition(
        reason="DEVICE_STATE_CONFLICT",
        message=f"{device.name} is {state}: {action} is not allowed",
        metadata={"device": device.name, "approval_state": state},
    )


class _TargetedBy:
    """The value of the derived filter term `deployment` for one device: equal to the name
    of every deployment that targets it, so `deployment = "deployments/x"` selects the
    devices x targets and `!=` the others, whatever other deployments target them."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def __eq__(self, other: object) -> bool:
        return other in self.names

    def __ne__(self, other: object) -> bool:
        return other not in self.names


class Devices:
    """The device registry."""

    def __init__(
        self,
        db: FleetDatabase,
        desired: DesiredStates,
        tokens: DeviceTokens,
        events: DeviceEvents,
        page_tokens: PageTokens,
    ) -> None:
        self.db = db
        self.desired = desired
        self.tokens = tokens
        self.events = events
        self.page_tokens = page_tokens
        # Called with a deleted device's name (e.g. to delete its telemetry, EDG-017).
        self.on_delete: list[Callable[[str], None]] = []

    def row(self, name: str, field_path: str = "name") -> DeviceRow:
        found = self.db.device(device_name(name, field_path))
        if found is None:
            raise not_found(name)
        return found

    # --- create, read ------------------------------------------------------------------------

    def create(self, request: pb.CreateDeviceRequest) -> pb.CreateDeviceResponse:
        check_id(request.device_id, "device_id", "device_id")
        request_ids.check_request_id(request.request_id)
        given = request.device
        _check_operator_fields(given, MUTABLE_FIELDS, "device")
        ttl = DEFAULT_BOOTSTRAP_TTL_NS
        if request.bootstrap_token_ttl.ToNanoseconds():
            ttl = check_duration(
                request.bootstrap_token_ttl,
                "bootstrap_token_ttl",
                MINUTE_NS,
                365 * DAY_NS,
                "1 minute and 365 days",
            )
        name = f"devices/{request.device_id}"
        with self.db.atomic():
            replay = request_ids.replayed(self.db, "CreateDevice", "", request)
            if replay is not None:
                first = json.loads(replay)
                return pb.CreateDeviceResponse(
                    device=self.get(first["device"]),
                    bootstrap_token=first["bootstrap_token"],
                    bootstrap_token_expire_time=timestamp(first["expire_time"]),
                )
            if self.db.device(name) is not None:
                raise AlreadyExists(
                    reason="RESOURCE_ALREADY_EXISTS",
                    message=f"{name} already exists",
                    metadata={"resource_name": name},
                )
            now = now_ns()
            device = device_pb2.Device(
                name=name,
                display_name=given.display_name,
                description=given.description,
                labels=given.labels,
                approval_state=PENDING if request.require_approval else APPROVED,
                etag=new_etag(),
            )
            if given.HasField("report_interval"):
                device.report_interval.CopyFrom(given.report_interval)
            device.desired_state.generation = 1
            device.desired_state.update_time.CopyFrom(timestamp(now))
            device.create_time.CopyFrom(timestamp(now))
            device.update_time.CopyFrom(timestamp(now))
            row = DeviceRow(device)
            self.db.put_device(row)
            token, expire = self.tokens.issue_bootstrap(name, ttl, now)
            # The first response is replayed as it was, bootstrap token included (the proto's
            # request_id contract); the request-id table keeps it for 24 hours.
            request_ids.remember(
                self.db,
                "CreateDevice",
                "",
                request,
                json.dumps({"device": name, "bootstrap_token": token, "expire_time": expire}),
            )
            self.desired.retarget_device(name)
            self.db.after_commit(lambda: self.events.emit(name, Change.CREATED))
        return pb.CreateDeviceResponse(
            device=self.get(name),
            bootstrap_token=token,
            bootstrap_token_expire_time=timestamp(expire),
        )

    def get(self, name: str) -> device_pb2.Device:
        return device_message(self.row(name), now_ns())

    def list(self, request: pb.ListDevicesRequest) -> tuple[list[device_pb2.Device], str]:
        def items() -> list[FilteredDevice]:
            now, deployments = now_ns(), self.db.deployments()
            return [filtered_device(row, deployments, now) for row in self.db.devices()]

        page, token = DEVICES.page(self.page_tokens, request, items, device_fields, "devices")
        return [device for device, _ in page], token

    # --- update ------------------------------------------------------------------------------

    def update(self, request: pb.UpdateDeviceRequest) -> device_pb2.Device:
        given = request.device
        name = device_name(given.name, "device.name")
        paths = list(request.update_mask.paths) or [
            path for path in MUTABLE_FIELDS if _is_set(given, path)
        ]
        for path in paths:
            if path not in MUTABLE_FIELDS:
                raise invalid_field(
                    "update_mask", f"{path!r} is not one of {', '.join(MUTABLE_FIELDS)}"
                )
        _check_operator_fields(given, paths, "device")
        with self.db.atomic():
            row = self.row(name, "device.name")
            device = row.device
            check_etag(given.etag, device.etag)
            if device.approval_state == DECOMMISSIONED:
                raise state_conflict(device, "UpdateDevice")
            before = device.SerializeToString(deterministic=True)
            old_labels = dict(device.labels)
            old_interval = device.report_interval.ToNanoseconds()
            for path in paths:
                if path == "labels":
                    device.labels.clear()
                    device.labels.update(given.labels)
                elif path == "report_interval":
                    if given.HasField("report_interval"):
                        device.report_interval.CopyFrom(given.report_interval)
                    else:
                        device.ClearField("report_interval")
                else:
                    setattr(device, path, getattr(given, path))
            if device.SerializeToString(deterministic=True) != before:
                _touch(device)
                self.db.put_device(row)
                changes = [Change.OPERATOR_FIELDS]
                if device.report_interval.ToNanoseconds() != old_interval:
                    changes.append(Change.SETTINGS)
                if dict(device.labels) != old_labels:
                    self.desired.retarget_device(name)
                self._emit_after_commit(name, *changes)
        return self.get(name)

    # --- approval ----------------------------------------------------------------------------

    def approve(self, name: str, etag: str) -> device_pb2.Device:
        with self.db.atomic():
            row = self.row(name)
            check_etag(etag, row.device.etag)
            state = row.device.approval_state
            if state == DECOMMISSIONED:
                raise state_conflict(row.device, "ApproveDevice")
            if state != APPROVED:
                self._set_approval(row, APPROVED)
        return self.get(name)

    def reject(self, name: str, etag: str) -> device_pb2.Device:
        with self.db.atomic():
            row = self.row(name)
            check_etag(etag, row.device.etag)
            state = row.device.approval_state
            if state in (APPROVED, DECOMMISSIONED):
                raise state_conflict(row.device, "RejectDevice")
            if state == PENDING:
                self._set_approval(row, REJECTED)
        return self.get(name)

    def decommission(self, name: str, etag: str) -> device_pb2.Device:
        """EDG-016: revokes access and bootstrap tokens, takes the device out of every
        deployment, ends its Sync stream (DECOMMISSIONED listeners). The bound key stays, so
        a later Register with it is answered DEVICE_DECOMMISSIONED."""
        with self.db.atomic():
            row = self.row(name)
            check_etag(etag, row.device.etag)
            if row.device.approval_state != DECOMMISSIONED:
                self.tokens.revoke(name)
                self.db.delete_bootstrap_tokens(name)
                self._set_approval(row, DECOMMISSIONED)
                self._emit_after_commit(name, Change.DECOMMISSIONED)
        return self.get(name)

    def delete(self, name: str, etag: str) -> None:
        with self.db.atomic():
            row = self.row(name)
            check_etag(etag, row.device.etag)
            if row.device.approval_state not in (REJECTED, DECOMMISSIONED):
                raise state_conflict(row.device, "DeleteDevice")
            self.db.delete_device(name)
            self.db.forget_requests(name)
            self._emit_after_commit(name, Change.DELETED)
        for hook in self.on_delete:
            hook(name)

    def _set_approval(self, row: DeviceRow, state: int) -> None:
        row.device.approval_state = state
        _touch(row.device)
        self.db.put_device(row)
        self.desired.retarget_device(row.device.name)
        self._emit_after_commit(row.device.name, Change.APPROVAL)

    # --- bootstrap tokens --------------------------------------------------------------------

    def issue_bootstrap_token(
        self, request: pb.IssueBootstrapTokenRequest
    ) -> pb.IssueBootstrapTokenResponse:
        ttl = DEFAULT_BOOTSTRAP_TTL_NS
        with self.db.atomic():
            row = self.row(request.name)
            if request.ttl.ToNanoseconds():
                ttl = check_duration(
                    request.ttl, "ttl", MINUTE_NS, 365 * DAY_NS, "1 minute and 365 days"
                )
            if row.device.approval_state == DECOMMISSIONED:
                raise state_conflict(row.device, "IssueBootstrapToken")
            token, expire = self.tokens.issue_bootstrap(request.name, ttl, now_ns())
        return pb.IssueBootstrapTokenResponse(bootstrap_token=token, expire_time=timestamp(expire))

    # --- agent activity ----------------------------------------------------------------------

    def seen(self, row: DeviceRow, now: int) -> list[Change]:
        """Record that the device's agent called or sent a message at `now` (EDG-015); the
        caller stores the row. Returns CONNECTED when the device was not ONLINE before."""
        was_online = row.connection_state(now) == ONLINE
        row.device.last_seen_time.CopyFrom(timestamp(now))
        return [] if was_online else [Change.CONNECTED]

    def _emit_after_commit(self, name: str, *changes: Change) -> None:
        for change in changes:
            self.db.after_commit(lambda change=change: self.events.emit(name, change))


def _touch(device: device_pb2.Device) -> None:
    """An operator-visible field changed (EDG-013)."""
    device.update_time.CopyFrom(timestamp(now_ns()))
    device.etag = new_etag()


def _is_set(device: device_pb2.Device, path: str) -> bool:
    if path == "report_interval":
        return device.HasField("report_interval")
    return bool(getattr(device, path))


def _check_operator_fields(device: device_pb2.Device, paths: Any, prefix: str) -> None:
    """INVALID_FIELD for any of the operator fields named by `paths` that breaks its rule."""
    if "display_name" in paths:
        check_text(device.display_name, f"{prefix}.display_name", MAX_DISPLAY_NAME)
    if "description" in paths:
        check_text(device.description, f"{prefix}.description", MAX_DESCRIPTION)
    if "labels" in paths:
        check_labels(device.labels, f"{prefix}.labels")
    if "report_interval" in paths and device.HasField("report_interval"):
        check_duration(
            device.report_interval,
            f"{prefix}.report_interval",
            SECOND_NS,
            24 * HOUR_NS,
            "1 second and 24 hours",
        )


# A device as the device filter sees it: the Device as read now and the names of the
# deployments that target it (the derived term `deployment`).
FilteredDevice = tuple[device_pb2.Device, frozenset[str]]


def filtered_device(
    row: DeviceRow, deployments: Sequence[deployment_pb2.Deployment], now: int
) -> FilteredDevice:
    """`row` as ListDevices and WatchDevices filter it at `now`."""
    targeted = frozenset(d.name for d in deployments if is_targeted(d.target, row.device))
    return device_message(row, now), targeted


def device_fields(item: FilteredDevice) -> Callable[[str], Any]:
    """The getter of DEVICE_FILTER's fields (and the orderable ones) of a filtered device."""
    device, targeted = item
    derived: dict[str, Callable[[], Any]] = {
        "deployment": lambda: _TargetedBy(targeted),
        "labels": lambda: dict(device.labels),
        "approval_state": lambda: device_pb2.DeviceApprovalState.Name(device.approval_state),
        "connection_state": lambda: device_pb2.DeviceConnectionState.Name(device.connection_state),
        "last_heartbeat.health": lambda: device_state_pb2.HealthState.Name(
            device.last_heartbeat.health
        ),
    }

    def get(path: str) -> Any:
        if path in derived:
            return derived[path]()
        value = getattr(device, path)
        if isinstance(value, Timestamp):
            return value if device.HasField(path) else None
        return value

    return get
