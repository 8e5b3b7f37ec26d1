"""edge-fleet cases of which devices a rollout reaches: incompatible devices left alone, and
the current release following the deployment's targeting after a rollout (spec/edge.md
section 2.5; EDG-033, EDG-034, EDG-061, EDG-068, EDG-075)."""

from __future__ import annotations

import grpc

from lepton.edge.v1 import device_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.fleet_rig import (
    Fleet,
    R,
    servable,
    signed_release,
    succeed_once,
)
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
DS = R.RolloutDeviceState


@CASES.case(FLEET, "rollouts.incompatible-devices-are-left-alone", "EDG-068", "EDG-075")
def incompatible(ctx: CaseContext) -> None:
    """A device whose capabilities list only tflite is INCOMPATIBLE with an onnxruntime
    release (error DEVICE_INCOMPATIBLE), keeps its desired state and does not hold the gate:
    the rollout SUCCEEDS with the compatible device. A rollout of a deployment that targets
    no device SUCCEEDS promptly."""
    with Fleet(ctx, devices=1) as fleet:
        artifact = servable(ctx, fleet.client)
        other = fleet.add_device(runtime="tflite")
        generation = fleet.client.device(other.name).desired_state.generation
        rollout = fleet.create(signed_release(artifact))
        fleet.devices[0].install(fleet.deployment, rollout.name)
        done = fleet.reaches(rollout.name, R.ROLLOUT_STATE_SUCCEEDED)
        status = fleet.statuses(rollout.name)[other.name]
        expect.equal(
            (status.state, status.error.reason),
            (DS.ROLLOUT_DEVICE_STATE_INCOMPATIBLE, "DEVICE_INCOMPATIBLE"),
            "the tflite device's (state, error reason)",
        )
        expect.equal(
            fleet.client.device(other.name).desired_state.generation,
            generation,
            "the incompatible device's desired generation",
        )
        expect.equal(done.device_counts.incompatible_count, 1, "incompatible_count")
    with Fleet(ctx) as fleet:
        rollout = fleet.create(signed_release(artifact))
        fleet.reaches(rollout.name, R.ROLLOUT_STATE_SUCCEEDED)


@CASES.case(
    FLEET,
    "rollouts.the-current-release-follows-targeting",
    "EDG-061",
    "EDG-033",
    "EDG-034",
)
def current_release(ctx: CaseContext) -> None:
    """After a rollout SUCCEEDED, a device whose labels come to match the deployment is sent
    a desired state of a higher generation with the current release and no rollout; when its
    labels stop matching, and again when the deployment is deleted, it is sent one of a
    higher generation without the deployment."""
    with Fleet(ctx, devices=1) as fleet:
        done = succeed_once(fleet, 1, servable(ctx, fleet.client))
        deployment = fleet.deployment
        other = fleet.add_device(labels={"conf-run": "outside"})

        def relabel(run: str) -> None:
            changed = device_pb2.Device(name=other.name, labels={"conf-run": run})
            fleet.client.update_device(changed, "labels")

        def gains() -> None:
            before = other.desired.generation
            state = other.take(
                lambda s: any(d.deployment == deployment for d in s.deployments),
                "a desired state with the current release once targeted",
            )
            entry = other.assigned(deployment)
            expect.equal(
                (entry.release, entry.rollout), (done.release, ""), "(release, rollout) assigned"
            )
            expect.holds(state.generation > before, "a higher generation", str(state.generation))

        def loses(what: str) -> None:
            before = other.desired.generation
            state = other.take(
                lambda s: all(d.deployment != deployment for d in s.deployments), what
            )
            expect.holds(state.generation > before, "a higher generation", str(state.generation))

        relabel(fleet.run)
        gains()
        relabel("outside")
        loses("a desired state without the deployment once untargeted")
        relabel(fleet.run)
        gains()
        fleet.client.ok("DeleteDeployment", pb.DeleteDeploymentRequest(name=deployment))
        loses("a desired state without the deleted deployment")
