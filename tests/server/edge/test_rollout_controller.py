"""The rollout controller against an in-memory fleet and a clock the test moves: the rollout,
stage and device state machines of rollout.proto (EDG-066 to EDG-083, EDG-111 to EDG-115)."""

from __future__ import annotations

import asyncio

from google.protobuf import duration_pb2
from support.rollout_fleet import (
    DEPLOYMENT,
    Harness,
    history,
    percent_stages,
    release,
    stage_states,
    state,
)

from lepton.edge.v1 import (
    capabilities_pb2,
    device_state_pb2,
    edge_service_pb2,
    rollout_pb2,
    update_window_pb2,
)
from lepton.type.v1 import tensor_pb2
from lepton_server.edge.rollout_controller import RolloutController
from lepton_server.edge.rollouts import Rollouts

U = device_state_pb2
R = rollout_pb2


def seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(value * 10**9))
    return duration


def gate(**fields: object) -> R.HealthGate:
    return R.HealthGate(**fields)


def counts(rollout: R.Rollout) -> dict[str, int]:
    return {f.name.removesuffix("_count"): v for f, v in rollout.device_counts.ListFields() if v}


def succeed_release(h: Harness, devices: list[str], version: int = 1) -> R.Rollout:
    """Roll release `version` out to `devices` in one stage and return the SUCCEEDED
    rollout."""
    rollout = h.create(version=version)
    h.tick()
    h.fleet.install(*devices)
    h.tick()
    done = h.get(rollout.name)
    assert state(done) == "SUCCEEDED"
    return done


def test_staged_rollout_from_queued_to_succeeded(h):
    devices = h.fleet.add(10)
    rollout = h.create(percent_stages(20))
    assert state(rollout) == "QUEUED"
    assert h.fleet.rollout_state[DEPLOYMENT] == (rollout.name, True)
    assert not rollout.stages  # EDG-066: empty until the rollout starts

    h.tick()
    running = h.get(rollout.name)
    assert history(running) == ["QUEUED", "RUNNING"]
    assert running.status.HasField("start_time")
    assert stage_states(running) == ["VERIFYING", "PENDING"]
    assert [s.device_count for s in running.stages] == [2, 10]
    # EDG-069: exactly 2 devices have the release until the first gate passes.
    handed = [d for d in devices if h.fleet.desired(d) is not None]
    assert len(handed) == 2
    assigned = h.fleet.desired(handed[0])
    assert assigned.rollout == rollout.name
    assert assigned.release == rollout.release
    # EDG-070: DISPATCHED with dispatch_time, and a new desired generation.
    statuses = h.statuses(rollout.name)
    assert statuses[handed[0]].state == R.ROLLOUT_DEVICE_STATE_DISPATCHED
    assert statuses[handed[0]].HasField("dispatch_time")
    assert h.fleet.devices[handed[0]].generation == 2
    assert counts(running) == {"targeted": 10, "pending": 8, "dispatched": 2}

    h.fleet.ack(*handed)
    h.tick(1)
    statuses = h.statuses(rollout.name)
    assert statuses[handed[0]].state == R.ROLLOUT_DEVICE_STATE_IN_PROGRESS
    assert statuses[handed[0]].HasField("acknowledge_time")

    h.fleet.report(handed[0], U.UPDATE_PHASE_DOWNLOADING)
    h.tick(1)
    assert h.statuses(rollout.name)[handed[0]].phase == U.UPDATE_PHASE_DOWNLOADING

    h.fleet.install(*handed)
    h.tick(1)
    second = h.get(rollout.name)
    assert stage_states(second) == ["SUCCEEDED", "VERIFYING"]
    assert second.current_stage == 1
    assert all(h.fleet.desired(d) is not None for d in devices)
    assert h.statuses(rollout.name)[handed[0]].phase == U.UPDATE_PHASE_COMMITTED

    h.fleet.install(*[d for d in devices if d not in handed])
    h.tick(1)
    done = h.get(rollout.name)
    assert history(done) == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert stage_states(done) == ["SUCCEEDED", "SUCCEEDED"]
    assert done.status.HasField("end_time")
    assert counts(done) == {"targeted": 10, "succeeded": 10, "healthy": 10}
    assert (done.status.progress.completed, done.status.progress.total) == (10, 10)
    assert done.status.progress.unit == "devices"
    # EDG-075: the release is current, the rollout no longer active.
    assert h.fleet.current[DEPLOYMENT] == done.release
    assert h.fleet.rollout_state[DEPLOYMENT] == (rollout.name, False)


