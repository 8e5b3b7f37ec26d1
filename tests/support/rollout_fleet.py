"""An in-memory fleet for unit tests of the edge rollouts (a `RolloutFleet` double), a clock
the test moves, and a small harness that wires Rollouts and RolloutController to them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from google.protobuf import timestamp_pb2

from lepton.edge.v1 import (
    capabilities_pb2,
    device_state_pb2,
    edge_service_pb2,
    release_pb2,
    rollout_pb2,
)
from lepton.type.v1 import artifact_pb2, digest_pb2, error_pb2
from lepton_server.edge.rollout_controller import RolloutController, incompatibility
from lepton_server.edge.rollout_records import AssignedRelease, DeviceProgress, TargetedDevice
from lepton_server.edge.rollouts import Rollouts
from lepton_server.edge.telemetry_store import InferenceSummary

DEPLOYMENT = "deployments/cameras"
START_NS = 1_800_000_000 * 10**9
U = device_state_pb2


class Clock:
    """Time in ns that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = START_NS

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 10**9)


@dataclass
class FakeDevice:
    name: str
    online: bool = True
    capabilities: capabilities_pb2.DeviceCapabilities | None = None
    generation: int = 1
    acknowledged: int = 1
    reported: dict[str, U.ReportedDeployment] = field(default_factory=dict)
    desired: dict[str, AssignedRelease] = field(default_factory=dict)


class FakeFleet:
    """Devices with desired generations, acknowledgements and reports, all set by the test."""

    def __init__(self) -> None:
        self.devices: dict[str, FakeDevice] = {}
        self.targets: dict[str, list[str]] = {}
        self.current: dict[str, release_pb2.ModelRelease | None] = {}
        self.rollout_state: dict[str, tuple[str, bool]] = {}
        self.assign_calls: list[dict[str, AssignedRelease | None]] = []
        self.callbacks: list[Callable[[str], None]] = []

    # --- the RolloutFleet protocol -----------------------------------------------------------

    def targeted_devices(self, deployment: str) -> list[TargetedDevice]:
        return [
            TargetedDevice(name, self.devices[name].capabilities, self.devices[name].online)
            for name in self.targets.get(deployment, [])
        ]

    def assign(
        self, deployment: str, releases: Mapping[str, AssignedRelease | None]
    ) -> dict[str, int]:
        self.assign_calls.append(dict(releases))
        generations = {}
        for name, assigned in releases.items():
            device = self.devices[name]
            if assigned is None:
                device.desired.pop(deployment, None)
            else:
                device.desired[deployment] = assigned
            device.generation += 1
            generations[name] = device.generation
        return generations

    def device_progress(
        self, deployment: str, devices: Collection[str]
    ) -> dict[str, DeviceProgress]:
        return {
            name: DeviceProgress(
                self.devices[name].generation,
                self.devices[name].acknowledged,
                self.devices[name].reported.get(deployment),
                self.devices[name].online,
            )
            for name in devices
        }

    def set_current_release(
        self, deployment: str, release: release_pb2.ModelRelease | None
    ) -> None:
        self.current[deployment] = release
        if release is None:
            return
        for device in self.targeted_devices(deployment):
            held = self.desired(device.name, deployment)
            if held is not None and held.release == release:
                continue
            if incompatibility(release, device) is None:
                self.assign(deployment, {device.name: AssignedRelease(release, "")})

    def set_rollout_state(self, deployment: str, latest_rollout: str, active: bool) -> None:
        self.rollout_state[deployment] = (latest_rollout, active)

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        self.callbacks.append(callback)
        return lambda: self.callbacks.remove(callback)

    # --- what the test does --------------------------------------------------------------------

    def add(self, count: int, *, deployment: str = DEPLOYMENT, **kwargs: object) -> list[str]:
        names = []
        for i in range(count):
            name = f"devices/d{len(self.devices):03d}"
            self.devices[name] = FakeDevice(name, **kwargs)  # type: ignore[arg-type]
            self.targets.setdefault(deployment, []).append(name)
            names.append(name)
            del i
        return names

    def desired(self, name: str, deployment: str = DEPLOYMENT) -> AssignedRelease | None:
        return self.devices[name].desired.get(deployment)

    def ack(self, *names: str) -> None:
        for name in names:
            self.devices[name].acknowledged = self.devices[name].generation
            self._tell(name)

    def report(
        self,
        name: str,
        phase: int,
        *,
        deployment: str = DEPLOYMENT,
        health: int = U.HEALTH_STATE_HEALTHY,
        reason: str = "HEALTH_CHECK_FAILED",
    ) -> None:
        """The device reports its attempt at the release it was assigned; COMMITTED makes
        it the running release."""
        assigned = self.devices[name].desired[deployment]
        release = assigned.release
        entry = U.ReportedDeployment(deployment=deployment, health=health)
        previous = self.devices[name].reported.get(deployment)
        if previous is not None and previous.HasField("running"):
            entry.running.CopyFrom(previous.running)
        entry.last_update.CopyFrom(
            U.UpdateAttempt(
                model_version=release.model_version,
                artifact_digest=release.artifact.digest,
                rollout=assigned.rollout,
                generation=self.devices[name].generation,
                phase=phase,
            )
        )
        if phase in (U.UPDATE_PHASE_FAILED, U.UPDATE_PHASE_ROLLED_BACK):
            entry.last_update.error.CopyFrom(error_pb2.ErrorStatus(code=14, reason=reason))
        if phase == U.UPDATE_PHASE_COMMITTED:
            entry.running.CopyFrom(
                U.InstalledRelease(
                    model_version=release.model_version,
                    artifact_digest=release.artifact.digest,
                    rollout=assigned.rollout,
                )
            )
        self.devices[name].reported[deployment] = entry
        self._tell(name)

    def install(self, *names: str, health: int = U.HEALTH_STATE_HEALTHY) -> None:
        """Acknowledge and commit the assigned release."""
        for name in names:
            self.ack(name)
            self.report(name, U.UPDATE_PHASE_COMMITTED, health=health)

    def converge(self, name: str, deployment: str = DEPLOYMENT) -> None:
        """The device applies its desired state: runs the assigned release, or drops the
        deployment when it has none."""
        self.ack(name)
        assigned = self.devices[name].desired.get(deployment)
        if assigned is None:
            self.devices[name].reported.pop(deployment, None)
        else:
            self.report(name, U.UPDATE_PHASE_COMMITTED, deployment=deployment)

    def _tell(self, name: str) -> None:
        for callback in self.callbacks:
            callback(name)


