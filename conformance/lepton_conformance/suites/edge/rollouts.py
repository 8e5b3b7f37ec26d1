"""edge-fleet cases of rollouts, with devices the suite plays itself (fleet_rig.py): creation
and normalisation, stages held back by health gates with a bake, per-device states, failure
actions, pause, resume, abort, rollback of an active and of a finished rollout, and
WatchRollout (spec/edge.md section 2.5; EDG-064 to EDG-084). When devices are handed the
release is in rollout_pacing.py, telemetry gates in rollout_gates.py, which devices a
rollout reaches in rollout_targets.py. Gates bake for fractions of a second so that the
profile stays fast."""

from __future__ import annotations

import time
import uuid

import grpc
from google.protobuf import timestamp_pb2

from lepton.edge.v1 import device_pb2, update_window_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import PROMPT_S, eventually
from lepton_conformance.suites.edge.fleet_rig import (
    TERMINAL,
    Fleet,
    R,
    U,
    hands_exactly,
    seconds,
    servable,
    signed_release,
    stages,
    state_name,
    succeed_once,
)
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
WINDOWS = "edge.update_windows"
RATE = "edge.rollout_rate"
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
# One turn of a controller that walks its rollouts at least once a second (spec/edge.md 8),
# with room: how long the suite watches for something that must not happen.
BAKE_S = 0.8
DS = R.RolloutDeviceState


def _states(rollout: R.Rollout) -> list[str]:
    return [state_name(t.state) for t in rollout.status.history]


def _partitioned(rollout: R.Rollout) -> None:
    """EDG-081: device_counts partition the rollout's devices; progress counts them."""
    c = rollout.device_counts
    parts = (
        c.pending_count,
        c.dispatched_count,
        c.in_progress_count,
        c.succeeded_count,
        c.failed_count,
        c.timed_out_count,
        c.incompatible_count,
        c.skipped_count,
        c.rolling_back_count,
        c.rolled_back_count,
    )
    expect.equal(sum(parts), c.targeted_count, f"the sum of device_counts of {rollout.name}")
    expect.holds(
        c.healthy_count <= c.succeeded_count,
        "healthy_count <= succeeded_count",
        f"{c.healthy_count} > {c.succeeded_count}",
    )


def _after(later: timestamp_pb2.Timestamp, earlier: timestamp_pb2.Timestamp) -> float:
    return (later.ToNanoseconds() - earlier.ToNanoseconds()) / 1e9


def _refused(fleet: Fleet, rpc: str, name: str, reason: str, state: str) -> None:
    """`rpc` of rollout `name` is FAILED_PRECONDITION [`reason`] with metadata rollout and
    state (the spec fixes no spelling of the state: with or without the enum's prefix)."""
    request = getattr(pb, f"{rpc}Request")(name=name)
    error = expect.rejects(
        lambda: fleet.client.call(rpc, request), PRECONDITION, reason, metadata={"rollout": name}
    )
    got = dict(expect.error_info(error).metadata).get("state", "")
    expect.holds(
        got.removeprefix("ROLLOUT_STATE_") == state, f"ErrorInfo metadata state {state}", got
    )


def _gate(stage: R.RolloutStage, strategy: R.RolloutStrategy) -> R.HealthGate:
    return stage.gate if stage.HasField("gate") else strategy.default_gate