def test_a_rollout_without_devices_succeeds_at_once(h):
    rollout = h.create()
    h.tick()
    done = h.get(rollout.name)
    assert history(done) == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert done.device_counts.targeted_count == 0
    assert h.fleet.current[DEPLOYMENT] == done.release


def test_device_set_is_fixed_at_start_online_first(h):
    offline = h.fleet.add(2, online=False)
    online = h.fleet.add(2)
    rollout = h.create(percent_stages(50))
    h.tick()
    later = h.fleet.add(1)
    assert {d for d in offline + online if h.fleet.desired(d)} == set(online)  # EDG-087
    h.tick()
    statuses = h.statuses(rollout.name)
    assert set(statuses) == set(offline + online)  # EDG-067
    assert {statuses[d].stage for d in online} == {0}
    assert {statuses[d].stage for d in offline} == {1}
    # A device that joined the target during the rollout gets the release on success.
    h.fleet.install(*online)
    h.tick()
    h.fleet.install(*offline)
    h.tick()
    assert state(h.get(rollout.name)) == "SUCCEEDED"
    assert h.fleet.desired(later[0]).rollout == ""
    assert h.fleet.desired(later[0]).release == rollout.release


def runtime_caps(*runtimes: capabilities_pb2.Runtime) -> capabilities_pb2.DeviceCapabilities:
    return capabilities_pb2.DeviceCapabilities(runtimes=list(runtimes))


def test_incompatible_devices_are_never_dispatched_nor_counted(h):
    # EDG-068
    fp16 = capabilities_pb2.ExecutionProvider(
        name="CPUExecutionProvider", precisions=[tensor_pb2.DATA_TYPE_FP32]
    )
    wrong_runtime = h.fleet.add(
        1, capabilities=runtime_caps(capabilities_pb2.Runtime(name="tflite"))
    )
    wrong_precision = h.fleet.add(
        1,
        capabilities=runtime_caps(
            capabilities_pb2.Runtime(name="onnxruntime", execution_providers=[fp16])
        ),
    )
    fine = h.fleet.add(1)
    h.fleet.add(1, capabilities=runtime_caps(capabilities_pb2.Runtime(name="onnxruntime")))
    given = R.Rollout(release=release(precision=tensor_pb2.DATA_TYPE_FP16))
    rollout = h.rollouts.create(
        edge_service_pb2.CreateRolloutRequest(parent=DEPLOYMENT, rollout=given)
    )
    h.tick()
    statuses = h.statuses(rollout.name)
    for device, key in ((wrong_runtime[0], "runtime"), (wrong_precision[0], "precision")):
        assert statuses[device].state == R.ROLLOUT_DEVICE_STATE_INCOMPATIBLE
        assert statuses[device].error.reason == "DEVICE_INCOMPATIBLE"
        assert key in statuses[device].error.metadata
        assert h.fleet.desired(device) is None
    h.fleet.install(
        *[d for d, s in statuses.items() if s.state == R.ROLLOUT_DEVICE_STATE_DISPATCHED]
    )
    h.tick()
    done = h.get(rollout.name)
    assert state(done) == "SUCCEEDED"
    assert done.device_counts.incompatible_count == 2
    assert h.fleet.desired(fine[0]) is not None


def test_failed_and_rolled_back_attempts_make_the_device_failed(h):
    # EDG-071
    a, b, c = h.fleet.add(3)
    rollout = h.create(percent_stages(100, default_gate=gate(min_healthy_percent=30)))
    h.tick()
    h.fleet.ack(a, b, c)
    h.fleet.report(a, U.UPDATE_PHASE_FAILED, reason="DIGEST_MISMATCH")
    h.fleet.report(b, U.UPDATE_PHASE_ROLLED_BACK)
    h.tick(1)
    statuses = h.statuses(rollout.name)
    assert statuses[a].state == R.ROLLOUT_DEVICE_STATE_FAILED
    assert statuses[a].error.reason == "DIGEST_MISMATCH"
    assert statuses[b].state == R.ROLLOUT_DEVICE_STATE_FAILED
    assert statuses[b].phase == U.UPDATE_PHASE_ROLLED_BACK
    h.fleet.install(c)
    h.tick(1)
    assert state(h.get(rollout.name)) == "SUCCEEDED"


