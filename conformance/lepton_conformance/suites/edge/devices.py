"""edge-fleet cases of the device registry: CreateDevice and its validation, names and IDs,
request_id, ListDevices pages, order and filters, conditional updates, labels, the approval
state table and deletion (spec/edge.md sections 2.1 and 3; EDG-002 to EDG-014, EDG-017,
EDG-018)."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from google.protobuf import duration_pb2, timestamp_pb2

from lepton.edge.v1 import device_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import (
    APPROVED,
    NEVER_CONNECTED,
    REJECTED,
    AgentClient,
    DeviceKey,
    FleetClient,
    unique_id,
)
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
INVALID = grpc.StatusCode.INVALID_ARGUMENT
CONFLICT = grpc.StatusCode.FAILED_PRECONDITION
DAY = 86400
BAD_IDS = ("9starts-with-digit", "ends-with-", "Upper", "under_score", "a" * 64)


def seconds(value: float) -> duration_pb2.Duration:
    whole = int(value)
    return duration_pb2.Duration(seconds=whole, nanos=round((value - whole) * 1e9))


def plus(time: timestamp_pb2.Timestamp, duration: duration_pb2.Duration) -> Any:
    total = (time.seconds + duration.seconds) * 10**9 + time.nanos + duration.nanos
    return timestamp_pb2.Timestamp(seconds=total // 10**9, nanos=total % 10**9)


def state(device: device_pb2.Device) -> str:
    return device_pb2.DeviceApprovalState.Name(device.approval_state)


def run_label() -> tuple[str, str]:
    """A label only this case's devices carry, and the filter term selecting them."""
    value = unique_id("run")
    return value, f'labels.conf-run = "{value}"'


@CASES.case(FLEET, "devices.create-returns-a-new-device", "EDG-011", "EDG-014")
def create(ctx: CaseContext) -> None:
    """CreateDevice returns an APPROVED (or, with require_approval, PENDING) device that never
    connected, at desired generation >= 1 without deployments, with an etag, a report interval
    of 30 s, and a bootstrap token expiring at create_time + TTL (7 days when unset)."""
    with FleetClient(ctx) as fleet:
        created = fleet.create_device(display_name="Line 3 camera", labels={"site": "plant-7"})
        device = created.device
        expect.equal(
            (state(device), device.connection_state, device.display_name, dict(device.labels)),
            (
                "DEVICE_APPROVAL_STATE_APPROVED",
                NEVER_CONNECTED,
                "Line 3 camera",
                {"site": "plant-7"},
            ),
            "(approval_state, connection_state, display_name, labels)",
        )
        expect.holds(
            device.desired_state.generation >= 1 and not device.desired_state.deployments,
            "a desired state of generation >= 1 without deployments",
            str(device.desired_state),
        )
        expect.holds(bool(device.etag), "a non-empty etag", "empty")
        expect.equal(device.report_interval, seconds(30), "report_interval when unset")
        expect.holds(bool(created.bootstrap_token), "a bootstrap token", "empty")
        expect.equal(
            created.bootstrap_token_expire_time,
            plus(device.create_time, seconds(7 * DAY)),
            "bootstrap_token_expire_time (create_time + 7 days)",
        )
        expect.equal(fleet.device(device.name), device, "GetDevice of the created device")
        hour = seconds(3600)
        pending = fleet.create_device(require_approval=True, bootstrap_token_ttl=hour)
        expect.equal(state(pending.device), "DEVICE_APPROVAL_STATE_PENDING", "with approval")
        expect.equal(
            pending.bootstrap_token_expire_time,
            plus(pending.device.create_time, hour),
            "bootstrap_token_expire_time (create_time + 1 hour)",
        )
        for ttl in (seconds(59), seconds(365 * DAY + 1)):
            request = pb.CreateDeviceRequest(device_id=unique_id(), bootstrap_token_ttl=ttl)
            expect.rejects(
                lambda request=request: fleet.call("CreateDevice", request),
                INVALID,
                "INVALID_FIELD",
                field="bootstrap_token_ttl",
            )
        for interval in (seconds(0.5), seconds(DAY + 1)):
            request = pb.CreateDeviceRequest(
                device_id=unique_id(), device=device_pb2.Device(report_interval=interval)
            )
            expect.rejects(
                lambda request=request: fleet.call("CreateDevice", request),
                INVALID,
                "INVALID_FIELD",
                field="device.report_interval",
            )