@CASES.case(
    FLEET,
    "rollouts.create-normalises-the-strategy-and-holds-the-deployment",
    "EDG-066",
    "EDG-065",
    "EDG-004",
    "EDG-062",
    "EDG-112",
)
def create(ctx: CaseContext) -> None:
    """CreateRollout returns a QUEUED rollout (its first stage awaits approval) with
    create_time, a history starting with QUEUED, no previous release and its strategy
    normalised (device timeout 1 hour, failure action ROLLBACK, gates of 100 percent, a final
    100 percent stage appended); the deployment names it as latest and active; a retry with
    its request_id returns it; a second rollout and DeleteDeployment get ROLLOUT_IN_PROGRESS
    naming it."""
    with Fleet(ctx, devices=1) as fleet:
        artifact = servable(ctx, fleet.client)
        strategy = R.RolloutStrategy(stages=[R.RolloutStage(percent=50, require_approval=True)])
        request = pb.CreateRolloutRequest(
            parent=fleet.deployment,
            rollout=R.Rollout(release=signed_release(artifact), strategy=strategy),
            request_id=str(uuid.uuid4()),
        )
        created = fleet.client.ok("CreateRollout", request).rollout
        expect.equal(state_name(created.status.state), "QUEUED", "the new rollout's state")
        expect.equal(_states(created), ["QUEUED"], "the new rollout's history")
        expect.holds(created.status.HasField("create_time"), "status.create_time set", "unset")
        expect.holds(not created.HasField("previous_release"), "no previous_release", "one is set")
        normal = created.strategy
        expect.equal(
            [s.percent for s in normal.stages], [50.0, 100.0], "the normalised stages' percents"
        )
        expect.equal(normal.device_timeout.seconds, 3600, "the normalised device_timeout (s)")
        expect.equal(
            normal.failure_action, R.FAILURE_ACTION_ROLLBACK, "the normalised failure_action"
        )
        for stage in normal.stages:
            expect.equal(
                _gate(stage, normal).min_healthy_percent, 100.0, "each stage's min_healthy_percent"
            )
        deployment = fleet.client.deployment(fleet.deployment)
        expect.equal(
            (deployment.latest_rollout, deployment.rollout_active),
            (created.name, True),
            "the deployment's (latest_rollout, rollout_active)",
        )
        retried = fleet.client.ok("CreateRollout", request).rollout
        expect.equal(retried.name, created.name, "the rollout a request_id retry returns")
        again = pb.CreateRolloutRequest(
            parent=fleet.deployment, rollout=R.Rollout(release=signed_release(artifact, 2))
        )
        for rpc, call in (
            ("CreateRollout", again),
            ("DeleteDeployment", pb.DeleteDeploymentRequest(name=fleet.deployment)),
        ):
            expect.rejects(
                lambda rpc=rpc, call=call: fleet.client.call(rpc, call),
                PRECONDITION,
                "ROLLOUT_IN_PROGRESS",
                metadata={"rollout": created.name},
            )
        hands_exactly(
            fleet, fleet.deployment, created.name, 0, "while its first stage awaits approval"
        )


