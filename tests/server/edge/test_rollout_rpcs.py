"""The rollout RPCs of EdgeService over a real fleet server: the rollout controller runs on
the server's loop and reaches devices through the fleet (FleetAssignments); devices take
part through real Sync streams (spec/edge.md 2.5, EDG-062 to EDG-084, EDG-111 to EDG-115)."""

from __future__ import annotations

import grpc
import pytest
from support.edge_fleet import (
    create_deployment,
    create_device,
    device_metadata,
    eventually,
    release,
    sync_once,
    uploaded_release,
)
from support.hosting import hosted
from support.status_details import error_info

from lepton.edge.v1 import device_state_pb2, rollout_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton_server.config import ServerConfig
from lepton_server.edge.layer import EdgeConfig
from lepton_server.edge.services import hosted_services, open_fleet

R = rollout_pb2
U = device_state_pb2


def refused(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def reason(error: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    info = error_info(error)
    return error.code(), info.reason if info is not None else ""


def fleet_of(edge, name: str, devices: int) -> tuple[str, list[str]]:
    """A deployment `name` targeting `devices` new devices labelled group=name."""
    deployment = create_deployment(edge, name, group=name).name
    names = [create_device(edge, f"{name}-{i}", group=name).name for i in range(devices)]
    return deployment, names


def create_rollout(edge, deployment: str, strategy: R.RolloutStrategy | None = None, **kwargs):
    rollout = R.Rollout(release=uploaded_release(edge))
    if strategy is not None:
        rollout.strategy.CopyFrom(strategy)
    request = pb.CreateRolloutRequest(parent=deployment, rollout=rollout, **kwargs)
    return edge.CreateRollout(request).rollout


def approval_first(*percents: float, **strategy: object) -> R.RolloutStrategy:
    """Stages of `percents`, the first waiting for approval: the rollout stays QUEUED."""
    built = R.RolloutStrategy(**strategy)  # type: ignore[arg-type]
    for i, percent in enumerate(percents):
        built.stages.add(percent=percent, require_approval=i == 0)
    return built


def device_states(edge, rollout: str) -> dict[str, str]:
    statuses = edge.ListRolloutDeviceStatuses(
        pb.ListRolloutDeviceStatusesRequest(parent=rollout)
    ).device_statuses
    return {
        s.device: R.RolloutDeviceState.Name(s.state).removeprefix("ROLLOUT_DEVICE_STATE_")
        for s in statuses
    }


def state_of(edge, rollout: str) -> str:
    found = edge.GetRollout(pb.GetRolloutRequest(name=rollout)).rollout
    return R.RolloutState.Name(found.status.state).removeprefix("ROLLOUT_STATE_")


def desired(edge, device: str, deployment: str) -> U.DesiredDeployment | None:
    state = edge.GetDevice(pb.GetDeviceRequest(name=device)).device.desired_state
    return next((d for d in state.deployments if d.deployment == deployment), None)


def generation(edge, device: str) -> int:
    return edge.GetDevice(pb.GetDeviceRequest(name=device)).device.desired_state.generation


def reported_attempt(
    deployment: str, assigned: U.DesiredDeployment, gen: int, phase: int
) -> U.ReportedState:
    """A report of an update attempt at `assigned`; COMMITTED makes it the running release."""
    release_ = assigned.release
    entry = U.ReportedDeployment(deployment=deployment, health=U.HEALTH_STATE_HEALTHY)
    entry.last_update.CopyFrom(
        U.UpdateAttempt(
            model_version=release_.model_version,
            artifact_digest=release_.artifact.digest,
            rollout=assigned.rollout,
            generation=gen,
            phase=phase,
        )
    )
    if phase == U.UPDATE_PHASE_COMMITTED:
        entry.running.model_version = release_.model_version
        entry.running.artifact_digest.CopyFrom(release_.artifact.digest)
        entry.running.rollout = assigned.rollout
    return U.ReportedState(applied_generation=gen, deployments=[entry])


def test_a_rollout_dispatches_its_release_to_the_targeted_devices(edge):
    deployment, devices = fleet_of(edge, "dispatch", 2)
    rollout = create_rollout(edge, deployment)
    assert rollout.status.state == R.ROLLOUT_STATE_QUEUED
    assert rollout.release.HasField("release_digest")
    # EDG-070: the controller hands the release to every device of the single stage.
    eventually(lambda: set(device_states(edge, rollout.name).values()) == {"DISPATCHED"})
    for device in devices:
        assigned = desired(edge, device, deployment)
        assert assigned.rollout == rollout.name
        assert assigned.release == rollout.release
    assert state_of(edge, rollout.name) == "RUNNING"
    found = edge.GetDeployment(pb.GetDeploymentRequest(name=deployment)).deployment
    assert (found.latest_rollout, found.rollout_active) == (rollout.name, True)


def test_devices_that_install_the_release_complete_the_rollout(edge, agent, fleet_server):
    deployment, (device,) = fleet_of(edge, "install", 1)
    rollout = create_rollout(edge, deployment)
    assigned = eventually(lambda: desired(edge, device, deployment))
    gen = generation(edge, device)
    metadata = device_metadata(fleet_server.fleet, device)
    sync_once(
        agent, metadata, gen, reported_attempt(deployment, assigned, gen, U.UPDATE_PHASE_COMMITTED)
    )
    eventually(lambda: state_of(edge, rollout.name) == "SUCCEEDED")
    done = edge.GetRollout(pb.GetRolloutRequest(name=rollout.name)).rollout
    assert done.device_counts.succeeded_count == done.device_counts.healthy_count == 1
    # EDG-075: the release is the deployment's current release; the rollout is over.
    found = edge.GetDeployment(pb.GetDeploymentRequest(name=deployment)).deployment
    assert found.current_release == rollout.release
    assert not found.rollout_active


def test_create_rollout_checks_the_release(edge):
    deployment, _ = fleet_of(edge, "release-checks", 0)
    not_uploaded = release(b"bytes the server never received")
    error = refused(
        edge.CreateRollout,
        pb.CreateRolloutRequest(parent=deployment, rollout=R.Rollout(release=not_uploaded)),
    )
    assert reason(error) == (grpc.StatusCode.FAILED_PRECONDITION, "ARTIFACT_NOT_AVAILABLE")
    assert error_info(error).metadata["digest"] == not_uploaded.artifact.digest.hex

    unsigned = uploaded_release(edge)
    del unsigned.signatures[:]
    error = refused(
        edge.CreateRollout,
        pb.CreateRolloutRequest(parent=deployment, rollout=R.Rollout(release=unsigned)),
    )
    assert reason(error) == (grpc.StatusCode.INVALID_ARGUMENT, "RELEASE_SIGNATURE_INVALID")

    error = refused(
        edge.CreateRollout,
        pb.CreateRolloutRequest(
            parent="deployments/absent", rollout=R.Rollout(release=uploaded_release(edge))
        ),
    )
    assert reason(error) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_NOT_FOUND")


def test_one_active_rollout_per_deployment(edge):
    deployment, _ = fleet_of(edge, "one-active", 1)
    first = create_rollout(edge, deployment, approval_first(100))
    error = refused(create_rollout, edge, deployment)
    assert reason(error) == (grpc.StatusCode.FAILED_PRECONDITION, "ROLLOUT_IN_PROGRESS")
    assert error_info(error).metadata["rollout"] == first.name
    # EDG-062: nor can the deployment be deleted meanwhile.
    error = refused(edge.DeleteDeployment, pb.DeleteDeploymentRequest(name=deployment))
    assert reason(error) == (grpc.StatusCode.FAILED_PRECONDITION, "ROLLOUT_IN_PROGRESS")


def test_pause_resume_and_abort(edge):
    deployment, _ = fleet_of(edge, "pause", 1)
    rollout = create_rollout(edge, deployment, approval_first(100))
    paused = edge.PauseRollout(pb.PauseRolloutRequest(name=rollout.name, message="hold"))
    assert paused.rollout.status.state == R.ROLLOUT_STATE_PAUSED
    assert paused.rollout.status.history[-1].message == "hold"
    resumed = edge.ResumeRollout(pb.ResumeRolloutRequest(name=rollout.name))
    assert resumed.rollout.status.state == R.ROLLOUT_STATE_QUEUED  # it never started
    aborted = edge.AbortRollout(pb.AbortRolloutRequest(name=rollout.name))
    assert aborted.rollout.status.state == R.ROLLOUT_STATE_ABORTED
    # Abort is idempotent; everything else refuses a finished rollout.
    again = edge.AbortRollout(pb.AbortRolloutRequest(name=rollout.name))
    assert again.rollout.status.state == R.ROLLOUT_STATE_ABORTED
    for call, request in (
        (edge.PauseRollout, pb.PauseRolloutRequest(name=rollout.name)),
        (edge.ResumeRollout, pb.ResumeRolloutRequest(name=rollout.name)),
        (edge.RetryRolloutDevices, pb.RetryRolloutDevicesRequest(name=rollout.name)),
        (edge.ApproveRolloutStage, pb.ApproveRolloutStageRequest(name=rollout.name, stage=0)),
    ):
        error = refused(call, request)
        assert reason(error) == (grpc.StatusCode.FAILED_PRECONDITION, "JOB_ALREADY_FINISHED")
    found = edge.GetDeployment(pb.GetDeploymentRequest(name=deployment)).deployment
    assert not found.rollout_active


def test_a_stage_waits_for_approval(edge):
    # EDG-112
    deployment, devices = fleet_of(edge, "approval", 2)
    rollout = create_rollout(edge, deployment, approval_first(50, 100))
    waiting = eventually(
        lambda: [
            r
            for r in [edge.GetRollout(pb.GetRolloutRequest(name=rollout.name)).rollout]
            if r.stages and r.stages[0].state == R.ROLLOUT_STAGE_STATE_AWAITING_APPROVAL
        ]
    )[0]
    assert waiting.status.state == R.ROLLOUT_STATE_QUEUED
    assert all(desired(edge, d, deployment) is None for d in devices)

    error = refused(
        edge.ApproveRolloutStage, pb.ApproveRolloutStageRequest(name=rollout.name, stage=5)
    )
    assert reason(error) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    error = refused(
        edge.ApproveRolloutStage, pb.ApproveRolloutStageRequest(name=rollout.name, stage=1)
    )
    assert reason(error) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROLLOUT_STAGE_NOT_AWAITING_APPROVAL",
    )

    approved = edge.ApproveRolloutStage(
        pb.ApproveRolloutStageRequest(name=rollout.name, stage=0)
    ).rollout
    assert approved.stages[0].HasField("approve_time")
    eventually(
        lambda: sorted(device_states(edge, rollout.name).values()) == ["DISPATCHED", "PENDING"]
    )
    assert state_of(edge, rollout.name) == "RUNNING"


def test_failed_devices_are_retried_in_a_new_generation(edge, agent, fleet_server):
    # EDG-114, over the fleet's real desired states
    deployment, (device,) = fleet_of(edge, "retry", 1)
    strategy = R.RolloutStrategy(failure_action=R.FAILURE_ACTION_PAUSE)
    rollout = create_rollout(edge, deployment, strategy)
    assigned = eventually(lambda: desired(edge, device, deployment))
    failed_in = generation(edge, device)
    metadata = device_metadata(fleet_server.fleet, device)
    report = reported_attempt(deployment, assigned, failed_in, U.UPDATE_PHASE_FAILED)
    sync_once(agent, metadata, failed_in, report)
    eventually(lambda: state_of(edge, rollout.name) == "PAUSED")
    assert device_states(edge, rollout.name) == {device: "FAILED"}

    error = refused(
        edge.RetryRolloutDevices,
        pb.RetryRolloutDevicesRequest(name=rollout.name, devices=["devices/stranger"]),
    )
    assert reason(error) == (grpc.StatusCode.FAILED_PRECONDITION, "ROLLOUT_DEVICE_NOT_RETRYABLE")
    assert error_info(error).metadata["device"] == "devices/stranger"

    retried = edge.RetryRolloutDevices(pb.RetryRolloutDevicesRequest(name=rollout.name))
    assert list(retried.devices) == [device]
    assert retried.rollout.device_counts.pending_count == 1
    edge.ResumeRollout(pb.ResumeRolloutRequest(name=rollout.name))
    eventually(lambda: device_states(edge, rollout.name) == {device: "DISPATCHED"})
    # The same assignment again, in a higher generation, so the agent tries once more.
    assert desired(edge, device, deployment) == assigned
    assert generation(edge, device) > failed_in


def test_rollback_of_an_active_rollout(edge, agent, fleet_server):
    # EDG-078: without a previous release the devices lose the deployment.
    deployment, (device,) = fleet_of(edge, "rollback", 1)
    rollout = create_rollout(edge, deployment)
    assigned = eventually(lambda: desired(edge, device, deployment))
    metadata = device_metadata(fleet_server.fleet, device)
    gen = generation(edge, device)
    downloading = reported_attempt(deployment, assigned, gen, U.UPDATE_PHASE_DOWNLOADING)
    sync_once(agent, metadata, gen, downloading)
    eventually(lambda: device_states(edge, rollout.name) == {device: "IN_PROGRESS"})
    rolling = edge.RollbackRollout(pb.RollbackRolloutRequest(name=rollout.name)).rollout
    assert rolling.status.state == R.ROLLOUT_STATE_ROLLING_BACK
    assert desired(edge, device, deployment) is None
    error = refused(edge.RetryRolloutDevices, pb.RetryRolloutDevicesRequest(name=rollout.name))
    assert reason(error) == (grpc.StatusCode.FAILED_PRECONDITION, "ROLLOUT_ROLLING_BACK")
    # The device drops the deployment: the rollback is confirmed.
    gen = generation(edge, device)
    sync_once(agent, metadata, gen, U.ReportedState(applied_generation=gen))
    eventually(lambda: state_of(edge, rollout.name) == "ROLLED_BACK")
    assert device_states(edge, rollout.name) == {device: "ROLLED_BACK"}


def test_watch_rollout_ends_with_the_terminal_state(edge):
    deployment, _ = fleet_of(edge, "watch", 1)
    rollout = create_rollout(edge, deployment, approval_first(100))
    stream = edge.WatchRollout(pb.WatchRolloutRequest(name=rollout.name), timeout=20)
    first = next(stream)
    assert first.rollout.name == rollout.name
    edge.AbortRollout(pb.AbortRolloutRequest(name=rollout.name))
    rest = list(stream)
    assert rest[-1].rollout.status.state == R.ROLLOUT_STATE_ABORTED

    error = refused(
        lambda: list(edge.WatchRollout(pb.WatchRolloutRequest(name=f"{deployment}/rollouts/no")))
    )
    assert reason(error) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_NOT_FOUND")


def test_list_rollouts_of_a_deployment_and_of_all(edge):
    deployment, _ = fleet_of(edge, "listing", 0)
    first = create_rollout(edge, deployment, rollout_id="first")
    eventually(lambda: state_of(edge, first.name) == "SUCCEEDED")  # no devices: at once
    second = create_rollout(edge, deployment, approval_first(100), rollout_id="second")
    mine = edge.ListRollouts(pb.ListRolloutsRequest(parent=deployment)).rollouts
    assert [r.name for r in mine] == [second.name, first.name]  # newest first
    active = edge.ListRollouts(
        pb.ListRolloutsRequest(parent="deployments/-", filter="status.state = ROLLOUT_STATE_QUEUED")
    ).rollouts
    assert second.name in [r.name for r in active]
    assert first.name not in [r.name for r in active]
    assert second.previous_release == first.release


def test_deleting_a_deployment_forgets_its_rollouts(edge):
    # EDG-062
    deployment, _ = fleet_of(edge, "deleted", 1)
    rollout = create_rollout(edge, deployment, approval_first(100))
    edge.AbortRollout(pb.AbortRolloutRequest(name=rollout.name))
    edge.DeleteDeployment(pb.DeleteDeploymentRequest(name=deployment))
    error = refused(edge.GetRollout, pb.GetRolloutRequest(name=rollout.name))
    assert reason(error) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_NOT_FOUND")
    everything = edge.ListRollouts(pb.ListRolloutsRequest(parent="deployments/-")).rollouts
    assert rollout.name not in [r.name for r in everything]


def test_a_rollout_continues_after_a_restart(tmp_path):
    """The rollouts live in <data-dir>/edge/rollouts.db; the controller of a restarted server
    picks up an active one."""
    config = ServerConfig(data_dir=tmp_path, services=())

    def serve():
        return hosted(config, hosted_services(open_fleet(config, EdgeConfig())))

    with serve() as address, grpc.insecure_channel(address) as channel:
        edge = pb_grpc.EdgeServiceStub(channel)
        deployment, (device,) = fleet_of(edge, "restart", 1)
        rollout = create_rollout(edge, deployment, approval_first(100))
    with serve() as address, grpc.insecure_channel(address) as channel:
        edge = pb_grpc.EdgeServiceStub(channel)
        assert state_of(edge, rollout.name) == "QUEUED"
        edge.ApproveRolloutStage(pb.ApproveRolloutStageRequest(name=rollout.name, stage=0))
        eventually(lambda: device_states(edge, rollout.name) == {device: "DISPATCHED"})
        assert desired(edge, device, deployment).rollout == rollout.name
