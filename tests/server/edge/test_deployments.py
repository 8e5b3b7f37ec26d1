"""Deployments and the desired states they make, over a real fleet server (spec/edge.md 2.2,
2.5, EDG-033, EDG-059 to EDG-063, EDG-110). Releases reach devices only through rollouts; the
tests hand them over as the rollout controller does, through the fleet's FleetAssignments."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from support.edge_devices import DeviceKey, a_release, create_device, new_id, refused

from lepton.edge.v1 import capabilities_pb2, deployment_pb2, device_pb2
from lepton.edge.v1 import edge_service_pb2 as pb

D = device_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
T = deployment_pb2.DeviceTarget


def _create(edge, target: T | None = None, **fields: object) -> deployment_pb2.Deployment:
    deployment = deployment_pb2.Deployment(target=target or T(all_devices=True), **fields)
    request = pb.CreateDeploymentRequest(deployment_id=new_id("dep"), deployment=deployment)
    return edge.CreateDeployment(request).deployment


def _device(edge, name: str) -> device_pb2.Device:
    return edge.GetDevice(pb.GetDeviceRequest(name=name)).device


def _deployment(edge, name: str) -> deployment_pb2.Deployment:
    return edge.GetDeployment(pb.GetDeploymentRequest(name=name)).deployment


def _labelled(edge, site: str, **fields: object) -> str:
    return create_device(edge, device=D.Device(labels={"site": site}), **fields).device.name


@pytest.fixture
def assignments(fleet_server):
    return fleet_server.fleet.assignments


# --- create, get, list, update, delete -----------------------------------------------------------


def test_a_new_deployment_has_no_release_and_no_rollout(edge):
    deployment = _create(edge, display_name="cams", labels={"team": "a"})
    assert not deployment.HasField("current_release")
    assert (deployment.latest_rollout, deployment.rollout_active) == ("", False)
    assert deployment.etag and deployment.display_name == "cams"
    assert _deployment(edge, deployment.name) == deployment


@pytest.mark.parametrize(
    ("deployment", "reason", "field"),
    [
        (deployment_pb2.Deployment(), "INVALID_FIELD", "deployment.target"),
        (
            deployment_pb2.Deployment(target=T(all_devices=True, match_labels={"a": "b"})),
            "INVALID_FIELD",
            "deployment.target",
        ),
        (
            deployment_pb2.Deployment(target=T(devices=["devices/a", "devices/a"])),
            "INVALID_FIELD",
            "deployment.target.devices",
        ),
        (
            deployment_pb2.Deployment(target=T(devices=["cams/a"])),
            "INVALID_NAME",
            "deployment.target.devices[0]",
        ),
        (
            deployment_pb2.Deployment(
                target=T(all_devices=True),
                parameter_overrides=[deployment_pb2.DeviceParameterOverride(device="a")],
            ),
            "INVALID_NAME",
            "deployment.parameter_overrides[0].device",
        ),
        (
            deployment_pb2.Deployment(
                target=T(all_devices=True),
                parameter_overrides=[
                    deployment_pb2.DeviceParameterOverride(device="devices/a"),
                    deployment_pb2.DeviceParameterOverride(device="devices/a"),
                ],
            ),
            "INVALID_FIELD",
            "deployment.parameter_overrides[1].device",
        ),
        (
            deployment_pb2.Deployment(
                target=T(all_devices=True),
                parameter_overrides=[
                    deployment_pb2.DeviceParameterOverride(
                        device="devices/a", parameters={str(i): "v" for i in range(65)}
                    )
                ],
            ),
            "INVALID_FIELD",
            "deployment.parameter_overrides[0].parameters",
        ),
    ],
)
def test_create_deployment_validates_target_and_overrides(edge, deployment, reason, field):
    request = pb.CreateDeploymentRequest(deployment_id=new_id("dep"), deployment=deployment)
    refused(lambda: edge.CreateDeployment(request), INVALID, reason, field)


def test_create_deployment_names_and_request_ids(edge):
    refused(
        lambda: edge.CreateDeployment(pb.CreateDeploymentRequest(deployment_id="Bad")),
        INVALID,
        "INVALID_NAME",
        "deployment_id",
    )
    request = pb.CreateDeploymentRequest(
        deployment_id=new_id("dep"),
        deployment=deployment_pb2.Deployment(target=T(all_devices=True)),
        request_id=str(uuid.uuid4()),
    )
    first = edge.CreateDeployment(request).deployment
    assert edge.CreateDeployment(request).deployment.name == first.name
    request.request_id = ""
    metadata = refused(
        lambda: edge.CreateDeployment(request),
        grpc.StatusCode.ALREADY_EXISTS,
        "RESOURCE_ALREADY_EXISTS",
    )
    assert metadata["resource_name"] == first.name


def test_targeted_count_counts_approved_devices_the_target_selects(edge):
    site = new_id("site")
    by_label = _labelled(edge, site)
    _labelled(edge, site, require_approval=True)
    named = create_device(edge).device.name
    deployment = _create(edge, T(match_labels={"site": site}))
    assert deployment.device_counts.targeted_count == 1
    assert deployment.device_counts.unreported_count == 1
    listed = _create(edge, T(devices=[by_label, named, "devices/not-created-yet"]))
    assert listed.device_counts.targeted_count == 2


def test_update_deployment_by_mask_and_etag(edge):
    deployment = _create(edge, display_name="a", description="keep")
    change = deployment_pb2.Deployment(
        name=deployment.name, display_name="b", description="x", etag=deployment.etag
    )
    updated = edge.UpdateDeployment(
        pb.UpdateDeploymentRequest(deployment=change, update_mask=FieldMask(paths=["display_name"]))
    ).deployment
    assert (updated.display_name, updated.description) == ("b", "keep")
    assert updated.etag != deployment.etag
    refused(
        lambda: edge.UpdateDeployment(pb.UpdateDeploymentRequest(deployment=change)),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    refused(
        lambda: edge.UpdateDeployment(
            pb.UpdateDeploymentRequest(
                deployment=change, update_mask=FieldMask(paths=["current_release"])
            )
        ),
        INVALID,
        "INVALID_FIELD",
        "update_mask",
    )
    refused(
        lambda: edge.UpdateDeployment(
            pb.UpdateDeploymentRequest(
                deployment=deployment_pb2.Deployment(name=deployment.name),
                update_mask=FieldMask(paths=["target"]),
            )
        ),
        INVALID,
        "INVALID_FIELD",
        "deployment.target",
    )
    assert _deployment(edge, deployment.name).display_name == "b"


def test_list_deployments_filters_by_label(edge):
    team = new_id("team")
    names = sorted(_create(edge, labels={"team": team}).name for _ in range(2))
    _create(edge)
    response = edge.ListDeployments(pb.ListDeploymentsRequest(filter=f'labels.team = "{team}"'))
    assert [d.name for d in response.deployments] == names
    refused(
        lambda: edge.ListDeployments(pb.ListDeploymentsRequest(filter="target = 1")),
        INVALID,
        "INVALID_FILTER",
        "filter",
    )


def test_delete_deployment_by_etag_and_not_while_a_rollout_is_active(edge, assignments):
    deployment = _create(edge)
    rollout = f"{deployment.name}/rollouts/r1"
    assignments.set_rollout_state(deployment.name, rollout, True)
    metadata = refused(
        lambda: edge.DeleteDeployment(pb.DeleteDeploymentRequest(name=deployment.name)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROLLOUT_IN_PROGRESS",
    )
    assert metadata["rollout"] == rollout
    assignments.set_rollout_state(deployment.name, rollout, False)
    refused(
        lambda: edge.DeleteDeployment(pb.DeleteDeploymentRequest(name=deployment.name, etag="x")),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    edge.DeleteDeployment(pb.DeleteDeploymentRequest(name=deployment.name))
    refused(
        lambda: _deployment(edge, deployment.name),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )


# --- desired states --------------------------------------------------------------------------


def _desired(edge, name: str) -> tuple[int, dict[str, str]]:
    """(generation, deployment -> model version) of a device's desired state."""
    state = _device(edge, name).desired_state
    return state.generation, {d.deployment: d.release.model_version for d in state.deployments}