@CASES.case(FLEET, "devices.names-and-ids-are-checked", "EDG-002", "EDG-003")
def names(ctx: CaseContext) -> None:
    """Every device RPC answers a malformed name INVALID_NAME and an unknown one NOT_FOUND
    [RESOURCE_NOT_FOUND] with metadata resource_name; CreateDevice refuses IDs that break the
    ID rule (INVALID_NAME on device_id) and an existing ID (ALREADY_EXISTS
    [RESOURCE_ALREADY_EXISTS])."""
    with FleetClient(ctx) as fleet:
        unknown = f"devices/{unique_id('absent')}"
        for rpc in (
            "GetDevice",
            "ApproveDevice",
            "RejectDevice",
            "DecommissionDevice",
            "DeleteDevice",
            "IssueBootstrapToken",
        ):
            request_class = getattr(pb, f"{rpc}Request")
            for bad in ("devices/Bad_Name", "device/x", "devices/x/commands/y", ""):
                malformed = request_class(name=bad)
                expect.fails_with(
                    lambda rpc=rpc, r=malformed: fleet.call(rpc, r),
                    INVALID,
                    "INVALID_NAME",
                )
            absent = request_class(name=unknown)
            expect.rejects(
                lambda rpc=rpc, r=absent: fleet.call(rpc, r),
                grpc.StatusCode.NOT_FOUND,
                "RESOURCE_NOT_FOUND",
                metadata={"resource_name": unknown},
            )
        missing = pb.UpdateDeviceRequest(device=device_pb2.Device(name=unknown, display_name="x"))
        expect.fails_with(
            lambda: fleet.call("UpdateDevice", missing),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        for bad in (*BAD_IDS, ""):
            request = pb.CreateDeviceRequest(device_id=bad)
            expect.fails_with(
                lambda request=request: fleet.call("CreateDevice", request),
                INVALID,
                "INVALID_NAME",
                field="device_id",
            )
            expect.fails_with(
                lambda bad=bad: fleet.call("GetDevice", pb.GetDeviceRequest(name=f"devices/{bad}")),
                INVALID,
                "INVALID_NAME",
            )
        name = fleet.create_device().device.name
        again = pb.CreateDeviceRequest(device_id=name.split("/")[1])
        expect.rejects(
            lambda: fleet.call("CreateDevice", again),
            grpc.StatusCode.ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
            metadata={"resource_name": name},
        )


@CASES.case(FLEET, "devices.request-id-makes-create-idempotent", "EDG-004")
def request_id(ctx: CaseContext) -> None:
    """CreateDevice repeated with its request_id returns the first response (the same device
    and bootstrap token); another request under the same request_id is ALREADY_EXISTS
    [REQUEST_ID_CONFLICT] and creates nothing."""
    with FleetClient(ctx) as fleet:
        key, device_id = str(uuid.uuid4()), unique_id()
        first = fleet.create_device(device_id, request_id=key, display_name="first")
        again = pb.CreateDeviceRequest(
            device_id=device_id, request_id=key, device=device_pb2.Device(display_name="first")
        )
        second = fleet.ok("CreateDevice", again)
        expect.equal(
            (second.device.name, second.bootstrap_token),
            (first.device.name, first.bootstrap_token),
            "(device, bootstrap_token) of the retry",
        )
        other_id = unique_id()
        changed = pb.CreateDeviceRequest(device_id=other_id, request_id=key)
        expect.fails_with(
            lambda: fleet.call("CreateDevice", changed),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_CONFLICT",
        )
        expect.fails_with(
            lambda: fleet.call("GetDevice", pb.GetDeviceRequest(name=f"devices/{other_id}")),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(FLEET, "devices.pages-visit-each-device-once-in-order", "EDG-005", "EDG-006")
def pages(ctx: CaseContext) -> None:
    """ListDevices pages through a filtered set in name order (or the order asked for), each
    device exactly once and at most page_size per page; a negative page_size, a foreign or
    forged page token and an order_by outside section 3.2 are refused."""
    with FleetClient(ctx) as fleet:
        value, term = run_label()
        names = sorted(
            fleet.create_device(labels={"conf-run": value}).device.name for _ in range(3)
        )
        for order, wanted in (
            ("", names),
            ("name", names),
            ("name desc", names[::-1]),
            ("create_time desc, name", None),
            ("last_seen_time, update_time desc", None),
        ):
            for size in (1, 2, 5000, 0):
                seen = fleet.device_names(term, order, size)
                if wanted is None:
                    expect.equal(sorted(seen), names, f"devices listed with order_by {order!r}")
                else:
                    expect.equal(seen, wanted, f"devices listed with order_by {order!r}")
        first = fleet.ok("ListDevices", pb.ListDevicesRequest(filter=term, page_size=1))
        expect.holds(bool(first.next_page_token), "a next_page_token after 1 of 3", "empty")
        for request in (
            pb.ListDevicesRequest(filter="", page_size=1, page_token=first.next_page_token),
            pb.ListDevicesRequest(
                filter=term, order_by="name desc", page_size=1, page_token=first.next_page_token
            ),
            pb.ListDevicesRequest(filter=term, page_token="forged-token"),
        ):
            expect.fails_with(
                lambda request=request: fleet.call("ListDevices", request),
                INVALID,
                "INVALID_PAGE_TOKEN",
            )
        expect.fails_with(
            lambda: fleet.call("ListDevices", pb.ListDevicesRequest(page_size=-1)),
            INVALID,
            "INVALID_FIELD",
            field="page_size",
        )
        for order in ("etag", "display_name", "name sideways", "name,,create_time"):
            request = pb.ListDevicesRequest(filter=term, order_by=order)
            expect.fails_with(
                lambda request=request: fleet.call("ListDevices", request),
                INVALID,
                "INVALID_FIELD",
                field="order_by",
            )


@CASES.case(FLEET, "devices.filters-select-exactly-the-matching-devices", "EDG-007", "EDG-018")
def filters(ctx: CaseContext) -> None:
    """ListDevices filters on labels, approval_state (short or full enum names) and
    connection_state (as at the call) return exactly the devices for which every term holds;
    another operator, an unlisted field, an unknown or UNSPECIFIED enum value, a quoted enum
    or an OR is INVALID_FILTER on filter."""
    with FleetClient(ctx) as fleet:
        value, term = run_label()
        a = fleet.create_device("", labels={"conf-run": value, "site": "x"})
        b = fleet.create_device("", labels={"conf-run": value, "site": "y"}, require_approval=True)
        c = fleet.create_device("", labels={"conf-run": value, "site": "x"})
        c_id = c.device.name.removeprefix("devices/")
        AgentClient(ctx).register(DeviceKey.generate(), c_id, c.bootstrap_token)
        na, nb, nc = a.device.name, b.device.name, c.device.name
        for extra, wanted in (
            ("", [na, nb, nc]),
            ("approval_state = PENDING", [nb]),
            ("approval_state = DEVICE_APPROVAL_STATE_APPROVED", [na, nc]),
            ("approval_state != APPROVED", [nb]),
            ('labels.site = "x"', [na, nc]),
            ('labels.site != "x"', [nb]),
            ('labels.absent = ""', [na, nb, nc]),
            ('labels.site = "x" AND approval_state = APPROVED', [na, nc]),
            ("connection_state = ONLINE", [nc]),
            ("connection_state = NEVER_CONNECTED", [na, nb]),
            ("connection_state != NEVER_CONNECTED", [nc]),
        ):
            where = f"{term} AND {extra}" if extra else term
            expect.equal(fleet.device_names(where), sorted(wanted), f"devices where {where}")
        for bad in (
            "approval_state > PENDING",
            'display_name = "x"',
            "approval_state = SLEEPING",
            "approval_state = UNSPECIFIED",
            'approval_state = "PENDING"',
            "labels.site = x",
            'labels.site : "x"',
            'labels.site = "x" OR labels.site = "y"',
            "connection_state = ONLINE and approval_state = APPROVED",
        ):
            request = pb.ListDevicesRequest(filter=f"{term} AND {bad}")
            expect.fails_with(
                lambda request=request: fleet.call("ListDevices", request),
                INVALID,
                "INVALID_FILTER",
                field="filter",
            )


@CASES.case(FLEET, "devices.update-follows-the-mask-and-the-etag", "EDG-008", "EDG-013")
def update(ctx: CaseContext) -> None:
    """UpdateDevice changes only the masked fields (every set mutable field when the mask is
    empty), ignores output-only fields, refuses a mask path that is not mutable and a stale
    etag without changing anything; etag and update_time change with every change."""
    with FleetClient(ctx) as fleet:
        device = fleet.create_device(display_name="before", description="kept").device
        change = device_pb2.Device(
            name=device.name,
            display_name="after",
            description="ignored",
            approval_state=REJECTED,
            etag=device.etag,
        )
        updated = fleet.update_device(change, "display_name")
        expect.equal(
            (updated.display_name, updated.description, updated.approval_state),
            ("after", "kept", APPROVED),
            "(display_name, description, approval_state) after a masked update",
        )
        expect.holds(updated.etag != device.etag, "a new etag", updated.etag)
        expect.holds(
            (updated.update_time.seconds, updated.update_time.nanos)
            > (device.update_time.seconds, device.update_time.nanos),
            "a later update_time",
            f"{updated.update_time} after {device.update_time}",
        )
        stale = pb.UpdateDeviceRequest(
            device=device_pb2.Device(name=device.name, display_name="stale", etag=device.etag)
        )
        expect.fails_with(
            lambda: fleet.call("UpdateDevice", stale), grpc.StatusCode.ABORTED, "ETAG_MISMATCH"
        )
        for path in ("approval_state", "name", "etag", "no_such_field"):
            request = pb.UpdateDeviceRequest(
                device=device_pb2.Device(name=device.name, display_name="masked"),
                update_mask={"paths": [path]},
            )
            expect.rejects(
                lambda request=request: fleet.call("UpdateDevice", request),
                INVALID,
                "INVALID_FIELD",
                field="update_mask",
            )
        bad_interval = pb.UpdateDeviceRequest(
            device=device_pb2.Device(name=device.name, report_interval=seconds(0.5)),
            update_mask={"paths": ["report_interval"]},
        )
        expect.rejects(
            lambda: fleet.call("UpdateDevice", bad_interval),
            INVALID,
            "INVALID_FIELD",
            field="device.report_interval",
        )
        expect.equal(fleet.device(device.name), updated, "the device after refused updates")
        unmasked = device_pb2.Device(
            name=device.name, labels={"line": "3"}, report_interval=seconds(45)
        )
        again = fleet.update_device(unmasked)
        expect.equal(
            (again.display_name, again.description, dict(again.labels), again.report_interval),
            ("after", "kept", {"line": "3"}, seconds(45)),
            "(display_name, description, labels, report_interval) after an unmasked update",
        )
        expect.holds(again.etag != updated.etag, "a new etag", again.etag)


@CASES.case(FLEET, "devices.labels-follow-the-labels-rule", "EDG-009", "GEN-056")
def labels(ctx: CaseContext) -> None:
    """CreateDevice and UpdateDevice refuse labels that break GEN-056 (a key not starting
    with a lowercase letter, a value with a space, 65 entries) with INVALID_FIELD on the
    labels, and change nothing."""
    with FleetClient(ctx) as fleet:
        many = {f"k{i}": "v" for i in range(65)}
        for bad in ({"Site": "x"}, {"site": "has space"}, {"1site": "x"}, many):
            device_id = unique_id()
            request = pb.CreateDeviceRequest(
                device_id=device_id, device=device_pb2.Device(labels=bad)
            )
            expect.rejects(
                lambda request=request: fleet.call("CreateDevice", request),
                INVALID,
                "INVALID_FIELD",
                field="device.labels",
            )
            expect.fails_with(
                lambda d=device_id: fleet.call(
                    "GetDevice", pb.GetDeviceRequest(name=f"devices/{d}")
                ),
                grpc.StatusCode.NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
        device = fleet.create_device(labels={"site": "x"}).device
        request = pb.UpdateDeviceRequest(
            device=device_pb2.Device(name=device.name, labels={"Site": "y"}),
            update_mask={"paths": ["labels"]},
        )
        expect.rejects(
            lambda: fleet.call("UpdateDevice", request),
            INVALID,
            "INVALID_FIELD",
            field="device.labels",
        )
        expect.equal(fleet.device(device.name), device, "the device after a refused update")


def _conflict(fleet: FleetClient, rpc: str, name: str, approval: str, **fields: Any) -> None:
    """`rpc` of the device (with `fields` instead of its name, when given) is refused with
    DEVICE_STATE_CONFLICT naming `approval` and changes nothing."""
    before = fleet.device(name)
    request = getattr(pb, f"{rpc}Request")(**(fields or {"name": name}))
    expect.rejects(
        lambda: fleet.call(rpc, request),
        CONFLICT,
        "DEVICE_STATE_CONFLICT",
        metadata={"approval_state": approval},
    )
    expect.equal(fleet.device(name), before, f"the device after a refused {rpc}")


@CASES.case(FLEET, "devices.approval-follows-the-state-table", "EDG-012", "EDG-013")
def approval(ctx: CaseContext) -> None:
    """Approve, Reject, Decommission, Delete, Update and IssueBootstrapToken behave per
    approval state as the table of section 2.1 says: refusals are FAILED_PRECONDITION
    [DEVICE_STATE_CONFLICT] with metadata approval_state and change nothing; an unchanged
    state keeps the etag, a changed one changes it; a stale etag is ABORTED."""
    with FleetClient(ctx) as fleet:
        device = fleet.create_device(require_approval=True).device
        name = device.name
        _conflict(fleet, "DeleteDevice", name, "PENDING")
        expect.fails_with(
            lambda: fleet.call("RejectDevice", pb.RejectDeviceRequest(name=name, etag="stale")),
            grpc.StatusCode.ABORTED,
            "ETAG_MISMATCH",
        )
        rejected = fleet.transition("RejectDevice", name, device.etag)
        expect.equal(state(rejected), "DEVICE_APPROVAL_STATE_REJECTED", "Reject of PENDING")
        expect.holds(rejected.etag != device.etag, "a new etag after Reject", rejected.etag)
        again = fleet.transition("RejectDevice", name)
        expect.equal(again, rejected, "Reject of a REJECTED device (unchanged)")
        approved = fleet.transition("ApproveDevice", name, rejected.etag)
        expect.equal(state(approved), "DEVICE_APPROVAL_STATE_APPROVED", "Approve of REJECTED")
        expect.equal(fleet.transition("ApproveDevice", name), approved, "Approve of APPROVED")
        _conflict(fleet, "RejectDevice", name, "APPROVED")
        _conflict(fleet, "DeleteDevice", name, "APPROVED")
        updated = fleet.update_device(device_pb2.Device(name=name, display_name="ok"))
        expect.equal(updated.display_name, "ok", "UpdateDevice of APPROVED")
        fleet.issue_token(name)
        pending = fleet.create_device(require_approval=True).device
        fleet.update_device(device_pb2.Device(name=pending.name, display_name="ok"))
        fleet.issue_token(pending.name)
        approved_pending = fleet.transition("ApproveDevice", pending.name)
        expect.equal(
            state(approved_pending), "DEVICE_APPROVAL_STATE_APPROVED", "Approve of PENDING"
        )
        retired = fleet.transition("DecommissionDevice", name)
        expect.equal(state(retired), "DEVICE_APPROVAL_STATE_DECOMMISSIONED", "Decommission")
        expect.equal(fleet.transition("DecommissionDevice", name), retired, "a second one")
        for rpc in ("ApproveDevice", "RejectDevice", "IssueBootstrapToken"):
            _conflict(fleet, rpc, name, "DECOMMISSIONED")
        _conflict(
            fleet,
            "UpdateDevice",
            name,
            "DECOMMISSIONED",
            device=device_pb2.Device(name=name, display_name="late"),
        )
        for start in (False, True):
            other = fleet.create_device(require_approval=start).device
            expect.equal(
                state(fleet.transition("DecommissionDevice", other.name)),
                "DEVICE_APPROVAL_STATE_DECOMMISSIONED",
                f"Decommission of {state(other)}",
            )


@CASES.case(FLEET, "devices.delete-frees-the-id", "EDG-017", "EDG-012")
def delete(ctx: CaseContext) -> None:
    """DeleteDevice of a REJECTED or DECOMMISSIONED device (a stale etag is ABORTED) makes
    GetDevice NOT_FOUND, and CreateDevice with the same ID then succeeds."""
    with FleetClient(ctx) as fleet:
        for retire in ("RejectDevice", "DecommissionDevice"):
            device_id = unique_id()
            created = fleet.create_device(device_id, require_approval=True)
            retired = fleet.transition(retire, created.device.name)
            stale = pb.DeleteDeviceRequest(name=retired.name, etag=created.device.etag)
            expect.fails_with(
                lambda stale=stale: fleet.call("DeleteDevice", stale),
                grpc.StatusCode.ABORTED,
                "ETAG_MISMATCH",
            )
            fleet.transition("DeleteDevice", retired.name, retired.etag)
            expect.fails_with(
                lambda name=retired.name: fleet.call("GetDevice", pb.GetDeviceRequest(name=name)),
                grpc.StatusCode.NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
            again = fleet.create_device(device_id)
            expect.equal(again.device.name, retired.name, "the re-created device's name")
            expect.equal(state(again.device), "DEVICE_APPROVAL_STATE_APPROVED", "its state")
            expect.equal(again.device.connection_state, NEVER_CONNECTED, "its connection")
