"""Desired states (spec/edge.md 2.2, 2.5): which devices a deployment targets, the
per-(device, deployment) assignments, and each device's desired state computed from them.

`DesiredStates` keeps assignments in line with targeting (a device that becomes targeted
gets the deployment's current release without a rollout; one that stops being targeted
loses the deployment) and recomputes a device's DesiredState whenever an assignment changes,
bumping its generation only when the serialized list of desired deployments differs
(EDG-033). `FleetAssignments` is the face the rollout controller uses."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from lepton.edge.v1 import (
    capabilities_pb2,
    deployment_pb2,
    device_pb2,
    device_state_pb2,
    release_pb2,
)
from lepton_server.aip.standard_fields import new_etag, now_ns, timestamp
from lepton_server.edge.device_events import Change, DeviceEvents
from lepton_server.edge.fleet_database import DeviceRow, FleetDatabase
from lepton_server.edge.rollout_records import AssignedRelease, DeviceProgress, TargetedDevice

APPROVED = device_pb2.DEVICE_APPROVAL_STATE_APPROVED
ONLINE = device_pb2.DEVICE_CONNECTION_STATE_ONLINE


def is_targeted(target: deployment_pb2.DeviceTarget, device: device_pb2.Device) -> bool:
    """Whether `target` selects `device` (EDG-060): it is APPROVED and named, or every device
    is targeted, or every entry of a non-empty match_labels equals its label."""
    if device.approval_state != APPROVED:
        return False
    if target.all_devices or device.name in target.devices:
        return True
    labels = target.match_labels
    return bool(labels) and all(device.labels.get(k) == v for k, v in labels.items())


def is_compatible(
    capabilities: capabilities_pb2.DeviceCapabilities, release: release_pb2.ModelRelease
) -> bool:
    """Whether a device with `capabilities` can run `release` (spec/edge.md 2.5,
    "Compatibility"). A device that reported no runtimes is compatible."""
    if not capabilities.runtimes:
        return True
    config = release.runtime_config
    runtime = next((r for r in capabilities.runtimes if r.name == config.runtime), None)
    if runtime is None:
        return False
    if not config.precision:
        return True
    named = set(config.execution_providers)
    providers = [p for p in runtime.execution_providers if not named or p.name in named]
    # Incompatible only when every such provider states its precisions and none has it.
    return not providers or any(
        not p.precisions or config.precision in p.precisions for p in providers
    )


def same_release(a: release_pb2.ModelRelease, b: release_pb2.ModelRelease) -> bool:
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


class DesiredStates:
    """Assignments and desired states, kept in the fleet database."""

    def __init__(self, db: FleetDatabase, events: DeviceEvents) -> None:
        self.db = db
        self.events = events

    # --- desired state -----------------------------------------------------------------------

    def recompute(self, device: str, *, redispatch: bool = False) -> int:
        """Recompute `device`'s desired state from its assignments; returns its generation,
        raised only when the list of desired deployments changed (EDG-033), or with
        `redispatch` also when it did not: a retried device gets its release again in a new
        generation, so that its agent tries once more (EDG-114)."""
        with self.db.atomic():
            row = self.db.device(device)
            if row is None:
                return 0
            wanted: list[device_state_pb2.DesiredDeployment] = []
            if row.device.approval_state == APPROVED:
                for assignment in self.db.assignments_of_device(device):
                    deployment = self.db.deployment(assignment.deployment)
                    if deployment is None:
                        continue
                    desired = device_state_pb2.DesiredDeployment()
                    desired.CopyFrom(assignment)
                    for entry in deployment.parameter_overrides:
                        if entry.device == device:
                            desired.parameter_overrides.update(entry.parameters)
                    wanted.append(desired)
            state = row.device.desired_state
            if not redispatch and _serialized(wanted) == _serialized(state.deployments):
                return state.generation
            state.generation += 1
            del state.deployments[:]
            state.deployments.extend(wanted)
            state.update_time.CopyFrom(timestamp(now_ns()))
            self.db.put_device(row)
            self.db.after_commit(lambda: self.events.emit(device, Change.DESIRED_STATE))
            return state.generation

    # --- targeting ---------------------------------------------------------------------------

    def retarget_device(self, device: str) -> None:
        """After `device`'s labels or approval changed: give it every deployment that targets
        it now, take away every one that does not."""
        with self.db.atomic():
            row = self.db.device(device)
            if row is None:
                return
            held = {a.deployment for a in self.db.assignments_of_device(device)}
            for deployment in self.db.deployments():
                self._retarget(row, deployment, deployment.name in held)
            self.recompute(device)

    def retarget_deployment(self, deployment: deployment_pb2.Deployment) -> None:
        """After `deployment` was created or its target or parameter overrides changed."""
        with self.db.atomic():
            held = self.db.assignments_of_deployment(deployment.name)
            for row in self.db.devices():
                self._retarget(row, deployment, row.device.name in held)
                self.recompute(row.device.name)

    def remove_deployment(self, deployment: str) -> None:
        """Take a deleted deployment out of every desired state."""
        with self.db.atomic():
            for device in self.db.assignments_of_deployment(deployment):
                self.db.delete_assignment(device, deployment)
                self.recompute(device)

    def _retarget(self, row: DeviceRow, deployment: deployment_pb2.Deployment, held: bool) -> None:
        device = row.device
        targeted = is_targeted(deployment.target, device)
        if held and not targeted:
            self.db.delete_assignment(device.name, deployment.name)
        elif (
            targeted
            and not held
            and deployment.HasField("current_release")
            and is_compatible(device.capabilities, deployment.current_release)
        ):
            assignment = device_state_pb2.DesiredDeployment(deployment=deployment.name)
            assignment.release.CopyFrom(deployment.current_release)
            self.db.put_assignment(device.name, assignment)

    def targeted_rows(self, deployment: deployment_pb2.Deployment) -> list[DeviceRow]:
        """The stored devices `deployment` targets now, in name order."""
        return [row for row in self.db.devices() if is_targeted(deployment.target, row.device)]


def _serialized(deployments: Sequence[device_state_pb2.DesiredDeployment]) -> list[bytes]:
    return [d.SerializeToString(deterministic=True) for d in deployments]


# --- the rollout controller's view ------------------------------------------------------------


class FleetAssignments:
    """The fleet as the rollout controller sees and changes it. Deployments are named
    "deployments/{deployment}", devices "devices/{device}". Every method may be called from
    any thread; each change is one transaction."""

    def __init__(self, desired: DesiredStates) -> None:
        self._desired = desired
        self._db = desired.db

    def targeted_devices(self, deployment: str) -> list[TargetedDevice]:
        """The devices `deployment` targets now (APPROVED and selected), in name order; empty
        when the deployment does not exist."""
        found = self._db.deployment(deployment)
        if found is None:
            return []
        now = now_ns()
        return [
            TargetedDevice(row.device.name, row.device.capabilities, _online(row, now))
            for row in self._desired.targeted_rows(found)
        ]

    def assign(
        self, deployment: str, releases: Mapping[str, AssignedRelease | None]
    ) -> dict[str, int]:
        """Set (or, with None, remove) each named device's assignment for `deployment` and
        recompute its desired state; returns each device's desired generation afterwards,
        raised also when the assignment is the one it had (a retry, EDG-114). Devices that
        do not exist are left out of the result. The caller checks compatibility; an
        assignment to a device that is not APPROVED is stored but never desired."""
        generations: dict[str, int] = {}
        with self._db.atomic():
            for device, assigned in releases.items():
                if self._db.device(device) is None:
                    continue
                if assigned is None:
                    self._db.delete_assignment(device, deployment)
                else:
                    entry = device_state_pb2.DesiredDeployment(
                        deployment=deployment, rollout=assigned.rollout
                    )
                    entry.release.CopyFrom(assigned.release)
                    entry.install_windows.extend(assigned.install_windows)
                    self._db.put_assignment(device, entry)
                generations[device] = self._desired.recompute(device, redispatch=True)
        return generations

    def device_progress(
        self, deployment: str, devices: Collection[str]
    ) -> dict[str, DeviceProgress]:
        """Each named device's progress for `deployment`; devices that do not exist are left
        out."""
        now = now_ns()
        progress: dict[str, DeviceProgress] = {}
        for name in devices:
            row = self._db.device(name)
            if row is None:
                continue
            device = row.device
            reported = next(
                (d for d in device.reported_state.deployments if d.deployment == deployment), None
            )
            progress[name] = DeviceProgress(
                desired_generation=device.desired_state.generation,
                acknowledged_generation=device.acknowledged_generation,
                reported=reported,
                online=_online(row, now),
            )
        return progress

    def set_current_release(
        self, deployment: str, release: release_pb2.ModelRelease | None
    ) -> None:
        """Make `release` the deployment's current_release (None clears it). Every targeted,
        compatible device whose assignment is not this release then gets it without a rollout
        (spec/edge.md 2.5: a rollout that SUCCEEDS); devices already holding it keep their
        assignment and rollout name. Clearing changes no assignment."""
        with self._db.atomic():
            found = self._db.deployment(deployment)
            if found is None:
                return
            if release is None:
                found.ClearField("current_release")
            else:
                found.current_release.CopyFrom(release)
            _touch(found)
            self._db.put_deployment(found)
            if release is None:
                return
            held = self._db.assignments_of_deployment(deployment)
            for row in self._desired.targeted_rows(found):
                name = row.device.name
                current = held.get(name)
                if current is not None and same_release(current.release, release):
                    continue
                if not is_compatible(row.device.capabilities, release):
                    continue
                entry = device_state_pb2.DesiredDeployment(deployment=deployment)
                entry.release.CopyFrom(release)
                self._db.put_assignment(name, entry)
                self._desired.recompute(name)

    def set_rollout_state(self, deployment: str, latest_rollout: str, active: bool) -> None:
        """Record the deployment's latest rollout and whether it is active (QUEUED, RUNNING,
        PAUSED or ROLLING_BACK); DeleteDeployment refuses while it is (ROLLOUT_IN_PROGRESS)."""
        with self._db.atomic():
            found = self._db.deployment(deployment)
            if found is None:
                return
            if found.latest_rollout == latest_rollout and found.rollout_active == active:
                return
            found.latest_rollout = latest_rollout
            found.rollout_active = active
            _touch(found)
            self._db.put_deployment(found)

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(device name)` whenever a device's acknowledgement, reported state,
        connection, labels, approval or desired state changes, or it is decommissioned or
        deleted, so a controller can wake. Called on the thread that made the change; keep it
        short (set an event). Returns how to unsubscribe."""
        relevant = {
            Change.ACKNOWLEDGED,
            Change.REPORTED_STATE,
            Change.CONNECTED,
            Change.OPERATOR_FIELDS,
            Change.APPROVAL,
            Change.DECOMMISSIONED,
            Change.DELETED,
            Change.DESIRED_STATE,
        }
        return self._desired.events.listen(
            lambda device, change: callback(device) if change in relevant else None
        )


def _online(row: DeviceRow, now: int) -> bool:
    return row.connection_state(now) == ONLINE


def _touch(deployment: deployment_pb2.Deployment) -> None:
    deployment.update_time.CopyFrom(timestamp(now_ns()))
    deployment.etag = new_etag()