@CASES.case(
    FLEET,
    "rollouts.stages-wait-for-their-gate-and-its-bake",
    "EDG-069",
    "EDG-070",
    "EDG-071",
    "EDG-072",
    "EDG-075",
    "EDG-067",
    "EDG-080",
    "EDG-081",
    "EDG-103",
    "EDG-113",
    "EDG-063",
    "EDG-007",
)
def staged(ctx: CaseContext) -> None:
    """With 5 devices and stages of 20 and 100 percent (gate: every device healthy, a bake
    of 0.8 s), exactly 1 device is handed the release until its gate passes, which is no
    sooner than the bake after the device SUCCEEDED; dispatch, acknowledgement and report
    move it DISPATCHED, IN_PROGRESS, SUCCEEDED; then the other 4 get it and the rollout
    SUCCEEDS with the release as the deployment's current release, history QUEUED, RUNNING,
    SUCCEEDED, its times set and counts partitioning the devices."""
    with Fleet(ctx, devices=5) as fleet:
        artifact = servable(ctx, fleet.client)
        window = update_window_pb2.UpdateWindow(
            start_minute=60, duration=seconds(3600), time_zone="UTC"
        )
        strategy = R.RolloutStrategy(
            stages=stages(20, 100, bake_duration=seconds(BAKE_S)), install_windows=[window]
        )
        rollout = fleet.create(signed_release(artifact), strategy)
        name, deployment = rollout.name, fleet.deployment
        expect.equal(len(rollout.release.release_digest.hex), 64, "the stored release_digest")
        first = eventually(
            lambda: fleet.handed(deployment, name), bool, "a device handed the release"
        )
        hands_exactly(fleet, deployment, name, 1, "before the first gate passed")
        (device,) = [d for d in fleet.devices if d.name == first[0]]
        status = fleet.devices_reach(name, {device.name: DS.ROLLOUT_DEVICE_STATE_DISPATCHED}, "")
        expect.holds(status[device.name].HasField("dispatch_time"), "dispatch_time set", "unset")
        entry = device.take_rollout(deployment, name)
        expect.equal(entry.release, rollout.release, "the release in the desired state")
        expect.equal(list(entry.install_windows), [window], "the desired install_windows")
        device.ack()
        status = fleet.devices_reach(
            name, {device.name: DS.ROLLOUT_DEVICE_STATE_IN_PROGRESS}, "IN_PROGRESS after the ack"
        )
        expect.holds(
            status[device.name].HasField("acknowledge_time"), "acknowledge_time set", "unset"
        )
        hands_exactly(fleet, deployment, name, 1, "while the first device is IN_PROGRESS")
        device.report(deployment, U.UPDATE_PHASE_COMMITTED)
        status = fleet.devices_reach(
            name, {device.name: DS.ROLLOUT_DEVICE_STATE_SUCCEEDED}, "SUCCEEDED after COMMITTED"
        )
        succeeded = status[device.name].update_time
        expect.equal(len(fleet.handed(deployment, name)), 1, "devices handed during the bake")
        passed = fleet.until(
            name,
            lambda r: r.stages and r.stages[0].state == R.ROLLOUT_STAGE_STATE_SUCCEEDED,
            "stage 0 SUCCEEDED",
        )
        baked = _after(passed.stages[0].end_time, succeeded)
        expect.holds(
            baked >= BAKE_S - 0.05,
            f"stage 0's gate to pass no sooner than its {BAKE_S} s bake after the device SUCCEEDED",
            f"{baked:.3f} s later",
        )
        for other in fleet.devices:
            if other is not device:
                other.install(deployment, name)
        done = fleet.reaches(name, R.ROLLOUT_STATE_SUCCEEDED)
        expect.equal(_states(done), ["QUEUED", "RUNNING", "SUCCEEDED"], "the history")
        for field in ("start_time", "end_time"):
            expect.holds(done.status.HasField(field), f"status.{field} set", "unset")
        expect.equal(
            (done.status.progress.unit, done.status.progress.total, done.status.progress.completed),
            ("devices", 5, 5),
            "status.progress (unit, total, completed)",
        )
        expect.equal(
            (done.device_counts.targeted_count, done.device_counts.succeeded_count),
            (5, 5),
            "device_counts (targeted, succeeded)",
        )
        _partitioned(done)
        expect.equal(
            [s.state for s in done.stages],
            [R.ROLLOUT_STAGE_STATE_SUCCEEDED] * 2,
            "the stages' states",
        )
        expect.equal(
            fleet.client.deployment(deployment).current_release,
            rollout.release,
            "the deployment's current_release",
        )
        expect.equal(len(fleet.statuses(name)), 5, "the rollout's device statuses")
        for where, wanted in (
            ("stage = 0", [device.name]),
            ("stage != 0 AND state = SUCCEEDED", sorted(set(fleet.statuses(name)) - {device.name})),
            ("state = FAILED", []),
        ):
            request = pb.ListRolloutDeviceStatusesRequest(parent=name, filter=where, page_size=2)
            listed = fleet.client.walk("ListRolloutDeviceStatuses", request)
            expect.equal([s.device for s in listed], wanted, f"device statuses with {where!r}")
        counts = eventually(
            lambda: fleet.client.deployment(deployment).device_counts,
            lambda c: c.in_sync_count == 5,
            "every device in sync with the current release",
        )
        expect.equal(
            (counts.targeted_count, counts.updating_count, counts.failed_count),
            (5, 0, 0),
            "the deployment's device_counts (targeted, updating, failed)",
        )
        late = fleet.add_device()
        late.take(
            lambda s: any(d.deployment == deployment for d in s.deployments),
            "the current release for a device targeted after the rollout",
        )
        expect.equal(late.assigned(deployment).rollout, "", "its assignment's rollout")
        expect.equal(len(fleet.statuses(name)), 5, "device statuses after a device joined")
        expect.equal(fleet.rollout(name).device_counts, done.device_counts, "frozen counts")


