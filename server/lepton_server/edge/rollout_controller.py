"""The rollout controller (spec/edge.md, "Deployments and rollouts"; EDG-067 to EDG-083,
EDG-111 to EDG-115): a loop that wakes on fleet events and at least once a second and moves
every active rollout on. One pass (`tick`) per active rollout: start it when its start_time
has come (fixing its device set, judging compatibility), derive each device's state from its
acknowledgements and reports, time devices out, evaluate the abort criteria and the current
stage's health gate (bake, timeout, telemetry), dispatch the next stage (after approval),
apply the failure action, confirm rollbacks, and record what changed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import math
from collections.abc import Callable, Collection

from google.protobuf import timestamp_pb2

from lepton.edge.v1 import capabilities_pb2, device_state_pb2, release_pb2, rollout_pb2
from lepton.type.v1 import tensor_pb2
from lepton_ai.edge.update_windows import next_opening, window_open
from lepton_server.edge import rollout_strategies, telemetry_store
from lepton_server.edge.rollout_records import (
    AssignedRelease,
    DeviceEntry,
    DeviceProgress,
    DeviceTrack,
    RolloutRecord,
    TargetedDevice,
    error_status,
    timestamp,
)
from lepton_server.edge.rollouts import Rollouts

log = logging.getLogger(__name__)
R = rollout_pb2
U = device_state_pb2
# EDG-085: a dispatch rate is a count of devices per 60-second interval.
RATE_INTERVAL_NS = 60 * 10**9
WAKE_INTERVAL_S = 1.0  # spec/edge.md §8: every active rollout is walked at least once a second
OPEN_DEVICE_STATES = frozenset(
    {
        R.ROLLOUT_DEVICE_STATE_PENDING,
        R.ROLLOUT_DEVICE_STATE_DISPATCHED,
        R.ROLLOUT_DEVICE_STATE_IN_PROGRESS,
    }
)
OUTCOMES = frozenset(
    {
        R.ROLLOUT_DEVICE_STATE_SUCCEEDED,
        R.ROLLOUT_DEVICE_STATE_FAILED,
        R.ROLLOUT_DEVICE_STATE_TIMED_OUT,
    }
)
FAILED_OUTCOMES = frozenset({R.ROLLOUT_DEVICE_STATE_FAILED, R.ROLLOUT_DEVICE_STATE_TIMED_OUT})
NOT_ELIGIBLE = frozenset({R.ROLLOUT_DEVICE_STATE_INCOMPATIBLE, R.ROLLOUT_DEVICE_STATE_SKIPPED})
ENDED_ATTEMPT = frozenset({U.UPDATE_PHASE_FAILED, U.UPDATE_PHASE_ROLLED_BACK})

# inference_summary(rollout, devices, since): the InferenceEvent records attributed to
# `rollout` from `devices` received since `since` (EDG-115): TelemetryStore.inference_summary.
SummarizeInferences = Callable[
    [str, Collection[str], timestamp_pb2.Timestamp], telemetry_store.InferenceSummary
]


class RolloutController:
    """Moves the active rollouts of `rollouts` on: `tick()` is one pass (tests call it
    directly, with the clock of `rollouts`), `start()` runs passes on the event loop until
    `close()`."""

    def __init__(self, rollouts: Rollouts, inference_summary: SummarizeInferences) -> None:
        self._rollouts = rollouts
        self._fleet = rollouts.fleet
        self._clock = rollouts.clock
        self._inference_summary = inference_summary
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        rollouts.wake = self.wake
        self._unsubscribe = self._fleet.subscribe(lambda _device: self.wake())

    # --- the loop -----------------------------------------------------------------------------

    def start(self) -> None:
        """Run passes on the running event loop: after every wake, at least once a second."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._task = self._loop.create_task(self._run())

    def close(self) -> None:
        """Stop the loop (on the loop's thread) and listening to the fleet."""
        self._unsubscribe()
        self._loop = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def wake(self) -> None:
        """Ask for a pass soon; safe from any thread (fleet callbacks may come from one)."""
        if self._loop is None or self._event is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._event.set)

    async def _run(self) -> None:
        assert self._event is not None
        while True:
            self._event.clear()
            self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), WAKE_INTERVAL_S)

    def tick(self) -> None:
        """One pass over every active rollout."""
        for record in self._rollouts.active_records():
            try:
                self._advance(record)
            except Exception:
                # A server bug in one rollout must not stop the others; the next pass retries.
                log.exception("rollout %s: controller pass failed", record.name)

    # --- one rollout ----------------------------------------------------------------------------

    def _advance(self, record: RolloutRecord) -> None:
        before = _fingerprint(record)
        state = record.state
        if state == R.ROLLOUT_STATE_QUEUED and not record.rollout.stages:
            strategy = record.rollout.strategy
            if (
                strategy.HasField("start_time")
                and strategy.start_time.ToNanoseconds() > self._clock()
            ):
                return  # EDG-111: a scheduled rollout stays QUEUED until its start_time
            self._start(record)
        if record.rollout.stages:
            self._observe(record)
        if record.state == R.ROLLOUT_STATE_ROLLING_BACK:
            self._confirm_rollback(record)
        elif (
            record.state in (R.ROLLOUT_STATE_QUEUED, R.ROLLOUT_STATE_RUNNING)
            and record.rollout.stages
            and not self._abort_criteria_met(record)
        ):
            self._advance_stages(record)
        if _fingerprint(record) != before:
            self._rollouts.commit(record)

    def _start(self, record: RolloutRecord) -> None:
        """Fix the device set (EDG-067): the targeted devices now, compatible online ones
        first (EDG-087), incompatible ones last and never dispatched (EDG-068)."""
        now = self._clock()
        release = record.rollout.release
        judged = [(device, incompatibility(release, device)) for device in self._targets(record)]
        judged.sort(key=lambda pair: (pair[1] is not None, not pair[0].online, pair[0].name))
        coverage = rollout_strategies.stage_coverage(record.rollout.strategy, len(judged))
        for i, count in enumerate(coverage):
            record.rollout.stages.add(
                index=i, state=R.ROLLOUT_STAGE_STATE_PENDING, device_count=count
            )
            if i in record.approvals:
                record.rollout.stages[i].approve_time.CopyFrom(timestamp(record.approvals[i]))
        for position, (device, problem) in enumerate(judged):
            stage = next((i for i, count in enumerate(coverage) if position < count), 0)
            status = R.RolloutDeviceStatus(
                device=device.name, state=R.ROLLOUT_DEVICE_STATE_PENDING, stage=stage
            )
            status.update_time.CopyFrom(timestamp(now))
            entry = DeviceEntry(status, DeviceTrack(position=position))
            if problem is not None:
                status.error.CopyFrom(problem)
                self._rollouts.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_INCOMPATIBLE, now)
            record.devices[device.name] = entry
        record.rollout.current_stage = 0

    def _targets(self, record: RolloutRecord) -> list[TargetedDevice]:
        return self._fleet.targeted_devices(record.deployment)

    # --- devices --------------------------------------------------------------------------------

    def _observe(self, record: RolloutRecord) -> None:
        """Per-device states from acknowledgements and reports (EDG-070, EDG-071, EDG-083)."""
        now = self._clock()
        if record.state != R.ROLLOUT_STATE_ROLLING_BACK:
            targeted = {device.name for device in self._targets(record)}
            for name, entry in record.devices.items():
                if entry.status.state in OPEN_DEVICE_STATES and name not in targeted:
                    self._rollouts.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_SKIPPED, now)
        watched = [
            name
            for name, entry in record.devices.items()
            if entry.status.state
            in (
                R.ROLLOUT_DEVICE_STATE_DISPATCHED,
                R.ROLLOUT_DEVICE_STATE_IN_PROGRESS,
                R.ROLLOUT_DEVICE_STATE_SUCCEEDED,
            )
        ]
        if not watched:
            return
        progress = self._fleet.device_progress(record.deployment, watched)
        timeout = rollout_strategies.duration_ns(record.rollout.strategy.device_timeout)
        for name in watched:
            seen = progress.get(name)
            if seen is not None:
                self._observe_device(record, record.devices[name], seen, timeout, now)

    def _observe_device(
        self,
        record: RolloutRecord,
        entry: DeviceEntry,
        seen: DeviceProgress,
        timeout: int,
        now: int,
    ) -> None:
        status, track = entry.status, entry.track
        set_state = self._rollouts.set_device_state
        if status.state == R.ROLLOUT_DEVICE_STATE_DISPATCHED:
            if seen.acknowledged_generation < track.generation:
                return  # DISPATCHED devices never time out (EDG-071)
            set_state(entry, R.ROLLOUT_DEVICE_STATE_IN_PROGRESS, now)
            status.acknowledge_time.CopyFrom(timestamp(now))
            track.acknowledged_ns = track.checked_ns = now
        reported = seen.reported
        attempt = self._attempt(record, reported, track.generation)
        if attempt is not None:
            status.phase = attempt.phase
        if status.state == R.ROLLOUT_DEVICE_STATE_SUCCEEDED:
            track.healthy = _healthy(reported)
            return
        if self._runs_release(record, reported):
            status.phase = U.UPDATE_PHASE_COMMITTED
            set_state(entry, R.ROLLOUT_DEVICE_STATE_SUCCEEDED, now)
            track.outcome_ns, track.healthy = now, _healthy(reported)
        elif attempt is not None and attempt.phase in ENDED_ATTEMPT:
            status.error.CopyFrom(attempt.error)
            set_state(entry, R.ROLLOUT_DEVICE_STATE_FAILED, now)
            track.outcome_ns = now
        else:
            # The device_timeout clock pauses while the device waits for an install window.
            if status.phase == U.UPDATE_PHASE_AWAITING_INSTALL_WINDOW:
                track.waited_ns += now - (track.checked_ns or now)
            track.checked_ns = now
            started = track.acknowledged_ns if track.acknowledged_ns is not None else now
            if now - started - track.waited_ns >= timeout:
                status.error.CopyFrom(_timeout_error(timeout))
                set_state(entry, R.ROLLOUT_DEVICE_STATE_TIMED_OUT, now)
                track.outcome_ns = now

    def _attempt(
        self,
        record: RolloutRecord,
        reported: U.ReportedDeployment | None,
        generation: int,
    ) -> U.UpdateAttempt | None:
        """The device's update attempt for this rollout's release in this dispatch, if any."""
        if reported is None or not reported.HasField("last_update"):
            return None
        attempt = reported.last_update
        if (
            attempt.rollout != record.name
            or attempt.artifact_digest != record.rollout.release.artifact.digest
            or attempt.generation < generation
        ):
            return None
        return attempt

    def _runs_release(self, record: RolloutRecord, reported: U.ReportedDeployment | None) -> bool:
        if reported is None or not reported.HasField("running"):
            return False
        running = reported.running
        return (
            running.rollout == record.name
            and running.artifact_digest == record.rollout.release.artifact.digest
        )

    def _confirm_rollback(self, record: RolloutRecord) -> None:
        """ROLLING_BACK devices become ROLLED_BACK once they report the previous release (or
        no entry, without one), TIMED_OUT after device_timeout; then the rollout is
        ROLLED_BACK (EDG-078)."""
        now = self._clock()
        rolling = [
            name
            for name, entry in record.devices.items()
            if entry.status.state == R.ROLLOUT_DEVICE_STATE_ROLLING_BACK
        ]
        progress = self._fleet.device_progress(record.deployment, rolling) if rolling else {}
        previous = (
            record.rollout.previous_release if record.rollout.HasField("previous_release") else None
        )
        timeout = rollout_strategies.duration_ns(record.rollout.strategy.device_timeout)
        for name in rolling:
            entry = record.devices[name]
            seen = progress.get(name)
            if seen is not None and _rolled_back(previous, seen.reported):
                entry.status.ClearField("error")
                self._rollouts.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_ROLLED_BACK, now)
            elif now - (entry.track.rollback_ns or now) >= timeout:
                entry.status.error.CopyFrom(_timeout_error(timeout))
                self._rollouts.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_TIMED_OUT, now)
        if not any(
            entry.status.state == R.ROLLOUT_DEVICE_STATE_ROLLING_BACK
            for entry in record.devices.values()
        ):
            self._rollouts.finish(record, R.ROLLOUT_STATE_ROLLED_BACK, "rollback finished")

    # --- stages ---------------------------------------------------------------------------------

    def _advance_stages(self, record: RolloutRecord) -> None:
        rollout = record.rollout
        while True:
            index = rollout.current_stage
            stage = rollout.stages[index]
            if not self._stage_dispatches(record, stage):
                return
            if stage.state == R.ROLLOUT_STAGE_STATE_DISPATCHING:
                stage.state = R.ROLLOUT_STAGE_STATE_VERIFYING
                record.gate_since_ns = self._clock()
            verdict = self._gate(record, index)
            if verdict is True and any(
                entry.status.state == R.ROLLOUT_DEVICE_STATE_PENDING
                and entry.track.position < stage.device_count
                for entry in record.devices.values()
            ):
                verdict = None  # its devices wait for the rate or a window: not yet passed
            if verdict is None:
                return
            if isinstance(verdict, str):
                self._fail(
                    record,
                    error_status(9, "ROLLOUT_HEALTH_GATE_FAILED", verdict, stage=str(index)),
                    f"stage {index}: {verdict}",
                )
                return
            now = self._clock()
            stage.state = R.ROLLOUT_STAGE_STATE_SUCCEEDED
            stage.end_time.CopyFrom(timestamp(now))
            stage.ClearField("bake_start_time")
            if index == len(rollout.stages) - 1:
                self._succeed(record)
                return
            rollout.current_stage = index + 1

    def _stage_dispatches(self, record: RolloutRecord, stage: R.RolloutStageStatus) -> bool:
        """Begin the current stage once approved (EDG-112) and dispatch its PENDING devices
        while an update window is open (EDG-086); whether its gate is to be evaluated: the
        stage has dispatched, now or before. A rollout waiting to dispatch its first stage
        stays QUEUED."""
        index = stage.index
        if stage.state == R.ROLLOUT_STAGE_STATE_PENDING and (
            record.rollout.strategy.stages[index].require_approval and index not in record.approvals
        ):
            stage.state = R.ROLLOUT_STAGE_STATE_AWAITING_APPROVAL
        if stage.state == R.ROLLOUT_STAGE_STATE_AWAITING_APPROVAL and index not in record.approvals:
            return False
        closed = self._window_closed(record)
        if stage.state in (
            R.ROLLOUT_STAGE_STATE_PENDING,
            R.ROLLOUT_STAGE_STATE_AWAITING_APPROVAL,
        ):
            if closed:
                return False
            self._begin_stage(record, stage)
        if stage.state not in (R.ROLLOUT_STAGE_STATE_DISPATCHING, R.ROLLOUT_STAGE_STATE_VERIFYING):
            return False
        if closed:
            # Devices already handed the release go on, and a verifying stage's gate with
            # them; the others dispatch once a window opens.
            return stage.state == R.ROLLOUT_STAGE_STATE_VERIFYING
        self._dispatch(record, stage.device_count)
        return True

    def _begin_stage(self, record: RolloutRecord, stage: R.RolloutStageStatus) -> None:
        now = self._clock()
        stage.state = R.ROLLOUT_STAGE_STATE_DISPATCHING
        stage.start_time.CopyFrom(timestamp(now))
        if record.state == R.ROLLOUT_STATE_QUEUED:
            record.counting_since_ns = now
            self._rollouts.transition(
                record, R.ROLLOUT_STATE_RUNNING, f"dispatching stage {stage.index}"
            )

    def _window_closed(self, record: RolloutRecord) -> bool:
        """Whether dispatch must wait for one of the strategy's update windows (EDG-086);
        `next_update_window_time` then holds the next opening, and is cleared otherwise."""
        rollout = record.rollout
        windows = rollout.strategy.update_windows
        now = dt.datetime.fromtimestamp(self._clock() / 1e9, dt.UTC)
        if window_open(windows, now):
            rollout.ClearField("next_update_window_time")
            return False
        opens = next_opening(windows, now)
        assert opens is not None  # windows exist, since none is open
        rollout.next_update_window_time.FromDatetime(opens.astimezone(dt.UTC))
        return True

    def _dispatch(self, record: RolloutRecord, coverage: int) -> None:
        """Hand the release to the PENDING devices the stage covers (EDG-070, EDG-113):
        the stage's own and retried ones (EDG-114)."""
        chosen = sorted(
            (
                name
                for name, entry in record.devices.items()
                if entry.status.state == R.ROLLOUT_DEVICE_STATE_PENDING
                and entry.track.position < coverage
            ),
            key=lambda name: record.devices[name].track.position,
        )
        allowance = self._rate_allowance(record)
        if allowance is not None:
            chosen = chosen[:allowance]
        if not chosen:
            return
        assigned = AssignedRelease(
            record.rollout.release, record.name, list(record.rollout.strategy.install_windows)
        )
        generations = self._fleet.assign(record.deployment, dict.fromkeys(chosen, assigned))
        now = self._clock()
        for name in chosen:
            entry = record.devices[name]
            entry.track.generation = generations.get(name, 0)
            entry.status.dispatch_time.CopyFrom(timestamp(now))
            self._rollouts.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_DISPATCHED, now)

    def _rate_allowance(self, record: RolloutRecord) -> int | None:
        """How many more devices the strategy's dispatch rate lets this pass hand the
        release (EDG-085): the current rate, less the devices dispatched in the last 60
        seconds; None without a rate."""
        strategy = record.rollout.strategy
        if not strategy.HasField("rate"):
            return None
        rate = strategy.rate
        succeeded = sum(
            entry.status.state == R.ROLLOUT_DEVICE_STATE_SUCCEEDED
            for entry in record.devices.values()
        )
        step = rate.increase_after_succeeded_count or rate.base_per_minute
        current = rate.base_per_minute * (rate.increment_factor or 1.0) ** (succeeded // step)
        if rate.max_per_minute:
            current = min(current, rate.max_per_minute)
        since = self._clock() - RATE_INTERVAL_NS
        recent = sum(
            entry.status.HasField("dispatch_time")
            and entry.status.dispatch_time.ToNanoseconds() > since
            for entry in record.devices.values()
        )
        return max(0, math.floor(current) - recent)

    def _gate(self, record: RolloutRecord, index: int) -> bool | str | None:
        """The stage's health gate (EDG-072, EDG-115): True when it passed, a reason in words
        when it failed, None while it waits."""
        now = self._clock()
        rollout = record.rollout
        stage = rollout.stages[index]
        gate = rollout.strategy.stages[index].gate
        eligible = [
            entry
            for entry in record.devices.values()
            if entry.track.position < stage.device_count and entry.status.state not in NOT_ELIGIBLE
        ]
        healthy = sum(
            entry.status.state == R.ROLLOUT_DEVICE_STATE_SUCCEEDED and entry.track.healthy
            for entry in eligible
        )
        still_open = sum(entry.status.state in OPEN_DEVICE_STATES for entry in eligible)
        needed = math.ceil(round(len(eligible) * gate.min_healthy_percent / 100, 9))
        telemetry_ready = True
        if gate.HasField("telemetry"):
            verdict = self._telemetry(record, stage, gate.telemetry, eligible)
            if isinstance(verdict, str):
                return verdict
            telemetry_ready = verdict
        if not eligible:
            return True
        if healthy + still_open < needed:
            return f"{needed} healthy devices needed, at most {healthy + still_open} possible"
        if healthy >= needed and telemetry_ready:
            if not stage.HasField("bake_start_time"):
                stage.bake_start_time.CopyFrom(timestamp(now))
            baked = now - stage.bake_start_time.ToNanoseconds()
            return True if baked >= rollout_strategies.duration_ns(gate.bake_duration) else None
        stage.ClearField("bake_start_time")
        limit = rollout_strategies.duration_ns(gate.timeout)
        since = record.gate_since_ns if record.gate_since_ns is not None else now
        if limit and now - since >= limit:
            return f"gate timed out with {healthy} of {needed} healthy devices"
        return None

    def _telemetry(
        self,
        record: RolloutRecord,
        stage: R.RolloutStageStatus,
        limits: R.TelemetryGate,
        eligible: list[DeviceEntry],
    ) -> bool | str:
        """Whether enough inference events exist, or why the limits failed the gate."""
        devices = [entry.status.device for entry in eligible]
        found = self._inference_summary(record.name, devices, stage.start_time)
        summary = found.to_proto()
        stage.telemetry.CopyFrom(summary)
        count, errors = found.count, found.error_count
        if count < max(1, limits.min_inference_count):
            return False
        if limits.HasField("max_error_percent") and 100 * errors / count > limits.max_error_percent:
            return f"{errors} of {count} inferences failed, above {limits.max_error_percent}%"
        limit = rollout_strategies.duration_ns(limits.max_latency_p95)
        p95 = summary.latency_p95.ToNanoseconds()
        if limit and found.latency_p95 is not None and p95 > limit:
            return f"p95 latency {p95 / 1e9:.3f}s above {limit / 1e9:.3f}s"
        return True

    def _abort_criteria_met(self, record: RolloutRecord) -> bool:
        """EDG-073: while RUNNING, the outcomes since the start or last resume."""
        strategy = record.rollout.strategy
        if record.state != R.ROLLOUT_STATE_RUNNING or not strategy.HasField("abort_criteria"):
            return False
        criteria = strategy.abort_criteria
        outcomes = [
            entry
            for entry in record.devices.values()
            if entry.status.state in OUTCOMES
            and entry.track.outcome_ns is not None
            and entry.track.outcome_ns >= record.counting_since_ns
        ]
        completed = len(outcomes)
        failed = sum(entry.status.state in FAILED_OUTCOMES for entry in outcomes)
        if completed < max(1, criteria.min_completed_device_count):
            return False
        if 100 * failed / completed <= criteria.failure_threshold_percent:
            return False
        message = (
            f"{failed} of {completed} devices failed, above {criteria.failure_threshold_percent}%"
        )
        error = error_status(
            9,
            "ROLLOUT_FAILURE_THRESHOLD_EXCEEDED",
            message,
            failed=str(failed),
            completed=str(completed),
        )
        self._fail(record, error, message)
        return True

    def _fail(self, record: RolloutRecord, error: object, message: str) -> None:
        """A failed gate or met abort criteria (EDG-074): the error, the current stage
        FAILED, then the failure action."""
        now = self._clock()
        rollout = record.rollout
        rollout.status.error.CopyFrom(error)
        stage = rollout.stages[rollout.current_stage]
        stage.state = R.ROLLOUT_STAGE_STATE_FAILED
        stage.end_time.CopyFrom(timestamp(now))
        stage.ClearField("bake_start_time")
        action = rollout.strategy.failure_action
        if action == R.FAILURE_ACTION_PAUSE:
            self._rollouts.transition(record, R.ROLLOUT_STATE_PAUSED, message)
        elif action == R.FAILURE_ACTION_DO_NOTHING:
            self._rollouts.finish(record, R.ROLLOUT_STATE_FAILED, message)
        else:
            self._rollouts.enter_rollback(record, message)

    def _succeed(self, record: RolloutRecord) -> None:
        """EDG-075: the release becomes current; the fleet gives it, without a rollout name,
        to targeted devices outside the rollout that can run it (they joined meanwhile)."""
        self._fleet.set_current_release(record.deployment, record.rollout.release)
        self._rollouts.finish(record, R.ROLLOUT_STATE_SUCCEEDED, "every stage passed its gate")


def incompatibility(release: release_pb2.ModelRelease, device: TargetedDevice) -> object | None:
    """Why `device` cannot run `release` (spec/edge.md, "Compatibility"), as the
    DEVICE_INCOMPATIBLE ErrorStatus; None when it can (or reported no capabilities)."""
    capabilities: capabilities_pb2.DeviceCapabilities | None = device.capabilities
    if capabilities is None or not capabilities.runtimes:
        return None
    config = release.runtime_config
    runtime = next((r for r in capabilities.runtimes if r.name == config.runtime), None)
    if runtime is None:
        return error_status(
            9,
            "DEVICE_INCOMPATIBLE",
            f"the device has no runtime {config.runtime!r}",
            runtime=config.runtime,
        )
    if config.precision == tensor_pb2.DATA_TYPE_UNSPECIFIED:
        return None
    wanted = set(config.execution_providers)
    providers = [p for p in runtime.execution_providers if not wanted or p.name in wanted]
    if providers and all(p.precisions and config.precision not in p.precisions for p in providers):
        precision = tensor_pb2.DataType.Name(config.precision)
        return error_status(
            9,
            "DEVICE_INCOMPATIBLE",
            f"no execution provider of {config.runtime!r} supports {precision}",
            precision=precision,
        )
    return None


def _healthy(reported: U.ReportedDeployment | None) -> bool:
    return reported is None or reported.health != U.HEALTH_STATE_UNHEALTHY


def _rolled_back(
    previous: release_pb2.ModelRelease | None, reported: U.ReportedDeployment | None
) -> bool:
    if previous is None:
        return reported is None
    if reported is None or not reported.HasField("running"):
        return False
    running = reported.running
    return (
        running.artifact_digest == previous.artifact.digest
        and running.model_version == previous.model_version
    )


def _timeout_error(timeout: int) -> object:
    return error_status(
        4,
        "DEVICE_UPDATE_TIMEOUT",
        f"the device did not finish within {timeout / 1e9:g}s",
    )


def _fingerprint(record: RolloutRecord) -> bytes:
    """What a pass may change, to persist a record only when it changed."""
    rollout = type(record.rollout)()
    rollout.CopyFrom(record.rollout)
    rollout.ClearField("update_time")
    digest = hashlib.sha256(rollout.SerializeToString(deterministic=True))
    digest.update(record.internal().encode())
    for entry in record.devices.values():
        digest.update(entry.status.SerializeToString(deterministic=True))
        track = entry.track
        digest.update(
            repr(
                (
                    track.generation,
                    track.acknowledged_ns,
                    track.outcome_ns,
                    track.rollback_ns,
                    track.final_once,
                    track.healthy,
                )
            ).encode()
        )
    return digest.digest()
