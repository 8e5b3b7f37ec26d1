"""edge-fleet cases of telemetry health gates: a stage judged by its devices' inference
events (spec/edge.md section 2.5; EDG-074, EDG-115)."""

from __future__ import annotations

import time

import grpc

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import telemetry_pb2
from lepton.type.v1 import error_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.fleet_rig import (
    QUIET_S,
    Fleet,
    R,
    needs_upload,
    servable,
    signed_release,
    state_name,
)
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
DS = R.RolloutDeviceState


def _events(device, deployment: str, rollout: str, *, errors: int, count: int, first: int) -> None:
    """Upload `count` inference events of `rollout` (the first `errors` failed)."""
    records = []
    for i in range(count):
        event = telemetry_pb2.InferenceEvent(
            deployment=deployment, model_version="models/conformance/versions/1"
        )
        event.latency.FromMilliseconds(5)
        if i < errors:
            event.error.CopyFrom(error_pb2.ErrorStatus(code=13, reason="INTERNAL_ERROR"))
        record = telemetry_pb2.TelemetryRecord(
            sequence=first + i, inference=event, deployment=deployment, rollout=rollout
        )
        record.time.GetCurrentTime()
        records.append(record)
    request = agent_pb.UploadTelemetryRequest(
        segments=[agent_pb.TelemetrySegment(stream="inference", boot_id="boot-1", records=records)]
    )
    expect.succeeds(
        lambda: device.agent.call("UploadTelemetry", request, device.enrolled.token),
        "UploadTelemetry",
    )


@CASES.case(FLEET, "rollouts.telemetry-gates-judge-inference-events", "EDG-115", "EDG-074")
def telemetry_gate(ctx: CaseContext) -> None:
    """A gate needing 3 inference events of at most 10 percent errors does not pass on a
    committed device with 2 events, passes once a third arrives (stage telemetry 3 events, 0
    errors); the same gate FAILS the rollout (DO_NOTHING, ROLLOUT_HEALTH_GATE_FAILED) when 2
    of 3 events carry an error."""
    needs_upload(ctx)
    gate = R.HealthGate(telemetry=R.TelemetryGate(max_error_percent=10, min_inference_count=3))
    strategy = R.RolloutStrategy(default_gate=gate, failure_action=R.FAILURE_ACTION_DO_NOTHING)
    for errors, outcome in ((0, R.ROLLOUT_STATE_SUCCEEDED), (2, R.ROLLOUT_STATE_FAILED)):
        with Fleet(ctx, devices=1) as fleet:
            (device,) = fleet.devices
            rollout = fleet.create(signed_release(servable(ctx, fleet.client)), strategy)
            device.install(fleet.deployment, rollout.name)
            if not errors:
                _events(device, fleet.deployment, rollout.name, errors=0, count=2, first=1)
                time.sleep(QUIET_S)
                expect.equal(
                    state_name(fleet.rollout(rollout.name).status.state),
                    "RUNNING",
                    "the state with 2 of 3 inference events",
                )
                _events(device, fleet.deployment, rollout.name, errors=0, count=1, first=3)
            else:
                _events(device, fleet.deployment, rollout.name, errors=errors, count=3, first=1)
            done = fleet.reaches(rollout.name, outcome)
            summary = done.stages[0].telemetry
            expect.equal(
                (summary.inference_count, summary.error_count),
                (3, errors),
                "stage 0's telemetry (inference_count, error_count)",
            )
            if errors:
                expect.equal(done.status.error.reason, "ROLLOUT_HEALTH_GATE_FAILED", "error")