def test_device_timeout_runs_from_the_acknowledgement(h):
    # EDG-071: TIMED_OUT after device_timeout from acknowledge_time; DISPATCHED never.
    a, b, c = h.fleet.add(3)
    # A gate of 0 percent passes at once; its long bake keeps the rollout RUNNING.
    strategy = percent_stages(
        100,
        device_timeout=seconds(60),
        default_gate=gate(min_healthy_percent=0, bake_duration=seconds(24 * 3600)),
    )
    rollout = h.create(strategy)
    h.tick()
    h.tick(3600)
    assert set(h.device_states(rollout.name).values()) == {"DISPATCHED"}
    h.fleet.ack(a, b)
    h.tick(1)
    h.fleet.report(b, U.UPDATE_PHASE_AWAITING_INSTALL_WINDOW)
    h.tick(30)
    h.tick(30)
    statuses = h.statuses(rollout.name)
    assert statuses[a].state == R.ROLLOUT_DEVICE_STATE_TIMED_OUT
    assert statuses[a].error.reason == "DEVICE_UPDATE_TIMEOUT"
    assert statuses[a].error.code == 4
    # The device_timeout clock pauses while the device waits for an install window.
    assert statuses[b].state == R.ROLLOUT_DEVICE_STATE_IN_PROGRESS
    h.fleet.report(b, U.UPDATE_PHASE_INSTALLING)
    h.tick(30)
    assert h.statuses(rollout.name)[b].state == R.ROLLOUT_DEVICE_STATE_IN_PROGRESS
    h.tick(31)
    assert h.statuses(rollout.name)[b].state == R.ROLLOUT_DEVICE_STATE_TIMED_OUT
    assert h.statuses(rollout.name)[c].state == R.ROLLOUT_DEVICE_STATE_DISPATCHED


def test_install_windows_are_copied_into_every_assignment(h):
    # EDG-113
    devices = h.fleet.add(2)
    window = update_window_pb2.UpdateWindow(start_minute=120, duration=seconds(3600))
    h.create(percent_stages(100, install_windows=[window]))
    h.tick()
    for device in devices:
        assert h.fleet.desired(device).install_windows == [window]


def test_gate_bakes_and_restarts_the_bake_when_the_share_drops(h):
    # EDG-072
    a, b, c, _d = h.fleet.add(4)
    rollout = h.create(
        percent_stages(50, default_gate=gate(min_healthy_percent=50, bake_duration=seconds(60)))
    )
    h.tick()
    h.fleet.ack(b)
    h.fleet.install(a)
    h.tick(1)
    baking = h.get(rollout.name).stages[0]
    assert baking.state == R.ROLLOUT_STAGE_STATE_VERIFYING
    assert baking.HasField("bake_start_time")
    h.tick(40)
    h.fleet.report(a, U.UPDATE_PHASE_COMMITTED, health=U.HEALTH_STATE_UNHEALTHY)
    h.tick(1)
    dropped = h.get(rollout.name)
    assert not dropped.stages[0].HasField("bake_start_time")
    assert dropped.device_counts.healthy_count == 0
    assert dropped.device_counts.succeeded_count == 1
    h.fleet.report(a, U.UPDATE_PHASE_COMMITTED, health=U.HEALTH_STATE_DEGRADED)
    h.tick(1)
    h.tick(59)
    assert stage_states(h.get(rollout.name)) == ["VERIFYING", "PENDING"]
    h.tick(1)
    assert stage_states(h.get(rollout.name)) == ["SUCCEEDED", "VERIFYING"]
    assert h.fleet.desired(c) is not None


def test_gate_timeout_fails_the_gate_and_rolls_back_by_default(h):
    # EDG-072, EDG-074
    a, b = h.fleet.add(2)
    rollout = h.create(percent_stages(50, default_gate=gate(timeout=seconds(300))))
    h.tick()
    h.tick(299)
    assert state(h.get(rollout.name)) == "RUNNING"
    h.tick(1)
    failed = h.get(rollout.name)
    assert history(failed) == ["QUEUED", "RUNNING", "ROLLING_BACK"]
    assert failed.status.error.reason == "ROLLOUT_HEALTH_GATE_FAILED"
    assert failed.status.error.metadata["stage"] == "0"
    assert stage_states(failed) == ["FAILED", "SKIPPED"]
    assert h.device_states(rollout.name)[b] == "SKIPPED"
    # No previous release: rolling back removes the deployment from the device, which has
    # not reported anything for it, so it is rolled back at once.
    assert h.fleet.desired(a) is None
    h.tick(1)
    done = h.get(rollout.name)
    assert history(done)[-1] == "ROLLED_BACK"
    assert h.device_states(rollout.name)[a] == "ROLLED_BACK"
    assert h.fleet.rollout_state[DEPLOYMENT] == (rollout.name, False)