@CASES.case(
    FLEET,
    "rollouts.a-failed-gate-rolls-the-devices-back",
    "EDG-071",
    "EDG-072",
    "EDG-074",
    "EDG-078",
    "EDG-080",
    "EDG-066",
)
def rolled_back(ctx: CaseContext) -> None:
    """After v1 SUCCEEDED, a rollout of v2 (one stage, every device healthy) whose device A
    reports its attempt FAILED fails its gate: error ROLLOUT_HEALTH_GATE_FAILED, stage
    FAILED, ROLLING_BACK; both devices are assigned v1 again at once; each becomes
    ROLLED_BACK when it reports v1 running and the rollout ROLLED_BACK, v1 still current."""
    with Fleet(ctx, devices=2) as fleet:
        artifact = servable(ctx, fleet.client)
        first = succeed_once(fleet, 1, artifact)
        rollout = fleet.create(signed_release(artifact, 2))
        expect.equal(rollout.previous_release, first.release, "previous_release")
        deployment, name = fleet.deployment, rollout.name
        a, b = fleet.devices
        old = {d.name: d.assigned(deployment) for d in fleet.devices}
        b.install(deployment, name)
        # B's report travels on a stream of its own: seen before A fails, B is on v2 when the
        # rollback begins (otherwise it still reports v1 and is ROLLED_BACK at once).
        fleet.devices_reach(name, {b.name: DS.ROLLOUT_DEVICE_STATE_SUCCEEDED}, "B SUCCEEDED")
        a.fail(deployment, name)
        back = fleet.reaches(name, R.ROLLOUT_STATE_ROLLING_BACK)
        expect.equal(back.status.error.reason, "ROLLOUT_HEALTH_GATE_FAILED", "status.error")
        expect.equal(back.stages[0].state, R.ROLLOUT_STAGE_STATE_FAILED, "stage 0's state")
        for device in fleet.devices:
            entry = device.take(
                lambda s: any(
                    d.deployment == deployment and d.release == first.release and not d.rollout
                    for d in s.deployments
                ),
                "v1 assigned again, with no rollout",
            )
            expect.holds(entry.generation > 0, "a desired generation", str(entry.generation))
        fleet.devices_reach(name, {b.name: DS.ROLLOUT_DEVICE_STATE_ROLLING_BACK}, "B ROLLING_BACK")
        for device in fleet.devices:
            device.report_running(deployment, old[device.name])
        done = fleet.reaches(name, R.ROLLOUT_STATE_ROLLED_BACK)
        expect.equal(
            set(fleet.device_states(name).values()),
            {DS.ROLLOUT_DEVICE_STATE_ROLLED_BACK},
            "the device states after the rollback",
        )
        expect.equal(
            _states(done), ["QUEUED", "RUNNING", "ROLLING_BACK", "ROLLED_BACK"], "the history"
        )
        expect.equal(
            fleet.client.deployment(deployment).current_release,
            first.release,
            "the deployment's current_release",
        )
        _partitioned(done)
        for rpc in ("PauseRollout", "ResumeRollout", "AbortRollout"):
            _refused(fleet, rpc, name, "JOB_ALREADY_FINISHED", "ROLLED_BACK")
        again = fleet.client.ok("RollbackRollout", pb.RollbackRolloutRequest(name=name))
        expect.equal(again.rollout.name, name, "RollbackRollout of a ROLLED_BACK rollout")