def release(
    version: int = 1, runtime: str = "onnxruntime", **config: object
) -> release_pb2.ModelRelease:
    data = f"model-{version}".encode()
    return release_pb2.ModelRelease(
        model_version=f"models/detector/versions/{version}",
        artifact=artifact_pb2.ArtifactDescriptor(
            size_bytes=len(data),
            digest=digest_pb2.Digest(
                algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hashlib.sha256(data).hexdigest()
            ),
        ),
        runtime_config=release_pb2.RuntimeConfig(runtime=runtime, **config),  # type: ignore[arg-type]
    )


def validate_release(given: release_pb2.ModelRelease) -> release_pb2.ModelRelease:
    """A stand-in for the release checks: sets the release digest."""
    stored = release_pb2.ModelRelease()
    stored.CopyFrom(given)
    stored.ClearField("release_digest")
    stored.release_digest.algorithm = digest_pb2.DIGEST_ALGORITHM_SHA256
    stored.release_digest.hex = hashlib.sha256(
        stored.SerializeToString(deterministic=True)
    ).hexdigest()
    return stored


class Summary:
    """An inference_summary double: the test sets what telemetry shows, as (count, errors,
    p95 latency in seconds or None)."""

    def __init__(self) -> None:
        self.result: tuple[int, int, float | None] = (0, 0, None)
        self.calls: list[tuple[str, list[str], int]] = []

    def __call__(
        self, rollout: str, devices: Collection[str], since: timestamp_pb2.Timestamp
    ) -> InferenceSummary:
        self.calls.append((rollout, sorted(devices), since.ToNanoseconds()))
        count, errors, p95 = self.result
        return InferenceSummary(count, errors, None if p95 is None else timedelta(seconds=p95))


class Harness:
    """Rollouts and their controller over a FakeFleet and a Clock."""

    def __init__(self, path: Path, *, features: Collection[str] = ()) -> None:
        self.clock = Clock()
        self.fleet = FakeFleet()
        self.summary = Summary()
        self.path = path
        self.rollouts = Rollouts(
            path, self.fleet, validate_release, clock=self.clock, features=features
        )
        self.controller = RolloutController(self.rollouts, self.summary)

    def create(
        self,
        strategy: rollout_pb2.RolloutStrategy | None = None,
        *,
        version: int = 1,
        rollout_id: str = "",
        request_id: str = "",
        deployment: str = DEPLOYMENT,
    ) -> rollout_pb2.Rollout:
        given = rollout_pb2.Rollout(release=release(version))
        if strategy is not None:
            given.strategy.CopyFrom(strategy)
        return self.rollouts.create(
            edge_service_pb2.CreateRolloutRequest(
                parent=deployment, rollout=given, rollout_id=rollout_id, request_id=request_id
            )
        )

    def tick(self, seconds: float = 0) -> rollout_pb2.Rollout | None:
        self.clock.advance(seconds)
        self.controller.tick()
        return None

    def get(self, name: str) -> rollout_pb2.Rollout:
        return self.rollouts.get(name)

    def device_states(self, name: str) -> dict[str, str]:
        statuses, _ = self.rollouts.list_device_statuses(
            edge_service_pb2.ListRolloutDeviceStatusesRequest(parent=name, page_size=1000)
        )
        return {
            s.device: rollout_pb2.RolloutDeviceState.Name(s.state).removeprefix(
                "ROLLOUT_DEVICE_STATE_"
            )
            for s in statuses
        }

    def statuses(self, name: str) -> dict[str, rollout_pb2.RolloutDeviceStatus]:
        statuses, _ = self.rollouts.list_device_statuses(
            edge_service_pb2.ListRolloutDeviceStatusesRequest(parent=name, page_size=1000)
        )
        return {s.device: s for s in statuses}


def state(rollout: rollout_pb2.Rollout) -> str:
    return rollout_pb2.RolloutState.Name(rollout.status.state).removeprefix("ROLLOUT_STATE_")


def history(rollout: rollout_pb2.Rollout) -> list[str]:
    return [
        rollout_pb2.RolloutState.Name(t.state).removeprefix("ROLLOUT_STATE_")
        for t in rollout.status.history
    ]


def stage_states(rollout: rollout_pb2.Rollout) -> list[str]:
    return [
        rollout_pb2.RolloutStageState.Name(s.state).removeprefix("ROLLOUT_STAGE_STATE_")
        for s in rollout.stages
    ]


def percent_stages(*percents: float, **strategy: object) -> rollout_pb2.RolloutStrategy:
    built = rollout_pb2.RolloutStrategy(**strategy)  # type: ignore[arg-type]
    for percent in percents:
        built.stages.add(percent=percent)
    return built
