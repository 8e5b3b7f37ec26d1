"""The device registry over a real fleet server (spec/edge.md 2.1, EDG-011 to EDG-018):
CreateDevice and its bootstrap token, Get, List with filters and orders, Update by mask and
etag, and the approval workflow of the table in section 2.1."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from support.edge_devices import create_device, enroll, new_id, refused

from lepton.edge.v1 import deployment_pb2, device_pb2
from lepton.edge.v1 import edge_service_pb2 as pb

D = device_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
CONFLICT = grpc.StatusCode.FAILED_PRECONDITION
SEVEN_DAYS = 7 * 24 * 3600


def test_create_device_is_approved_never_connected_with_a_bootstrap_token(edge):
    created = create_device(edge)
    device = created.device
    assert device.approval_state == D.DEVICE_APPROVAL_STATE_APPROVED
    assert device.connection_state == D.DEVICE_CONNECTION_STATE_NEVER_CONNECTED
    assert device.desired_state.generation >= 1
    assert not device.desired_state.deployments
    assert device.etag and created.bootstrap_token
    expire = created.bootstrap_token_expire_time.seconds - device.create_time.seconds
    assert abs(expire - SEVEN_DAYS) <= 1


def test_create_device_with_require_approval_is_pending(edge):
    device = create_device(edge, require_approval=True).device
    assert device.approval_state == D.DEVICE_APPROVAL_STATE_PENDING


def test_bootstrap_token_ttl_is_honoured_and_bounded(edge):
    created = create_device(edge, bootstrap_token_ttl=Duration(seconds=600))
    lifetime = created.bootstrap_token_expire_time.seconds - created.device.create_time.seconds
    assert abs(lifetime - 600) <= 1
    refused(
        lambda: create_device(edge, bootstrap_token_ttl=Duration(seconds=30)),
        INVALID,
        "INVALID_FIELD",
        "bootstrap_token_ttl",
    )


def test_report_interval_reads_30_seconds_and_is_bounded(edge):
    assert create_device(edge).device.report_interval.seconds == 30
    refused(
        lambda: create_device(edge, device=D.Device(report_interval=Duration(seconds=90000))),
        INVALID,
        "INVALID_FIELD",
        "device.report_interval",
    )


@pytest.mark.parametrize("device_id", ["Upper", "1abc", "ends-", "", "a" * 64, "under_score"])
def test_a_device_id_that_breaks_the_id_rule_is_invalid_name(edge, device_id):
    refused(lambda: create_device(edge, device_id), INVALID, "INVALID_NAME", "device_id")


def test_creating_an_existing_device_is_already_exists(edge):
    name = create_device(edge).device.name
    metadata = refused(
        lambda: create_device(edge, name.removeprefix("devices/")),
        grpc.StatusCode.ALREADY_EXISTS,
        "RESOURCE_ALREADY_EXISTS",
    )
    assert metadata["resource_name"] == name


def test_create_device_replays_a_request_id_and_refuses_it_for_another_request(edge):
    request_id = str(uuid.uuid4())
    device_id = new_id()
    first = create_device(edge, device_id, request_id=request_id)
    again = create_device(edge, device_id, request_id=request_id)
    assert again.device.name == first.device.name
    assert again.bootstrap_token == first.bootstrap_token
    refused(
        lambda: create_device(edge, new_id(), request_id=request_id),
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_CONFLICT",
    )


def test_get_device_of_an_unknown_or_malformed_name(edge):
    metadata = refused(
        lambda: edge.GetDevice(pb.GetDeviceRequest(name="devices/nobody")),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )
    assert metadata["resource_name"] == "devices/nobody"
    refused(
        lambda: edge.GetDevice(pb.GetDeviceRequest(name="machines/x")),
        INVALID,
        "INVALID_NAME",
        "name",
    )


# --- update ----------------------------------------------------------------------------------


def test_update_device_changes_only_the_masked_fields_and_the_etag(edge):
    device = create_device(edge, device=D.Device(display_name="old", labels={"a": "1"})).device
    change = D.Device(name=device.name, display_name="new", labels={"b": "2"}, etag=device.etag)
    updated = edge.UpdateDevice(
        pb.UpdateDeviceRequest(device=change, update_mask=FieldMask(paths=["display_name"]))
    ).device
    assert updated.display_name == "new"
    assert dict(updated.labels) == {"a": "1"}
    assert updated.etag != device.etag
    assert updated.update_time.ToNanoseconds() >= device.update_time.ToNanoseconds()


def test_update_device_without_mask_changes_the_set_fields(edge):
    device = create_device(edge, device=D.Device(display_name="keep")).device
    change = D.Device(name=device.name, labels={"site": "x"}, report_interval=Duration(seconds=5))
    updated = edge.UpdateDevice(pb.UpdateDeviceRequest(device=change)).device
    assert (updated.display_name, dict(updated.labels)) == ("keep", {"site": "x"})
    assert updated.report_interval.seconds == 5


def test_update_device_with_a_stale_etag_is_aborted_and_changes_nothing(edge):
    device = create_device(edge).device
    stale = D.Device(name=device.name, display_name="x", etag="stale")
    refused(
        lambda: edge.UpdateDevice(pb.UpdateDeviceRequest(device=stale)),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    assert edge.GetDevice(pb.GetDeviceRequest(name=device.name)).device.display_name == ""


def test_update_device_refuses_a_mask_path_that_is_not_mutable(edge):
    device = create_device(edge).device
    request = pb.UpdateDeviceRequest(
        device=D.Device(name=device.name), update_mask=FieldMask(paths=["approval_state"])
    )
    refused(lambda: edge.UpdateDevice(request), INVALID, "INVALID_FIELD", "update_mask")


def test_update_device_refuses_bad_labels(edge):
    device = create_device(edge).device
    request = pb.UpdateDeviceRequest(device=D.Device(name=device.name, labels={"Bad Key": "v"}))
    refused(lambda: edge.UpdateDevice(request), INVALID, "INVALID_FIELD")
    assert not edge.GetDevice(pb.GetDeviceRequest(name=device.name)).device.labels


# --- approval (the table of spec/edge.md 2.1) --------------------------------------------------


def _state(edge, name: str) -> int:
    return edge.GetDevice(pb.GetDeviceRequest(name=name)).device.approval_state


def test_approve_a_pending_device(edge):
    device = create_device(edge, require_approval=True).device
    approved = edge.ApproveDevice(pb.ApproveDeviceRequest(name=device.name, etag=device.etag))
    assert approved.device.approval_state == D.DEVICE_APPROVAL_STATE_APPROVED
    assert approved.device.etag != device.etag


def test_reject_then_approve(edge):
    name = create_device(edge, require_approval=True).device.name
    rejected = edge.RejectDevice(pb.RejectDeviceRequest(name=name)).device
    assert rejected.approval_state == D.DEVICE_APPROVAL_STATE_REJECTED
    again = edge.RejectDevice(pb.RejectDeviceRequest(name=name)).device
    assert again.etag == rejected.etag
    approved = edge.ApproveDevice(pb.ApproveDeviceRequest(name=name)).device
    assert approved.approval_state == D.DEVICE_APPROVAL_STATE_APPROVED


def test_approving_an_approved_device_changes_nothing(edge):
    device = create_device(edge).device
    again = edge.ApproveDevice(pb.ApproveDeviceRequest(name=device.name)).device
    assert again.etag == device.etag


def test_rejecting_an_approved_device_is_a_state_conflict(edge):
    device = create_device(edge).device
    metadata = refused(
        lambda: edge.RejectDevice(pb.RejectDeviceRequest(name=device.name)),
        CONFLICT,
        "DEVICE_STATE_CONFLICT",
    )
    assert metadata == {"device": device.name, "approval_state": "APPROVED"}
    assert _state(edge, device.name) == D.DEVICE_APPROVAL_STATE_APPROVED


def test_approval_calls_with_a_stale_etag_are_aborted(edge):
    device = create_device(edge, require_approval=True).device
    for call in (
        lambda: edge.ApproveDevice(pb.ApproveDeviceRequest(name=device.name, etag="x")),
        lambda: edge.RejectDevice(pb.RejectDeviceRequest(name=device.name, etag="x")),
        lambda: edge.DecommissionDevice(pb.DecommissionDeviceRequest(name=device.name, etag="x")),
    ):
        refused(call, grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    assert _state(edge, device.name) == D.DEVICE_APPROVAL_STATE_PENDING


def test_a_decommissioned_device_refuses_every_change_but_decommission_and_delete(edge):
    device = create_device(edge).device
    gone = edge.DecommissionDevice(pb.DecommissionDeviceRequest(name=device.name)).device
    assert gone.approval_state == D.DEVICE_APPROVAL_STATE_DECOMMISSIONED
    again = edge.DecommissionDevice(pb.DecommissionDeviceRequest(name=device.name)).device
    assert again.etag == gone.etag
    for call in (
        lambda: edge.ApproveDevice(pb.ApproveDeviceRequest(name=device.name)),
        lambda: edge.RejectDevice(pb.RejectDeviceRequest(name=device.name)),
        lambda: edge.UpdateDevice(
            pb.UpdateDeviceRequest(device=D.Device(name=device.name, display_name="x"))
        ),
        lambda: edge.IssueBootstrapToken(pb.IssueBootstrapTokenRequest(name=device.name)),
    ):
        metadata = refused(call, CONFLICT, "DEVICE_STATE_CONFLICT")
        assert metadata["approval_state"] == "DECOMMISSIONED"


@pytest.mark.parametrize("require_approval", [False, True])
def test_deleting_an_approved_or_pending_device_is_a_state_conflict(edge, require_approval):
    device = create_device(edge, require_approval=require_approval).device
    refused(
        lambda: edge.DeleteDevice(pb.DeleteDeviceRequest(name=device.name)),
        CONFLICT,
        "DEVICE_STATE_CONFLICT",
    )
    assert edge.GetDevice(pb.GetDeviceRequest(name=device.name)).device.name == device.name


def test_a_deleted_device_is_gone_and_its_id_can_be_reused(edge):
    created = create_device(edge, require_approval=True).device
    rejected = edge.RejectDevice(pb.RejectDeviceRequest(name=created.name)).device
    refused(
        lambda: edge.DeleteDevice(pb.DeleteDeviceRequest(name=created.name, etag="stale")),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    edge.DeleteDevice(pb.DeleteDeviceRequest(name=created.name, etag=rejected.etag))
    refused(
        lambda: edge.GetDevice(pb.GetDeviceRequest(name=created.name)),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )
    again = create_device(edge, created.name.removeprefix("devices/")).device
    assert again.approval_state == D.DEVICE_APPROVAL_STATE_APPROVED


def test_issue_bootstrap_token_returns_a_new_token_with_its_ttl(edge):
    created = create_device(edge)
    issued = edge.IssueBootstrapToken(
        pb.IssueBootstrapTokenRequest(name=created.device.name, ttl=Duration(seconds=3600))
    )
    assert issued.bootstrap_token and issued.bootstrap_token != created.bootstrap_token
    assert issued.expire_time.seconds > created.device.create_time.seconds
    refused(
        lambda: edge.IssueBootstrapToken(
            pb.IssueBootstrapTokenRequest(name=created.device.name, ttl=Duration(seconds=1))
        ),
        INVALID,
        "INVALID_FIELD",
        "ttl",
    )


# --- list ------------------------------------------------------------------------------------


def _names(edge, **request: object) -> list[str]:
    return [d.name for d in edge.ListDevices(pb.ListDevicesRequest(**request)).devices]


def test_list_devices_filters_by_label_and_approval_state(edge):
    site = new_id("site")
    approved = create_device(edge, device=D.Device(labels={"site": site})).device.name
    pending = create_device(
        edge, device=D.Device(labels={"site": site}), require_approval=True
    ).device.name
    assert _names(edge, filter=f'labels.site = "{site}"', page_size=1000) == sorted(
        [approved, pending]
    )
    selected = _names(edge, filter=f'labels.site = "{site}" AND approval_state = PENDING')
    assert selected == [pending]
    selected = _names(
        edge, filter=f'labels.site = "{site}" AND approval_state != DEVICE_APPROVAL_STATE_PENDING'
    )
    assert selected == [approved]


def test_list_devices_filters_by_connection_state_and_deployment(edge):
    site = new_id("site")
    targeted = create_device(edge, device=D.Device(labels={"site": site})).device.name
    create_device(edge)
    deployment = edge.CreateDeployment(
        pb.CreateDeploymentRequest(
            deployment_id=new_id("dep"),
            deployment=deployment_pb2.Deployment(
                target=deployment_pb2.DeviceTarget(match_labels={"site": site})
            ),
        )
    ).deployment
    assert _names(edge, filter=f'deployment = "{deployment.name}"') == [targeted]
    never = _names(edge, filter=f'labels.site = "{site}" AND connection_state = NEVER_CONNECTED')
    assert never == [targeted]
    assert not _names(edge, filter=f'labels.site = "{site}" AND connection_state = ONLINE')


@pytest.mark.parametrize(
    "text",
    ["approval_state = SOMETIMES", 'display_name = "x"', "approval_state > APPROVED", "((("],
)
def test_list_devices_refuses_a_bad_filter(edge, text):
    refused(
        lambda: edge.ListDevices(pb.ListDevicesRequest(filter=text)),
        INVALID,
        "INVALID_FILTER",
        "filter",
    )


def test_list_devices_pages_in_name_order_and_orders_by_create_time(edge):
    site = new_id("site")
    names = [
        create_device(
            edge, device_id=f"{site}-{i}", device=D.Device(labels={"site": site})
        ).device.name
        for i in (2, 0, 1)
    ]
    query = f'labels.site = "{site}"'
    first = edge.ListDevices(pb.ListDevicesRequest(filter=query, page_size=2))
    second = edge.ListDevices(
        pb.ListDevicesRequest(filter=query, page_size=2, page_token=first.next_page_token)
    )
    assert [d.name for d in [*first.devices, *second.devices]] == sorted(names)
    assert first.next_page_token and not second.next_page_token
    by_creation = _names(edge, filter=query, order_by="create_time desc")
    assert by_creation == list(reversed(names))
    refused(
        lambda: edge.ListDevices(pb.ListDevicesRequest(order_by="labels")),
        INVALID,
        "INVALID_FIELD",
        "order_by",
    )
    refused(
        lambda: edge.ListDevices(pb.ListDevicesRequest(page_size=-1)),
        INVALID,
        "INVALID_FIELD",
        "page_size",
    )
    refused(
        lambda: edge.ListDevices(
            pb.ListDevicesRequest(filter="", page_token=first.next_page_token)
        ),
        INVALID,
        "INVALID_PAGE_TOKEN",
    )


def test_list_devices_orders_by_last_seen_time_unset_first(edge, agent):
    site = new_id("site")
    never = create_device(edge, device=D.Device(labels={"site": site})).device.name
    seen = enroll(edge, agent, labels={"site": site}).name
    query = f'labels.site = "{site}"'
    assert _names(edge, filter=query, order_by="last_seen_time") == [never, seen]
    assert _names(edge, filter=query, order_by="last_seen_time desc") == [seen, never]