@CASES.case(
    FLEET,
    "rollouts.failure-actions-pause-or-stop",
    "EDG-073",
    "EDG-074",
    "EDG-076",
    "EDG-079",
    "EDG-080",
)
def failure_actions(ctx: CaseContext) -> None:
    """Abort criteria (over 50 percent failed of at least 1) met by one FAILED device of two
    PAUSE the rollout with ROLLOUT_FAILURE_THRESHOLD_EXCEEDED; ResumeRollout clears the error
    and restarts counting, so the other device's success ends it SUCCEEDED. A gate failing
    under DO_NOTHING makes the rollout FAILED with ROLLOUT_HEALTH_GATE_FAILED and leaves the
    device's desired state; its rollback has NO_PREVIOUS_RELEASE."""
    with Fleet(ctx, devices=2) as fleet:
        artifact = servable(ctx, fleet.client)
        strategy = R.RolloutStrategy(
            default_gate=R.HealthGate(min_healthy_percent=50),
            abort_criteria=R.AbortCriteria(failure_threshold_percent=50),
            failure_action=R.FAILURE_ACTION_PAUSE,
        )
        rollout = fleet.create(signed_release(artifact), strategy)
        name, deployment = rollout.name, fleet.deployment
        a, b = fleet.devices
        b.take_rollout(deployment, name)
        b.ack()
        a.fail(deployment, name)
        paused = fleet.reaches(name, R.ROLLOUT_STATE_PAUSED)
        expect.equal(
            paused.status.error.reason, "ROLLOUT_FAILURE_THRESHOLD_EXCEEDED", "status.error"
        )
        resumed = fleet.client.ok("ResumeRollout", pb.ResumeRolloutRequest(name=name)).rollout
        expect.equal(state_name(resumed.status.state), "RUNNING", "the resumed rollout's state")
        expect.holds(
            not resumed.status.HasField("error"), "ResumeRollout to clear status.error", "set"
        )
        b.report(deployment, U.UPDATE_PHASE_COMMITTED)
        done = fleet.reaches(name, R.ROLLOUT_STATE_SUCCEEDED)
        expect.equal(
            _states(done), ["QUEUED", "RUNNING", "PAUSED", "RUNNING", "SUCCEEDED"], "the history"
        )
    with Fleet(ctx, devices=1) as fleet:
        strategy = R.RolloutStrategy(failure_action=R.FAILURE_ACTION_DO_NOTHING)
        rollout = fleet.create(signed_release(artifact), strategy)
        (device,) = fleet.devices
        device.fail(fleet.deployment, rollout.name)
        failed = fleet.reaches(rollout.name, R.ROLLOUT_STATE_FAILED)
        expect.equal(failed.status.error.reason, "ROLLOUT_HEALTH_GATE_FAILED", "status.error")
        expect.equal(failed.stages[0].state, R.ROLLOUT_STAGE_STATE_FAILED, "stage 0's state")
        expect.holds(failed.status.HasField("end_time"), "status.end_time set", "unset")
        expect.equal(
            fleet.handed(fleet.deployment, rollout.name),
            [device.name],
            "devices keeping the release after FAILED",
        )
        expect.rejects(
            lambda: fleet.client.call(
                "RollbackRollout", pb.RollbackRolloutRequest(name=rollout.name)
            ),
            PRECONDITION,
            "NO_PREVIOUS_RELEASE",
            metadata={"rollout": rollout.name},
        )