def test_gate_fails_at_once_when_the_share_can_no_longer_be_reached(h):
    a, _b = h.fleet.add(2)
    rollout = h.create(percent_stages(100, failure_action=R.FAILURE_ACTION_DO_NOTHING))
    h.tick()
    h.fleet.ack(a)
    h.fleet.report(a, U.UPDATE_PHASE_FAILED)
    h.tick(1)
    failed = h.get(rollout.name)
    assert history(failed) == ["QUEUED", "RUNNING", "FAILED"]
    assert failed.status.error.reason == "ROLLOUT_HEALTH_GATE_FAILED"
    assert stage_states(failed) == ["FAILED"]
    # DO_NOTHING leaves every device as it is.
    assert h.fleet.desired(a) is not None
    assert h.fleet.current.get(DEPLOYMENT) is None


def test_telemetry_gate(h):
    # EDG-115
    devices = h.fleet.add(2)
    telemetry = R.TelemetryGate(
        max_error_percent=10, max_latency_p95=seconds(0.2), min_inference_count=100
    )
    rollout = h.create(
        percent_stages(
            50,
            default_gate=gate(telemetry=telemetry),
            failure_action=R.FAILURE_ACTION_PAUSE,
        )
    )
    h.tick()
    first = [d for d in devices if h.fleet.desired(d)]
    h.fleet.install(*first)
    h.summary.result = (99, 50, 0.5)  # too few events: not evaluated, cannot pass
    h.tick(1)
    waiting = h.get(rollout.name)
    assert stage_states(waiting) == ["VERIFYING", "PENDING"]
    assert waiting.stages[0].telemetry.inference_count == 99
    assert waiting.stages[0].telemetry.error_count == 50
    assert waiting.stages[0].telemetry.latency_p95.ToNanoseconds() == 500_000_000
    name, asked, since = h.summary.calls[-1]
    assert (name, asked) == (rollout.name, first)
    assert since == waiting.stages[0].start_time.ToNanoseconds()

    h.summary.result = (100, 11, 0.1)
    h.tick(1)
    paused = h.get(rollout.name)
    assert state(paused) == "PAUSED"
    assert paused.status.error.reason == "ROLLOUT_HEALTH_GATE_FAILED"
    assert stage_states(paused) == ["FAILED", "PENDING"]

    h.summary.result = (100, 10, 0.1)
    h.rollouts.resume(edge_service_pb2.ResumeRolloutRequest(name=rollout.name))
    h.tick(1)
    assert stage_states(h.get(rollout.name)) == ["SUCCEEDED", "VERIFYING"]


def test_telemetry_latency_limit(h):
    devices = h.fleet.add(1)
    telemetry = R.TelemetryGate(max_latency_p95=seconds(0.2))
    rollout = h.create(
        percent_stages(
            100, default_gate=gate(telemetry=telemetry), failure_action=R.FAILURE_ACTION_DO_NOTHING
        )
    )
    h.tick()
    h.fleet.install(*devices)
    h.summary.result = (5, 0, 0.25)
    h.tick(1)
    assert state(h.get(rollout.name)) == "FAILED"


