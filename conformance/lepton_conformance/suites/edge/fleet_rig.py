"""What the edge-fleet cases of rollouts, artifacts and telemetry build on: the suite's own
servable artifact (the conformance model identity_fp32.onnx, uploaded with UploadArtifact;
spec/edge.md section 7), signed releases of it (section 2.9), devices the suite plays itself
(registered with their own Ed25519 keys, each holding a Sync stream on which it acknowledges
desired states and reports update attempts, as an agent would), and rollout reads."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

import grpc
import onnx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import duration_pb2

from lepton.edge.v1 import (
    artifact_upload_pb2,
    deployment_pb2,
    device_state_pb2,
    release_pb2,
    rollout_pb2,
)
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.type.v1 import artifact_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.edge.edge_client import (
    SERVICE,
    AgentClient,
    Enrolled,
    FleetClient,
    enrol,
    eventually,
    sha256_digest,
    unique_id,
)
from lepton_conformance.suites.edge.release_signatures import sign
from lepton_conformance.suites.edge.sync_driver import SyncStream, hello
from lepton_conformance.suites.inference.model_set import identity

ARTIFACT_UPLOAD = "edge.artifact_upload"
TELEMETRY_QUERY = "edge.telemetry_query"
# The publisher key of this run's releases: the server checks that signatures verify but
# decides no trust (EDG-104), so any key will do.
SIGNING_KEY = Ed25519PrivateKey.generate()
KEY_ID = "lepton-conformance"
U = device_state_pb2
R = rollout_pb2
HEALTHY = U.HEALTH_STATE_HEALTHY
UNHEALTHY = U.HEALTH_STATE_UNHEALTHY
# How long a case watches for something not to happen.
QUIET_S = 1.2


@functools.cache
def conformance_model() -> bytes:
    """The bytes of identity_fp32.onnx, the artifact the suite rolls out."""
    return identity(onnx.TensorProto.FLOAT, "identity_fp32").SerializeToString()


def descriptor(data: bytes) -> artifact_pb2.ArtifactDescriptor:
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(data), digest=sha256_digest(data), media_type="application/octet-stream"
    )


def upload_stream(
    header: artifact_pb2.ArtifactDescriptor | None,
    chunks: Iterable[tuple[int, bytes]],
    request: type = pb.UploadArtifactRequest,
) -> list[Any]:
    """The messages of an UploadArtifact (or UploadBlob) stream: `header` first (none when
    None), then one chunk per (offset, data)."""
    messages = []
    if header is not None:
        messages.append(request(header=artifact_upload_pb2.ArtifactUploadHeader(artifact=header)))
    messages += [request(chunk=artifact_pb2.ArtifactChunk(offset=o, data=d)) for o, d in chunks]
    return messages


def upload(fleet: FleetClient, data: bytes) -> pb.UploadArtifactResponse:
    """UploadArtifact of `data` in one chunk, which must succeed."""
    messages = upload_stream(descriptor(data), [(0, data)])
    return fleet.ok("UploadArtifact", iter(messages))


def needs_upload(ctx: CaseContext) -> None:
    """A case that rolls out the suite's artifact can run only where the suite can upload it:
    otherwise it is skipped (the run is INCOMPLETE, never a pass)."""
    if not ctx.info.has_feature(SERVICE, ARTIFACT_UPLOAD):
        raise Skipped(
            "the suite uploads its servable artifact with UploadArtifact, which the target "
            "does not list",
            needs=f"feature {ARTIFACT_UPLOAD}",
        )


def servable(ctx: CaseContext, fleet: FleetClient) -> artifact_pb2.ArtifactDescriptor:
    """The conformance model, uploaded (or already stored): an artifact the target serves."""
    needs_upload(ctx)
    data = conformance_model()
    upload(fleet, data)
    return descriptor(data)


def unsigned_release(
    artifact: artifact_pb2.ArtifactDescriptor, version: int = 1, **fields: Any
) -> release_pb2.ModelRelease:
    """A release of `artifact` without digest or signature: an ONNX model for onnxruntime
    that skips the inference test (the suite's devices run nothing)."""
    release = release_pb2.ModelRelease(
        model_version=f"models/conformance/versions/{version}",
        artifact=artifact,
        runtime_config=release_pb2.RuntimeConfig(runtime="onnxruntime"),
        **fields,
    )
    release.health_check.skip_inference_test = True
    return release


def signed_release(
    artifact: artifact_pb2.ArtifactDescriptor, version: int = 1, **fields: Any
) -> release_pb2.ModelRelease:
    """A release of `artifact` with its release digest and this run's signature."""
    return sign(unsigned_release(artifact, version, **fields), SIGNING_KEY, KEY_ID)


def seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(int(value * 1e9))
    return duration


def stages(*percents: float, **gate: Any) -> list[R.RolloutStage]:
    """Percent stages, each with the gate `gate` (HealthGate fields) when given."""
    return [
        R.RolloutStage(percent=p, gate=R.HealthGate(**gate) if gate else None) for p in percents
    ]


class PlayedDevice:
    """A device the suite plays: created on the fleet, registered with its own key, and
    holding one Sync stream on which it takes desired states, acknowledges them and reports
    its update attempts (spec/edge.md 2.3 and 2.4), as an agent would. Close it (or use it in
    a `with` block) to end the stream."""

    def __init__(self, fleet: FleetClient, agent: AgentClient, **fields: Any) -> None:
        self.agent = agent
        self.enrolled: Enrolled = enrol(fleet, agent, **fields)
        self.stream = SyncStream(agent, self.enrolled.token, hello())
        _, self.desired = self.stream.opened()

    @property
    def name(self) -> str:
        return self.enrolled.name

    def __enter__(self) -> PlayedDevice:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.stream.close()

    def take(self, until: Callable[[U.DesiredState], bool], what: str) -> U.DesiredState:
        """The first desired state the server sends (or sent) for which `until` holds."""
        while not until(self.desired):
            try:
                self.desired = self.stream.next_of("desired_state")
            except Failed as failed:
                raise Failed(f"{self.name}: {what}", failed.got) from None
        return self.desired

    def assigned(self, deployment: str) -> U.DesiredDeployment | None:
        """The entry of the latest desired state for `deployment`, if any."""
        return next((d for d in self.desired.deployments if d.deployment == deployment), None)

    def take_rollout(self, deployment: str, rollout: str) -> U.DesiredDeployment:
        """Wait until the desired state assigns `deployment` from `rollout`; that entry."""

        def handed(state: U.DesiredState) -> bool:
            return any(
                d.deployment == deployment and d.rollout == rollout for d in state.deployments
            )

        self.take(handed, f"a desired state handing {deployment} from {rollout}")
        return self.assigned(deployment)

    def ack(self) -> None:
        """Acknowledge the latest desired state."""
        self.stream.send(
            agent_pb.SyncRequest(
                desired_state_ack=agent_pb.DesiredStateAck(generation=self.desired.generation)
            )
        )

    def report(
        self,
        deployment: str,
        phase: int,
        health: int = HEALTHY,
        running: U.DesiredDeployment | None = None,
    ) -> None:
        """A complete reported state: the attempt at the desired `deployment` entry in
        `phase` (COMMITTED makes it the running release), the `running` release otherwise."""
        entry = self.assigned(deployment)
        wanted = entry.release
        reported = U.ReportedDeployment(deployment=deployment, health=health)
        reported.last_update.CopyFrom(
            U.UpdateAttempt(
                model_version=wanted.model_version,
                artifact_digest=wanted.artifact.digest,
                rollout=entry.rollout,
                generation=self.desired.generation,
                phase=phase,
            )
        )
        committed = entry if phase == U.UPDATE_PHASE_COMMITTED else running
        if committed is not None:
            reported.running.model_version = committed.release.model_version
            reported.running.artifact_digest.CopyFrom(committed.release.artifact.digest)
            reported.running.rollout = committed.rollout
        applied = self.desired.generation if phase in FINAL_PHASES else 0
        self.send_state(U.ReportedState(applied_generation=applied, deployments=[reported]))

    def report_running(self, deployment: str, running: U.DesiredDeployment | None) -> None:
        """A reported state with `running` committed for `deployment` (nothing at all when
        None) and no attempt in flight, as after a rollback."""
        entries = []
        if running is not None:
            entry = U.ReportedDeployment(deployment=deployment, health=HEALTHY)
            entry.running.model_version = running.release.model_version
            entry.running.artifact_digest.CopyFrom(running.release.artifact.digest)
            entry.running.rollout = running.rollout
            entries.append(entry)
        state = U.ReportedState(applied_generation=self.desired.generation, deployments=entries)
        self.send_state(state)

    def send_state(self, state: U.ReportedState) -> None:
        self.stream.send(agent_pb.SyncRequest(reported_state=state))

    def install(self, deployment: str, rollout: str, health: int = HEALTHY) -> None:
        """Take the rollout's release, acknowledge it and commit it."""
        self.take_rollout(deployment, rollout)
        self.ack()
        self.report(deployment, U.UPDATE_PHASE_COMMITTED, health)

    def fail(self, deployment: str, rollout: str) -> None:
        """Take the rollout's release, acknowledge it and report the attempt FAILED."""
        self.take_rollout(deployment, rollout)
        self.ack()
        self.report(deployment, U.UPDATE_PHASE_FAILED)


FINAL_PHASES = (U.UPDATE_PHASE_COMMITTED, U.UPDATE_PHASE_FAILED, U.UPDATE_PHASE_ROLLED_BACK)


class Fleet:
    """One case's fleet: the operator's client, played devices sharing a label, and a
    deployment targeting them. Use it in a `with` block: streams close and everything the
    case created is removed."""

    def __init__(self, ctx: CaseContext, devices: int = 0) -> None:
        self.ctx = ctx
        self.client = FleetClient(ctx)
        self.agent = AgentClient(ctx)
        self.run = unique_id("run")
        self.devices: list[PlayedDevice] = []
        self.deployment = self.client.create_deployment(
            target=deployment_pb2.DeviceTarget(match_labels={"conf-run": self.run})
        ).name
        for _ in range(devices):
            self.add_device()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *_: object) -> None:
        for device in self.devices:
            device.close()
        with contextlib.suppress(grpc.RpcError, Failed):
            listed = pb.ListRolloutsRequest(parent=self.deployment)
            for rollout in self.client.walk("ListRollouts", listed):
                if rollout.status.state in ACTIVE:
                    self.client.call("AbortRollout", pb.AbortRolloutRequest(name=rollout.name))
        self.client.__exit__()

    def add_device(self, **fields: Any) -> PlayedDevice:
        labels = {"conf-run": self.run, **fields.pop("labels", {})}
        device = PlayedDevice(self.client, self.agent, labels=labels, **fields)
        self.devices.append(device)
        return device

    def create(
        self,
        release: release_pb2.ModelRelease,
        strategy: R.RolloutStrategy | None = None,
        **request: Any,
    ) -> R.Rollout:
        """CreateRollout of `release` on the deployment, which must succeed."""
        rollout = R.Rollout(release=release, strategy=strategy)
        created = self.client.ok(
            "CreateRollout",
            pb.CreateRolloutRequest(parent=self.deployment, rollout=rollout, **request),
        )
        return created.rollout

    def rollout(self, name: str) -> R.Rollout:
        return self.client.ok("GetRollout", pb.GetRolloutRequest(name=name)).rollout

    def until(self, name: str, holds: Callable[[R.Rollout], bool], what: str) -> R.Rollout:
        """The rollout once `holds` of it, within the prompt limit."""
        return eventually(lambda: self.rollout(name), holds, f"{name}: {what}")

    def reaches(self, name: str, state: int) -> R.Rollout:
        return self.until(
            name, lambda r: r.status.state == state, f"state {R.RolloutState.Name(state)}"
        )

    def statuses(self, name: str) -> dict[str, R.RolloutDeviceStatus]:
        request = pb.ListRolloutDeviceStatusesRequest(parent=name)
        return {s.device: s for s in self.client.walk("ListRolloutDeviceStatuses", request)}

    def device_states(self, name: str) -> dict[str, int]:
        return {device: status.state for device, status in self.statuses(name).items()}

    def devices_reach(
        self, name: str, wanted: dict[str, int], what: str
    ) -> dict[str, R.RolloutDeviceStatus]:
        """Wait until every device of `wanted` is in its state in the rollout."""
        return eventually(
            lambda: self.statuses(name),
            lambda got: all(d in got and got[d].state == state for d, state in wanted.items()),
            f"{name}: {what}",
        )

    def handed(self, deployment: str, rollout: str) -> list[str]:
        """The devices whose desired state (as GetDevice shows it) names `rollout`."""
        names = []
        for device in self.devices:
            state = self.client.device(device.name).desired_state
            if any(d.deployment == deployment and d.rollout == rollout for d in state.deployments):
                names.append(device.name)
        return names