@CASES.case(
    FLEET,
    "rollouts.pause-resume-and-abort-follow-the-table",
    "EDG-076",
    "EDG-077",
    "EDG-083",
    "EDG-080",
)
def pause_abort(ctx: CaseContext) -> None:
    """A RUNNING rollout of stages 50 and 100 percent over 2 devices, PAUSED (PauseRollout is
    idempotent) while its first device installs, dispatches nothing more until resumed; a
    device that leaves the target becomes SKIPPED and loses the deployment; AbortRollout
    makes it ABORTED (again: unchanged), PENDING devices SKIPPED, the current release
    unchanged; Pause and Resume of it are JOB_ALREADY_FINISHED."""
    with Fleet(ctx, devices=3) as fleet:
        artifact = servable(ctx, fleet.client)
        rollout = fleet.create(signed_release(artifact), R.RolloutStrategy(stages=stages(33, 100)))
        name, deployment = rollout.name, fleet.deployment
        handed = eventually(
            lambda: fleet.handed(deployment, name), bool, "a device handed the release"
        )
        expect.equal(len(handed), 1, "devices the first stage (33 percent of 3) hands it")
        first = handed[0]
        for _ in range(2):
            paused = fleet.client.ok("PauseRollout", pb.PauseRolloutRequest(name=name)).rollout
            expect.equal(state_name(paused.status.state), "PAUSED", "after PauseRollout")
        (device,) = [d for d in fleet.devices if d.name == first]
        device.install(deployment, name)
        fleet.devices_reach(name, {first: DS.ROLLOUT_DEVICE_STATE_SUCCEEDED}, "SUCCEEDED")
        hands_exactly(fleet, deployment, name, 1, "while PAUSED")
        fleet.client.ok("ResumeRollout", pb.ResumeRolloutRequest(name=name))
        eventually(
            lambda: fleet.handed(deployment, name),
            lambda got: len(got) == 3,
            "the second stage dispatched after ResumeRollout",
        )
        leaver = next(d for d in fleet.devices if d is not device)
        fleet.client.update_device(
            device_pb2.Device(name=leaver.name, labels={"x": "y"}),
            "labels",
        )
        fleet.devices_reach(name, {leaver.name: DS.ROLLOUT_DEVICE_STATE_SKIPPED}, "SKIPPED")
        leaver.take(
            lambda s: all(d.deployment != deployment for d in s.deployments),
            "a desired state without the deployment it left",
        )
        aborted = fleet.client.ok("AbortRollout", pb.AbortRolloutRequest(name=name)).rollout
        expect.equal(state_name(aborted.status.state), "ABORTED", "after AbortRollout")
        again = fleet.client.ok("AbortRollout", pb.AbortRolloutRequest(name=name)).rollout
        expect.equal(again.status, aborted.status, "AbortRollout of an ABORTED rollout")
        expect.holds(
            not fleet.client.deployment(deployment).HasField("current_release"),
            "no current_release after the abort",
            "one is set",
        )
        stayed = [d.name for d in fleet.devices if d is not leaver]
        expect.equal(sorted(fleet.handed(deployment, name)), sorted(stayed), "devices keeping it")
        for rpc in ("PauseRollout", "ResumeRollout"):
            _refused(fleet, rpc, name, "JOB_ALREADY_FINISHED", "ABORTED")
    with Fleet(ctx, devices=2) as fleet:
        strategy = R.RolloutStrategy(stages=[R.RolloutStage(percent=50, require_approval=True)])
        rollout = fleet.create(signed_release(artifact), strategy)
        paused = fleet.client.ok("PauseRollout", pb.PauseRolloutRequest(name=rollout.name))
        resumed = fleet.client.ok("ResumeRollout", pb.ResumeRolloutRequest(name=rollout.name))
        expect.equal(
            (state_name(paused.rollout.status.state), state_name(resumed.rollout.status.state)),
            ("PAUSED", "QUEUED"),
            "a never-started rollout paused, then resumed",
        )
        aborted = fleet.client.ok("AbortRollout", pb.AbortRolloutRequest(name=rollout.name))
        expect.equal(
            {s.state for s in fleet.statuses(rollout.name).values()},
            {DS.ROLLOUT_DEVICE_STATE_SKIPPED},
            "device states of a rollout aborted before dispatch",
        )
        expect.equal(state_name(aborted.rollout.status.state), "ABORTED", "after the abort")


