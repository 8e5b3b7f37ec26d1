"""Rollout strategies (spec/edge.md, "Rollouts"; rollout.proto): the checks CreateRollout and
RollbackRollout apply to a RolloutStrategy (EDG-064), its normalised form as a rollout stores
it (EDG-066), the default strategy of a rollback, and how many devices each stage covers."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf import duration_pb2, timestamp_pb2

from lepton.edge.v1 import rollout_pb2, update_window_pb2
from lepton_server.runtime.errors import Unimplemented, invalid_field

FEATURE_ROLLOUT_RATE = "edge.rollout_rate"
FEATURE_UPDATE_WINDOWS = "edge.update_windows"

MAX_STAGES = 100
MAX_WINDOWS = 50
SECOND_NS = 10**9
DAY_S = 24 * 3600
DEFAULT_DEVICE_TIMEOUT_S = 3600
MAX_START_AHEAD_S = 365 * DAY_S


def normalise_strategy(
    given: rollout_pb2.RolloutStrategy,
    *,
    field: str,
    now_ns: int,
    features: Collection[str] = (),
) -> rollout_pb2.RolloutStrategy:
    """The strategy a rollout stores and runs (EDG-066): `given` checked (INVALID_FIELD on
    `field` and its sub-paths, FEATURE_NOT_SUPPORTED for `rate` and `update_windows` unless
    `features` lists theirs), with every default filled in and a final 100 percent stage
    appended when the last stage covers fewer devices."""
    check_strategy(given, field=field, now_ns=now_ns, features=features)
    strategy = rollout_pb2.RolloutStrategy()
    strategy.CopyFrom(given)
    if not strategy.stages:
        strategy.stages.add(percent=100)
    last = strategy.stages[-1]
    # A count stage's coverage depends on the device count, unknown until the rollout starts:
    # the appended 100 percent stage makes "every device" explicit either way.
    if last.WhichOneof("size") == "device_count" or last.percent < 100:
        strategy.stages.add(percent=100)
    _fill_gate(strategy.default_gate)
    for stage in strategy.stages:
        if not stage.HasField("gate"):
            stage.gate.CopyFrom(strategy.default_gate)
        _fill_gate(stage.gate)
    if (
        strategy.HasField("abort_criteria")
        and strategy.abort_criteria.min_completed_device_count == 0
    ):
        strategy.abort_criteria.min_completed_device_count = 1
    if _nanos(strategy.device_timeout) == 0:
        strategy.device_timeout.FromSeconds(DEFAULT_DEVICE_TIMEOUT_S)
    if strategy.failure_action == rollout_pb2.FAILURE_ACTION_UNSPECIFIED:
        strategy.failure_action = rollout_pb2.FAILURE_ACTION_ROLLBACK
    return strategy


def rollback_strategy() -> rollout_pb2.RolloutStrategy:
    """The strategy of a rollout that undoes a finished one when the request names none
    (EDG-079): one 100 percent stage, min_healthy_percent 0, failure action DO_NOTHING."""
    strategy = rollout_pb2.RolloutStrategy(failure_action=rollout_pb2.FAILURE_ACTION_DO_NOTHING)
    strategy.default_gate.min_healthy_percent = 0
    strategy.stages.add(percent=100)
    return strategy


def stage_coverage(strategy: rollout_pb2.RolloutStrategy, devices: int) -> list[int]:
    """The cumulative number of devices each stage covers among `devices` (EDG-069):
    max(1, ceil(devices * percent / 100)) or min(device_count, devices)."""
    covered = []
    for stage in strategy.stages:
        if devices == 0:
            covered.append(0)
        elif stage.WhichOneof("size") == "device_count":
            covered.append(min(stage.device_count, devices))
        else:
            covered.append(min(devices, max(1, math.ceil(devices * stage.percent / 100))))
    return covered


def gate_of(strategy: rollout_pb2.RolloutStrategy, stage: int) -> rollout_pb2.HealthGate:
    """The health gate after `stage` of a normalised strategy."""
    return strategy.stages[stage].gate


def duration_ns(value: duration_pb2.Duration) -> int:
    """A Duration in nanoseconds."""
    return _nanos(value)


# --- checks -----------------------------------------------------------------------------------


def check_strategy(
    strategy: rollout_pb2.RolloutStrategy,
    *,
    field: str,
    now_ns: int,
    features: Collection[str] = (),
) -> None:
    """INVALID_FIELD for the first rule of rollout.proto `strategy` breaks; UNIMPLEMENTED
    FEATURE_NOT_SUPPORTED for an optional feature the server does not offer."""
    if strategy.HasField("rate"):
        if FEATURE_ROLLOUT_RATE not in features:
            raise unsupported(FEATURE_ROLLOUT_RATE, f"{field}.rate")
        _check_rate(strategy.rate, f"{field}.rate")
    if strategy.update_windows:
        if FEATURE_UPDATE_WINDOWS not in features:
            raise unsupported(FEATURE_UPDATE_WINDOWS, f"{field}.update_windows")
        check_windows(strategy.update_windows, f"{field}.update_windows")
    _check_stages(strategy.stages, f"{field}.stages")
    if strategy.HasField("default_gate"):
        _check_gate(strategy.default_gate, f"{field}.default_gate")
    if strategy.HasField("abort_criteria"):
        criteria, path = strategy.abort_criteria, f"{field}.abort_criteria"
        threshold = criteria.failure_threshold_percent
        if not 0 < threshold <= 100:  # NaN fails this too
            raise invalid_field(f"{path}.failure_threshold_percent", "must be in (0, 100]")
        if criteria.min_completed_device_count < 0:
            raise invalid_field(f"{path}.min_completed_device_count", "must not be negative")
    timeout = _checked_duration(strategy.device_timeout, f"{field}.device_timeout")
    if timeout != 0 and not SECOND_NS <= timeout <= 30 * DAY_S * SECOND_NS:
        raise invalid_field(f"{field}.device_timeout", "must be between 1 second and 30 days")
    if strategy.failure_action not in rollout_pb2.FailureAction.values():
        raise invalid_field(f"{field}.failure_action", "is not a FailureAction")
    if strategy.HasField("start_time"):
        start = _checked_timestamp(strategy.start_time, f"{field}.start_time")
        if start > now_ns + MAX_START_AHEAD_S * SECOND_NS:
            raise invalid_field(f"{field}.start_time", "must be at most 365 days ahead")
    check_windows(strategy.install_windows, f"{field}.install_windows")


def check_windows(windows: Sequence[update_window_pb2.UpdateWindow], field: str) -> None:
    """INVALID_FIELD unless `windows` are at most 50 valid UpdateWindows."""
    if len(windows) > MAX_WINDOWS:
        raise invalid_field(field, f"at most {MAX_WINDOWS} windows")
    for i, window in enumerate(windows):
        path = f"{field}[{i}]"
        if any(not 1 <= day <= 7 for day in window.days_of_week):
            raise invalid_field(f"{path}.days_of_week", "days are 1 (Monday) to 7 (Sunday)")
        if not 0 <= window.start_minute <= 1439:
            raise invalid_field(f"{path}.start_minute", "must be between 0 and 1439")
        length = _checked_duration(window.duration, f"{path}.duration")
        if not 60 * SECOND_NS <= length <= 7 * DAY_S * SECOND_NS:
            raise invalid_field(f"{path}.duration", "must be between 1 minute and 7 days")
        if window.time_zone:
            try:
                ZoneInfo(window.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise invalid_field(
                    f"{path}.time_zone", f"unknown time zone {window.time_zone!r}"
                ) from None


def unsupported(feature: str, what: str) -> Unimplemented:
    """UNIMPLEMENTED, FEATURE_NOT_SUPPORTED: `what` needs `feature`."""
    return Unimplemented(
        reason="FEATURE_NOT_SUPPORTED",
        message=f"{what} needs feature {feature}, which this server does not offer",
        metadata={"feature": feature},
    )


def _check_stages(stages: Sequence[rollout_pb2.RolloutStage], field: str) -> None:
    if len(stages) > MAX_STAGES:
        raise invalid_field(field, f"at most {MAX_STAGES} stages")
    kinds = set()
    previous: float = 0
    for i, stage in enumerate(stages):
        path = f"{field}[{i}]"
        kind = stage.WhichOneof("size")
        if kind is None:
            raise invalid_field(f"{path}.size", "a stage needs percent or device_count")
        kinds.add(kind)
        if len(kinds) > 1:
            raise invalid_field(f"{path}.{kind}", "percent and device_count stages do not mix")
        size = stage.percent if kind == "percent" else stage.device_count
        if kind == "percent" and not 0 < size <= 100:
            raise invalid_field(f"{path}.percent", "must be in (0, 100]")
        if kind == "device_count" and size <= 0:
            raise invalid_field(f"{path}.device_count", "must be > 0")
        if size <= previous:
            raise invalid_field(f"{path}.{kind}", "stage sizes must be strictly increasing")
        previous = size
        if stage.HasField("gate"):
            _check_gate(stage.gate, f"{path}.gate")


def _check_gate(gate: rollout_pb2.HealthGate, field: str) -> None:
    if gate.HasField("min_healthy_percent") and not 0 <= gate.min_healthy_percent <= 100:
        raise invalid_field(f"{field}.min_healthy_percent", "must be in [0, 100]")
    bake = _checked_duration(gate.bake_duration, f"{field}.bake_duration")
    if bake > 7 * DAY_S * SECOND_NS:
        raise invalid_field(f"{field}.bake_duration", "must be at most 7 days")
    timeout = _checked_duration(gate.timeout, f"{field}.timeout")
    if timeout > 30 * DAY_S * SECOND_NS:
        raise invalid_field(f"{field}.timeout", "must be at most 30 days")
    if gate.HasField("telemetry"):
        telemetry, path = gate.telemetry, f"{field}.telemetry"
        if telemetry.HasField("max_error_percent") and not 0 <= telemetry.max_error_percent <= 100:
            raise invalid_field(f"{path}.max_error_percent", "must be in [0, 100]")
        _checked_duration(telemetry.max_latency_p95, f"{path}.max_latency_p95")
        if telemetry.min_inference_count < 0:
            raise invalid_field(f"{path}.min_inference_count", "must not be negative")


def _check_rate(rate: rollout_pb2.DispatchRate, field: str) -> None:
    if not 1 <= rate.base_per_minute <= 10000:
        raise invalid_field(f"{field}.base_per_minute", "must be between 1 and 10000")
    if rate.increment_factor != 0 and not 1.0 <= rate.increment_factor <= 5.0:
        raise invalid_field(f"{field}.increment_factor", "must be between 1.0 and 5.0")
    if rate.increase_after_succeeded_count < 0:
        raise invalid_field(f"{field}.increase_after_succeeded_count", "must not be negative")
    if rate.max_per_minute != 0 and rate.max_per_minute < rate.base_per_minute:
        raise invalid_field(f"{field}.max_per_minute", "must be 0 or >= base_per_minute")


def _fill_gate(gate: rollout_pb2.HealthGate) -> None:
    if not gate.HasField("min_healthy_percent"):
        gate.min_healthy_percent = 100
    if gate.HasField("telemetry") and gate.telemetry.min_inference_count == 0:
        gate.telemetry.min_inference_count = 1


def _nanos(value: duration_pb2.Duration) -> int:
    return value.seconds * SECOND_NS + value.nanos


def _checked_duration(value: duration_pb2.Duration, field: str) -> int:
    """The duration in ns; INVALID_FIELD when negative or malformed (mixed signs, nanos out
    of range)."""
    if value.seconds < 0 or value.nanos < 0 or value.nanos >= SECOND_NS:
        raise invalid_field(field, "must be a non-negative duration")
    return _nanos(value)


def _checked_timestamp(value: timestamp_pb2.Timestamp, field: str) -> int:
    if not 0 <= value.nanos < SECOND_NS:
        raise invalid_field(field, "nanos must be in [0, 1e9)")
    return value.seconds * SECOND_NS + value.nanos