def test_abort_criteria_with_pause_and_counting_restart(h):
    # EDG-073, EDG-074, EDG-076
    devices = h.fleet.add(4)
    strategy = percent_stages(
        100,
        abort_criteria=R.AbortCriteria(failure_threshold_percent=50, min_completed_device_count=2),
        default_gate=gate(min_healthy_percent=25, bake_duration=seconds(100)),
        failure_action=R.FAILURE_ACTION_PAUSE,
    )
    rollout = h.create(strategy)
    h.tick()
    h.fleet.ack(*devices)
    h.fleet.report(devices[0], U.UPDATE_PHASE_FAILED)
    h.tick(1)
    assert state(h.get(rollout.name)) == "RUNNING"  # 1 completed < min 2
    h.fleet.install(devices[1])
    h.tick(1)
    assert state(h.get(rollout.name)) == "RUNNING"  # 1 of 2 failed: 50% is not above 50%
    h.fleet.report(devices[2], U.UPDATE_PHASE_FAILED)
    h.tick(1)
    paused = h.get(rollout.name)
    assert state(paused) == "PAUSED"
    assert paused.status.error.reason == "ROLLOUT_FAILURE_THRESHOLD_EXCEEDED"
    assert dict(paused.status.error.metadata) == {"failed": "2", "completed": "3"}
    assert stage_states(paused) == ["FAILED"]
    # Devices keep progressing while PAUSED; gates and criteria are not evaluated.
    h.fleet.install(devices[3])
    h.tick(1)
    assert h.device_states(rollout.name)[devices[3]] == "SUCCEEDED"
    assert state(h.get(rollout.name)) == "PAUSED"

    resumed = h.rollouts.resume(edge_service_pb2.ResumeRolloutRequest(name=rollout.name))
    assert not resumed.status.HasField("error")
    h.tick(1)
    assert state(h.get(rollout.name)) == "RUNNING"
    h.tick(100)
    done = h.get(rollout.name)
    # Counting restarted: the earlier failures no longer count, and the gate passes.
    assert history(done) == ["QUEUED", "RUNNING", "PAUSED", "RUNNING", "SUCCEEDED"]


def test_abort_criteria_with_do_nothing_fail_the_rollout(h):
    devices = h.fleet.add(3)
    strategy = percent_stages(
        33,
        abort_criteria=R.AbortCriteria(failure_threshold_percent=10),
        failure_action=R.FAILURE_ACTION_DO_NOTHING,
    )
    rollout = h.create(strategy)
    h.tick()
    h.fleet.ack(devices[0])
    h.fleet.report(devices[0], U.UPDATE_PHASE_FAILED)
    h.tick(1)
    failed = h.get(rollout.name)
    assert history(failed) == ["QUEUED", "RUNNING", "FAILED"]
    assert failed.status.error.reason == "ROLLOUT_FAILURE_THRESHOLD_EXCEEDED"
    assert stage_states(failed) == ["FAILED", "SKIPPED"]
    assert h.device_states(rollout.name)[devices[1]] == "SKIPPED"
    assert failed.status.progress.completed == 3
    # Terminal: nothing changes any more (EDG-080).
    h.fleet.install(devices[0])
    h.tick(1)
    assert h.get(rollout.name).device_counts == failed.device_counts


def test_failure_rollback_returns_devices_to_the_previous_release(h):
    # EDG-074, EDG-078
    devices = h.fleet.add(3)
    first = succeed_release(h, devices, version=1)
    strategy = percent_stages(100, device_timeout=seconds(60))
    rollout = h.create(strategy, version=2)
    assert rollout.previous_release == first.release
    h.tick()
    h.fleet.ack(*devices)
    h.fleet.report(devices[0], U.UPDATE_PHASE_ROLLED_BACK)  # still runs release 1
    h.fleet.report(devices[1], U.UPDATE_PHASE_COMMITTED)
    h.tick(1)
    rolling = h.get(rollout.name)
    assert state(rolling) == "ROLLING_BACK"
    assert all(h.fleet.desired(d).release == first.release for d in devices)
    assert all(h.fleet.desired(d).rollout == "" for d in devices)
    h.tick(1)
    states = h.device_states(rollout.name)
    assert states[devices[0]] == "ROLLED_BACK"  # its report already shows release 1
    assert states[devices[1]] == "ROLLING_BACK"
    assert states[devices[2]] == "ROLLED_BACK"  # still running release 1
    h.fleet.converge(devices[1])
    h.tick(1)
    done = h.get(rollout.name)
    assert history(done)[-1] == "ROLLED_BACK"
    assert h.device_states(rollout.name)[devices[1]] == "ROLLED_BACK"
    assert h.fleet.current[DEPLOYMENT] == first.release


def test_rollback_times_out_devices_that_do_not_confirm(h):
    devices = h.fleet.add(1)
    rollout = h.create(percent_stages(100, device_timeout=seconds(60)))
    h.tick()
    h.fleet.install(*devices, health=U.HEALTH_STATE_UNHEALTHY)
    h.tick(1)
    assert state(h.get(rollout.name)) == "ROLLING_BACK"
    h.tick(59)
    assert h.device_states(rollout.name)[devices[0]] == "ROLLING_BACK"
    h.tick(1)
    done = h.get(rollout.name)
    assert state(done) == "ROLLED_BACK"
    statuses = h.statuses(rollout.name)
    assert statuses[devices[0]].state == R.ROLLOUT_DEVICE_STATE_TIMED_OUT
    assert statuses[devices[0]].error.reason == "DEVICE_UPDATE_TIMEOUT"