def test_a_current_release_reaches_every_targeted_device_without_a_rollout(edge, assignments):
    site = new_id("site")
    device = _labelled(edge, site)
    bystander = create_device(edge).device.name
    deployment = _create(edge, T(match_labels={"site": site}))
    before, _ = _desired(edge, device)
    assignments.set_current_release(deployment.name, a_release("models/m/versions/1"))
    generation, desired = _desired(edge, device)
    assert desired == {deployment.name: "models/m/versions/1"}
    assert generation > before
    state = _device(edge, device).desired_state
    assert state.deployments[0].rollout == ""
    assert _desired(edge, bystander)[1] == {}
    assert _deployment(edge, deployment.name).current_release.model_version == (
        "models/m/versions/1"
    )


def test_desired_deployments_are_ordered_by_name_one_entry_each(edge, assignments):
    site = new_id("site")
    device = _labelled(edge, site)
    names = []
    for version in ("2", "1"):
        deployment = _create(edge, T(match_labels={"site": site}))
        assignments.set_current_release(deployment.name, a_release(f"models/m/versions/{version}"))
        names.append(deployment.name)
    state = _device(edge, device).desired_state
    assert [d.deployment for d in state.deployments] == sorted(names)


def test_targeting_changes_move_the_deployment_in_and_out(edge, assignments):
    site = new_id("site")
    deployment = _create(edge, T(match_labels={"site": site}))
    assignments.set_current_release(deployment.name, a_release())
    device = _labelled(edge, site)
    generation, desired = _desired(edge, device)
    assert list(desired) == [deployment.name]
    # Labels change: out.
    edge.UpdateDevice(pb.UpdateDeviceRequest(device=D.Device(name=device, labels={"site": "x"})))
    after_labels, desired = _desired(edge, device)
    assert desired == {} and after_labels > generation
    # Target change: in again.
    change = deployment_pb2.Deployment(name=deployment.name, target=T(devices=[device]))
    edge.UpdateDeployment(pb.UpdateDeploymentRequest(deployment=change))
    after_target, desired = _desired(edge, device)
    assert list(desired) == [deployment.name] and after_target > after_labels
    # Deletion: out.
    edge.DeleteDeployment(pb.DeleteDeploymentRequest(name=deployment.name))
    after_delete, desired = _desired(edge, device)
    assert desired == {} and after_delete > after_target