ACTIVE = (
    R.ROLLOUT_STATE_QUEUED,
    R.ROLLOUT_STATE_RUNNING,
    R.ROLLOUT_STATE_PAUSED,
)
TERMINAL = (
    R.ROLLOUT_STATE_SUCCEEDED,
    R.ROLLOUT_STATE_FAILED,
    R.ROLLOUT_STATE_ABORTED,
    R.ROLLOUT_STATE_ROLLED_BACK,
)


def state_name(state: int) -> str:
    return R.RolloutState.Name(state).removeprefix("ROLLOUT_STATE_")


def hands_exactly(fleet: Fleet, deployment: str, rollout: str, handed: int, what: str) -> None:
    """For QUIET_S, exactly `handed` devices have the rollout's release in their desired
    state."""
    deadline = time.monotonic() + QUIET_S
    while time.monotonic() < deadline:
        got = fleet.handed(deployment, rollout)
        expect.equal(len(got), handed, f"devices handed {rollout} {what}")
        time.sleep(0.1)


def succeed_once(fleet: Fleet, version: int, artifact) -> R.Rollout:
    """A rollout of `version` that every device of the fleet installs: SUCCEEDED."""
    rollout = fleet.create(signed_release(artifact, version))
    for device in fleet.devices:
        device.install(fleet.deployment, rollout.name)
    return fleet.reaches(rollout.name, R.ROLLOUT_STATE_SUCCEEDED)