def test_retry_dispatches_failed_devices_again_in_a_new_generation(h):
    # EDG-114
    devices = h.fleet.add(2)
    rollout = h.create(
        percent_stages(100, device_timeout=seconds(60), failure_action=R.FAILURE_ACTION_PAUSE)
    )
    h.tick()
    h.fleet.ack(*devices)
    h.tick(1)
    h.fleet.report(devices[0], U.UPDATE_PHASE_FAILED)
    h.tick(1)
    assert state(h.get(rollout.name)) == "PAUSED"
    h.tick(60)
    assert h.device_states(rollout.name)[devices[1]] == "TIMED_OUT"
    generations = [h.fleet.devices[d].generation for d in devices]
    retried, names = h.rollouts.retry_devices(
        edge_service_pb2.RetryRolloutDevicesRequest(name=rollout.name)
    )
    assert names == devices
    assert retried.device_counts.pending_count == 2
    assert retried.status.progress.completed == 2  # never decreases (EDG-081)
    h.tick(1)
    assert h.device_states(rollout.name)[devices[0]] == "PENDING"  # PAUSED: no dispatch
    h.rollouts.resume(edge_service_pb2.ResumeRolloutRequest(name=rollout.name))
    h.tick(1)
    assert [h.fleet.devices[d].generation for d in devices] == [g + 1 for g in generations]
    assert set(h.device_states(rollout.name).values()) == {"DISPATCHED"}
    h.fleet.install(*devices)
    h.tick(1)
    assert state(h.get(rollout.name)) == "SUCCEEDED"


def test_devices_leaving_the_target_are_skipped(h):
    # EDG-083
    a, b = h.fleet.add(2)
    rollout = h.create(percent_stages(100, default_gate=gate(min_healthy_percent=100)))
    h.tick()
    h.fleet.targets[DEPLOYMENT].remove(b)
    h.tick(1)
    assert h.device_states(rollout.name)[b] == "SKIPPED"
    h.fleet.install(a)
    h.tick(1)
    assert state(h.get(rollout.name)) == "SUCCEEDED"


def test_counts_partition_the_devices(h):
    # EDG-081
    devices = h.fleet.add(5)
    rollout = h.create(percent_stages(60))
    h.tick()
    h.fleet.ack(devices[0])
    h.fleet.install(devices[1])
    h.tick(1)
    current = h.get(rollout.name)
    c = current.device_counts
    parts = [f for f in R.RolloutDeviceCounts.DESCRIPTOR.fields]
    total = sum(
        getattr(c, f.name) for f in parts if f.name not in ("targeted_count", "healthy_count")
    )
    assert total == c.targeted_count == 5
    assert c.healthy_count <= c.succeeded_count


def test_a_restarted_server_continues_the_rollout(h, tmp_path):
    devices = h.fleet.add(2)
    rollout = h.create(percent_stages(50))
    h.tick()
    h.rollouts.close()
    again = Rollouts(tmp_path / "rollouts.db", h.fleet, h.rollouts._validate_release, clock=h.clock)
    controller = RolloutController(again, h.summary)
    first = [d for d in devices if h.fleet.desired(d)]
    h.fleet.install(*first)
    controller.tick()
    h.fleet.install(*[d for d in devices if d not in first])
    controller.tick()
    assert state(again.get(rollout.name)) == "SUCCEEDED"


def test_the_loop_wakes_on_fleet_events(h):
    devices = h.fleet.add(1)

    async def scenario() -> str:
        h.controller.start()
        try:
            rollout = h.create()
            for _ in range(200):
                await asyncio.sleep(0.01)
                if h.fleet.desired(devices[0]) is not None:
                    break
            h.fleet.install(*devices)  # the fleet's callback wakes the loop
            for _ in range(200):
                await asyncio.sleep(0.01)
                if state(h.get(rollout.name)) == "SUCCEEDED":
                    break
            return state(h.get(rollout.name))
        finally:
            h.controller.close()

    assert asyncio.run(scenario()) == "SUCCEEDED"