def test_approval_and_decommission_add_and_remove_the_deployment(edge, assignments):
    site = new_id("site")
    deployment = _create(edge, T(match_labels={"site": site}))
    assignments.set_current_release(deployment.name, a_release())
    device = _labelled(edge, site, require_approval=True)
    assert _desired(edge, device)[1] == {}
    edge.ApproveDevice(pb.ApproveDeviceRequest(name=device))
    assert list(_desired(edge, device)[1]) == [deployment.name]
    assert _deployment(edge, deployment.name).device_counts.targeted_count == 1
    edge.DecommissionDevice(pb.DecommissionDeviceRequest(name=device))
    assert _desired(edge, device)[1] == {}
    assert _deployment(edge, deployment.name).device_counts.targeted_count == 0


def test_operator_fields_leave_the_generation_alone(edge, assignments):
    site = new_id("site")
    device = _labelled(edge, site)
    deployment = _create(edge, T(match_labels={"site": site}))
    assignments.set_current_release(deployment.name, a_release())
    generation, _ = _desired(edge, device)
    edge.UpdateDevice(pb.UpdateDeviceRequest(device=D.Device(name=device, display_name="new")))
    change = deployment_pb2.Deployment(name=deployment.name, description="new")
    edge.UpdateDeployment(pb.UpdateDeploymentRequest(deployment=change))
    assert _desired(edge, device)[0] == generation


def test_an_incompatible_device_is_not_assigned_the_current_release(edge, agent, assignments):
    site = new_id("site")
    created = create_device(edge, device=D.Device(labels={"site": site}))
    capabilities = capabilities_pb2.DeviceCapabilities(
        runtimes=[capabilities_pb2.Runtime(name="tflite")]
    )
    DeviceKey().register(
        agent,
        created.device.name.removeprefix("devices/"),
        created.bootstrap_token,
        capabilities=capabilities,
    )
    compatible = _labelled(edge, site)
    deployment = _create(edge, T(match_labels={"site": site}))
    assignments.set_current_release(deployment.name, a_release(runtime="onnxruntime"))
    assert _desired(edge, created.device.name)[1] == {}
    assert list(_desired(edge, compatible)[1]) == [deployment.name]


def test_parameter_overrides_reach_only_their_device_in_a_new_generation(edge, assignments):
    site = new_id("site")
    device, other = _labelled(edge, site), _labelled(edge, site)
    deployment = _create(edge, T(match_labels={"site": site}))
    assignments.set_current_release(deployment.name, a_release())
    generation, _ = _desired(edge, device)
    other_generation, _ = _desired(edge, other)
    change = deployment_pb2.Deployment(
        name=deployment.name,
        parameter_overrides=[
            deployment_pb2.DeviceParameterOverride(device=device, parameters={"url": "rtsp://a"})
        ],
    )
    edge.UpdateDeployment(pb.UpdateDeploymentRequest(deployment=change))
    state = _device(edge, device).desired_state
    assert state.generation > generation
    assert dict(state.deployments[0].parameter_overrides) == {"url": "rtsp://a"}
    other_state = _device(edge, other).desired_state
    assert other_state.generation == other_generation
    assert not other_state.deployments[0].parameter_overrides
