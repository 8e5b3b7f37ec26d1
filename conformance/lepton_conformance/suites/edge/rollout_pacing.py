"""edge-fleet cases of when a rollout's devices are handed the release: approval between
stages, retry of failed devices, a scheduled start, and the optional update windows and
dispatch rate (spec/edge.md section 2.5; EDG-085, EDG-086, EDG-111, EDG-112, EDG-114)."""

from __future__ import annotations

import datetime as dt
import time

import grpc
from google.protobuf import timestamp_pb2

from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import update_window_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import SERVICE, eventually
from lepton_conformance.suites.edge.fleet_rig import (
    Fleet,
    R,
    U,
    hands_exactly,
    servable,
    signed_release,
    state_name,
)
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
DS = R.RolloutDeviceState
WINDOWS = "edge.update_windows"
RATE = "edge.rollout_rate"


@CASES.case(FLEET, "rollouts.approval-and-retry", "EDG-112", "EDG-114", "EDG-111")
def approval_retry(ctx: CaseContext) -> None:
    """A first stage requiring approval (gate: 2 of 3 devices healthy) waits
    AWAITING_APPROVAL (QUEUED, nothing dispatched)
    until ApproveRolloutStage sets approve_time; an index out of range is INVALID_FIELD, a
    stage that needs no approval ROLLOUT_STAGE_NOT_AWAITING_APPROVAL. RetryRolloutDevices
    refuses a device that is not FAILED (ROLLOUT_DEVICE_NOT_RETRYABLE), then returns the
    FAILED one, which is dispatched again in a higher generation and can still succeed. A
    start_time an hour ahead keeps a rollout QUEUED with nothing dispatched; one a minute ago
    starts at once."""
    with Fleet(ctx, devices=3) as fleet:
        artifact = servable(ctx, fleet.client)
        strategy = R.RolloutStrategy(
            stages=[R.RolloutStage(percent=100, require_approval=True)],
            default_gate=R.HealthGate(min_healthy_percent=50),
        )
        rollout = fleet.create(signed_release(artifact), strategy)
        name, deployment = rollout.name, fleet.deployment
        waiting = fleet.until(
            name,
            lambda r: r.stages and r.stages[0].state == R.ROLLOUT_STAGE_STATE_AWAITING_APPROVAL,
            "stage 0 AWAITING_APPROVAL",
        )
        expect.equal(state_name(waiting.status.state), "QUEUED", "the waiting rollout's state")
        hands_exactly(fleet, deployment, name, 0, "before the approval")
        expect.rejects(
            lambda: fleet.client.call(
                "ApproveRolloutStage", pb.ApproveRolloutStageRequest(name=name, stage=5)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
        )
        approved = fleet.client.ok(
            "ApproveRolloutStage", pb.ApproveRolloutStageRequest(name=name, stage=0)
        ).rollout
        expect.holds(approved.stages[0].HasField("approve_time"), "approve_time set", "unset")
        a, b, c = fleet.devices
        for waiting in (b, c):
            waiting.take_rollout(deployment, name)
            waiting.ack()
        a.fail(deployment, name)
        before = a.desired.generation
        fleet.devices_reach(name, {a.name: DS.ROLLOUT_DEVICE_STATE_FAILED}, "A FAILED")
        expect.rejects(
            lambda: fleet.client.call(
                "RetryRolloutDevices", pb.RetryRolloutDevicesRequest(name=name, devices=[b.name])
            ),
            PRECONDITION,
            "ROLLOUT_DEVICE_NOT_RETRYABLE",
            metadata={"device": b.name},
        )
        retried = fleet.client.ok("RetryRolloutDevices", pb.RetryRolloutDevicesRequest(name=name))
        expect.equal(list(retried.devices), [a.name], "the devices RetryRolloutDevices returns")
        a.take(lambda s: s.generation > before, "a desired generation above the failed one")
        a.install(deployment, name)
        b.report(deployment, U.UPDATE_PHASE_COMMITTED)
        fleet.reaches(name, R.ROLLOUT_STATE_SUCCEEDED)
        expect.equal(
            fleet.statuses(name)[a.name].state,
            DS.ROLLOUT_DEVICE_STATE_SUCCEEDED,
            "the retried device's state",
        )
        expect.rejects(
            lambda: fleet.client.call(
                "ApproveRolloutStage", pb.ApproveRolloutStageRequest(name=name, stage=0)
            ),
            PRECONDITION,
            "JOB_ALREADY_FINISHED",
        )
    with Fleet(ctx, devices=1) as fleet:
        later = timestamp_pb2.Timestamp(seconds=int(time.time()) + 3600)
        rollout = fleet.create(signed_release(artifact), R.RolloutStrategy(start_time=later))
        expect.rejects(
            lambda: fleet.client.call(
                "ApproveRolloutStage", pb.ApproveRolloutStageRequest(name=rollout.name, stage=0)
            ),
            PRECONDITION,
            "ROLLOUT_STAGE_NOT_AWAITING_APPROVAL",
        )
        hands_exactly(fleet, fleet.deployment, rollout.name, 0, "before its start_time")
        expect.equal(
            state_name(fleet.rollout(rollout.name).status.state), "QUEUED", "before start_time"
        )
        fleet.client.ok("AbortRollout", pb.AbortRolloutRequest(name=rollout.name))
        earlier = timestamp_pb2.Timestamp(seconds=int(time.time()) - 60)
        started = fleet.create(signed_release(artifact, 2), R.RolloutStrategy(start_time=earlier))
        fleet.devices[0].take_rollout(fleet.deployment, started.name)


@CASES.case(FLEET, "rollouts.update-windows-hold-dispatch", "EDG-086")
def update_windows(ctx: CaseContext) -> None:
    """With edge.update_windows, a rollout whose only window (daily, in UTC) opens in three
    hours stays QUEUED with nothing dispatched, next_update_window_time at that opening; one
    whose window opened five minutes ago dispatches at once and SUCCEEDS, without
    next_update_window_time."""
    ctx.require_feature(SERVICE, WINDOWS)
    now = dt.datetime.now(dt.UTC)
    with Fleet(ctx, devices=1) as fleet:
        artifact = servable(ctx, fleet.client)
        opens = (now + dt.timedelta(hours=3)).replace(second=0, microsecond=0)
        closed = R.RolloutStrategy(update_windows=[_daily(opens, minutes=10)])
        rollout = fleet.create(signed_release(artifact), closed)
        hands_exactly(fleet, fleet.deployment, rollout.name, 0, "outside its update windows")
        waiting = fleet.rollout(rollout.name)
        expect.equal(state_name(waiting.status.state), "QUEUED", "the waiting rollout's state")
        given = waiting.next_update_window_time.ToDatetime(dt.UTC)
        expect.holds(
            waiting.HasField("next_update_window_time") and abs(given - opens).total_seconds() < 1,
            f"next_update_window_time {opens.isoformat()}",
            given.isoformat() if waiting.HasField("next_update_window_time") else "unset",
        )
        fleet.client.ok("AbortRollout", pb.AbortRolloutRequest(name=rollout.name))
        opened = R.RolloutStrategy(
            update_windows=[_daily(now - dt.timedelta(minutes=5), minutes=60)]
        )
        rollout = fleet.create(signed_release(artifact, 2), opened)
        fleet.devices[0].install(fleet.deployment, rollout.name)
        done = fleet.reaches(rollout.name, R.ROLLOUT_STATE_SUCCEEDED)
        expect.holds(
            not done.HasField("next_update_window_time"),
            "no next_update_window_time while a window is open",
            str(done.next_update_window_time),
        )


def _daily(opens: dt.datetime, minutes: int) -> update_window_pb2.UpdateWindow:
    """A window every day from the UTC time of day of `opens`, lasting `minutes`."""
    window = update_window_pb2.UpdateWindow(start_minute=opens.hour * 60 + opens.minute)
    window.duration.FromSeconds(minutes * 60)
    return window


@CASES.case(FLEET, "rollouts.a-dispatch-rate-paces-the-devices", "EDG-085")
def dispatch_rate(ctx: CaseContext) -> None:
    """With edge.rollout_rate, a one-stage rollout of 3 devices at 1 device per minute
    hands the release to one device promptly and to no other within the same minute."""
    ctx.require_feature(SERVICE, RATE)
    with Fleet(ctx, devices=3) as fleet:
        strategy = R.RolloutStrategy(rate=R.DispatchRate(base_per_minute=1))
        rollout = fleet.create(signed_release(servable(ctx, fleet.client)), strategy)
        eventually(lambda: fleet.handed(fleet.deployment, rollout.name), bool, "a device handed it")
        hands_exactly(fleet, fleet.deployment, rollout.name, 1, "within the first minute at 1/min")