@CASES.case(
    FLEET,
    "rollouts.rollback-of-a-finished-rollout-is-a-new-rollout",
    "EDG-079",
    "EDG-084",
    "EDG-005",
    "EDG-006",
    "EDG-007",
)
def rollback_finished(ctx: CaseContext) -> None:
    """After v1 and v2 SUCCEEDED, RollbackRollout of v1's rollout is ROLLOUT_SUPERSEDED, of
    v2's a new rollout of v1 with rollback_of and the default rollback strategy (one 100
    percent stage, min_healthy_percent 0, DO_NOTHING); ListRollouts of deployments/- lists
    them newest first, filters on status.state and refuses another filter field."""
    with Fleet(ctx, devices=1) as fleet:
        artifact = servable(ctx, fleet.client)
        v1 = succeed_once(fleet, 1, artifact)
        v2 = succeed_once(fleet, 2, artifact)
        expect.rejects(
            lambda: fleet.client.call("RollbackRollout", pb.RollbackRolloutRequest(name=v1.name)),
            PRECONDITION,
            "ROLLOUT_SUPERSEDED",
            metadata={"rollout": v1.name, "latest_rollout": v2.name},
        )
        back = fleet.client.ok("RollbackRollout", pb.RollbackRolloutRequest(name=v2.name)).rollout
        expect.equal(
            (back.release, back.rollback_of), (v1.release, v2.name), "(release, rollback_of)"
        )
        expect.equal([s.percent for s in back.strategy.stages], [100.0], "the rollback's stages")
        expect.equal(
            (
                _gate(back.strategy.stages[0], back.strategy).min_healthy_percent,
                back.strategy.failure_action,
            ),
            (0.0, R.FAILURE_ACTION_DO_NOTHING),
            "the rollback's (min_healthy_percent, failure_action)",
        )
        listed = fleet.client.walk(
            "ListRollouts", pb.ListRolloutsRequest(parent="deployments/-", page_size=2)
        )
        mine = [r.name for r in listed if r.name.startswith(fleet.deployment + "/")]
        expect.equal(mine, [back.name, v2.name, v1.name], "ListRollouts, newest first")
        expect.fails_with(
            lambda: fleet.client.call(
                "ListRollouts", pb.ListRolloutsRequest(parent=fleet.deployment, filter="state = X")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FILTER",
            field="filter",
        )


@CASES.case(FLEET, "rollouts.watch-sends-every-state-then-ends", "EDG-082")
def watch(ctx: CaseContext) -> None:
    """WatchRollout sends the rollout, then again at every state entered (RUNNING,
    SUCCEEDED, in order), never two progress messages within a second, and ends OK after
    the terminal one; watching the finished rollout yields exactly one message and OK."""
    with Fleet(ctx, devices=1) as fleet:
        artifact = servable(ctx, fleet.client)
        strategy = R.RolloutStrategy(stages=[R.RolloutStage(percent=100, require_approval=True)])
        rollout = fleet.create(signed_release(artifact), strategy)
        call = fleet.client.call(
            "WatchRollout", pb.WatchRolloutRequest(name=rollout.name), timeout=PROMPT_S * 4
        )
        seen: list[tuple[float, R.Rollout]] = []
        try:
            # The first message before the approval: two calls on one channel may be served
            # in either order, and the watch must see the rollout QUEUED.
            first = next(call, None)
            if first is None:
                raise Failed("WatchRollout to send the rollout first", "the stream ended")
            seen.append((time.monotonic(), first.rollout))
            fleet.client.ok(
                "ApproveRolloutStage", pb.ApproveRolloutStageRequest(name=rollout.name, stage=0)
            )
            fleet.devices[0].install(fleet.deployment, rollout.name)
            for message in call:
                seen.append((time.monotonic(), message.rollout))
        except grpc.RpcError as error:
            raise Failed("WatchRollout to end OK after SUCCEEDED", expect.describe(error)) from None
        states = [state_name(r.status.state) for _, r in seen]
        entered = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        expect.equal(entered, ["QUEUED", "RUNNING", "SUCCEEDED"], "the states watched, in order")
        expect.equal(seen[-1][1].status.state, R.ROLLOUT_STATE_SUCCEEDED, "the last message")
        # Counted per state over the time it lasted, not as gaps between arrivals: a loaded
        # client reads two messages sent a second apart back to back.
        for state, (count, lasted) in _progress_per_state(seen).items():
            expect.holds(
                count <= lasted + 1,
                "messages without a state change at most once per second",
                f"{count} more message(s) in {state} over {lasted:.2f} s",
            )
        again = list(fleet.client.call("WatchRollout", pb.WatchRolloutRequest(name=rollout.name)))
        expect.equal(len(again), 1, "messages watching a SUCCEEDED rollout")
        expect.holds(again[0].rollout.status.state in TERMINAL, "a terminal state", str(again[0]))


def _progress_per_state(seen: list[tuple[float, R.Rollout]]) -> dict[str, tuple[int, float]]:
    """For each state watched: the messages after the one that entered it, and the seconds
    from its entry to the entry of the next state (or to its last message)."""
    runs: dict[str, tuple[int, float]] = {}
    start = 0
    for i in range(1, len(seen) + 1):
        if i == len(seen) or seen[i][1].status.state != seen[start][1].status.state:
            end = seen[i][0] if i < len(seen) else seen[i - 1][0]
            runs[state_name(seen[start][1].status.state)] = (i - start - 1, end - seen[start][0])
            start = i
    return runs
