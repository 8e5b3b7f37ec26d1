"""Checks and normalisation of RolloutStrategy (EDG-064, EDG-066, EDG-069, EDG-079, EDG-111,
EDG-113)."""

from __future__ import annotations

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from lepton.edge.v1 import rollout_pb2, update_window_pb2
from lepton_server.edge.rollout_strategies import (
    normalise_strategy,
    rollback_strategy,
    stage_coverage,
)
from lepton_server.runtime.errors import InvalidArgument, Unimplemented

NOW = 1_800_000_000 * 10**9
DAY = 24 * 3600


def normalise(**fields: object) -> rollout_pb2.RolloutStrategy:
    return normalise_strategy(
        rollout_pb2.RolloutStrategy(**fields), field="rollout.strategy", now_ns=NOW
    )


def rejected(field: str, **fields: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalise(**fields)
    assert caught.value.reason == "INVALID_FIELD"
    assert [v.field for v in caught.value.violations] == [field]


def stages(*sizes: object) -> list[rollout_pb2.RolloutStage]:
    return [
        rollout_pb2.RolloutStage(percent=s)
        if isinstance(s, float)
        else rollout_pb2.RolloutStage(device_count=s)
        for s in sizes
    ]


def seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(value * 10**9))
    return duration


def test_empty_strategy_is_one_full_stage_with_every_default():
    # EDG-066: defaults filled in, so Get shows exactly what runs.
    strategy = normalise()
    assert [s.percent for s in strategy.stages] == [100]
    assert strategy.stages[0].gate.min_healthy_percent == 100
    assert strategy.default_gate.min_healthy_percent == 100
    assert strategy.device_timeout.seconds == 3600
    assert strategy.failure_action == rollout_pb2.FAILURE_ACTION_ROLLBACK
    assert not strategy.HasField("abort_criteria")


def test_a_final_full_stage_is_appended_and_stages_take_the_default_gate():
    default = rollout_pb2.HealthGate(bake_duration=seconds(60))
    own = rollout_pb2.HealthGate(min_healthy_percent=50)
    strategy = normalise(
        stages=[
            rollout_pb2.RolloutStage(percent=10, gate=own),
            rollout_pb2.RolloutStage(percent=50),
        ],
        default_gate=default,
    )
    assert [s.percent for s in strategy.stages] == [10, 50, 100]
    assert strategy.stages[0].gate.min_healthy_percent == 50
    assert strategy.stages[0].gate.bake_duration.seconds == 0
    assert strategy.stages[1].gate.bake_duration.seconds == 60
    assert strategy.stages[1].gate.min_healthy_percent == 100
    assert strategy.stages[2].gate == strategy.stages[1].gate
    assert [s.percent for s in normalise(stages=stages(50.0, 100.0)).stages] == [50, 100]


def test_count_stages_get_a_final_full_stage_too():
    strategy = normalise(stages=stages(1, 5))
    assert [s.WhichOneof("size") for s in strategy.stages] == [
        "device_count",
        "device_count",
        "percent",
    ]
    assert stage_coverage(strategy, 3) == [1, 3, 3]
    assert stage_coverage(strategy, 10) == [1, 5, 10]


def test_other_defaults_are_filled():
    strategy = normalise(
        abort_criteria=rollout_pb2.AbortCriteria(failure_threshold_percent=20),
        default_gate=rollout_pb2.HealthGate(telemetry=rollout_pb2.TelemetryGate()),
        failure_action=rollout_pb2.FAILURE_ACTION_PAUSE,
    )
    assert strategy.abort_criteria.min_completed_device_count == 1
    assert strategy.stages[0].gate.telemetry.min_inference_count == 1
    assert strategy.failure_action == rollout_pb2.FAILURE_ACTION_PAUSE


def test_stage_coverage():
    # EDG-069: max(1, ceil(N * percent / 100)), min(count, N).
    strategy = normalise(stages=stages(1.0, 20.0, 100.0))
    assert stage_coverage(strategy, 10) == [1, 2, 10]
    assert stage_coverage(strategy, 3) == [1, 1, 3]
    assert stage_coverage(strategy, 0) == [0, 0, 0]
    assert stage_coverage(normalise(stages=stages(33.3)), 7) == [3, 7]


def test_rollback_default_strategy():
    # EDG-079: one 100 % stage, min_healthy_percent 0, DO_NOTHING.
    strategy = normalise_strategy(rollback_strategy(), field="strategy", now_ns=NOW)
    assert [s.percent for s in strategy.stages] == [100]
    assert strategy.stages[0].gate.min_healthy_percent == 0
    assert strategy.failure_action == rollout_pb2.FAILURE_ACTION_DO_NOTHING


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("rollout.strategy.stages[1].percent", {"stages": stages(50.0, 50.0)}),
        ("rollout.strategy.stages[1].percent", {"stages": stages(50.0, 20.0)}),
        ("rollout.strategy.stages[0].percent", {"stages": stages(0.0)}),
        ("rollout.strategy.stages[0].percent", {"stages": stages(100.5)}),
        ("rollout.strategy.stages[0].percent", {"stages": stages(float("nan"))}),
        ("rollout.strategy.stages[0].device_count", {"stages": stages(-1)}),
        ("rollout.strategy.stages[1].percent", {"stages": stages(1, 50.0)}),
        ("rollout.strategy.stages[0].size", {"stages": [rollout_pb2.RolloutStage()]}),
        ("rollout.strategy.stages", {"stages": stages(*range(1, 102))}),
        (
            "rollout.strategy.default_gate.min_healthy_percent",
            {"default_gate": rollout_pb2.HealthGate(min_healthy_percent=101)},
        ),
        (
            "rollout.strategy.stages[0].gate.min_healthy_percent",
            {
                "stages": [
                    rollout_pb2.RolloutStage(
                        percent=10, gate=rollout_pb2.HealthGate(min_healthy_percent=-1)
                    )
                ]
            },
        ),
        (
            "rollout.strategy.default_gate.bake_duration",
            {"default_gate": rollout_pb2.HealthGate(bake_duration=seconds(7 * DAY + 1))},
        ),
        (
            "rollout.strategy.default_gate.timeout",
            {"default_gate": rollout_pb2.HealthGate(timeout=seconds(30 * DAY + 1))},
        ),
        (
            "rollout.strategy.default_gate.timeout",
            {"default_gate": rollout_pb2.HealthGate(timeout=seconds(-1))},
        ),
        (
            "rollout.strategy.default_gate.telemetry.max_error_percent",
            {
                "default_gate": rollout_pb2.HealthGate(
                    telemetry=rollout_pb2.TelemetryGate(max_error_percent=100.5)
                )
            },
        ),
        (
            "rollout.strategy.default_gate.telemetry.min_inference_count",
            {
                "default_gate": rollout_pb2.HealthGate(
                    telemetry=rollout_pb2.TelemetryGate(min_inference_count=-1)
                )
            },
        ),
        (
            "rollout.strategy.abort_criteria.failure_threshold_percent",
            {"abort_criteria": rollout_pb2.AbortCriteria(failure_threshold_percent=0)},
        ),
        (
            "rollout.strategy.abort_criteria.failure_threshold_percent",
            {"abort_criteria": rollout_pb2.AbortCriteria(failure_threshold_percent=100.1)},
        ),
        (
            "rollout.strategy.abort_criteria.min_completed_device_count",
            {
                "abort_criteria": rollout_pb2.AbortCriteria(
                    failure_threshold_percent=10, min_completed_device_count=-1
                )
            },
        ),
        ("rollout.strategy.device_timeout", {"device_timeout": seconds(0.5)}),
        ("rollout.strategy.device_timeout", {"device_timeout": seconds(30 * DAY + 1)}),
        (
            "rollout.strategy.start_time",
            {"start_time": timestamp_pb2.Timestamp(seconds=NOW // 10**9 + 366 * DAY)},
        ),
    ],
)
def test_rule_breaking_strategies_are_invalid_field(field, fields):
    # EDG-064
    rejected(field, **fields)


def test_start_time_up_to_a_year_ahead_or_in_the_past_is_accepted():
    # EDG-111: start_time is core.
    for offset in (-DAY, 365 * DAY):
        stamp = timestamp_pb2.Timestamp(seconds=NOW // 10**9 + offset)
        assert normalise(start_time=stamp).start_time == stamp


def window(**fields: object) -> update_window_pb2.UpdateWindow:
    fields.setdefault("duration", seconds(3600))
    return update_window_pb2.UpdateWindow(**fields)


def test_install_windows_are_core_and_checked():
    # EDG-113
    good = [window(days_of_week=[1, 7], start_minute=1439, time_zone="Europe/Berlin")]
    assert list(normalise(install_windows=good).install_windows) == good
    cases = [
        ("rollout.strategy.install_windows[0].days_of_week", window(days_of_week=[0])),
        ("rollout.strategy.install_windows[0].start_minute", window(start_minute=1440)),
        ("rollout.strategy.install_windows[0].duration", window(duration=seconds(59))),
        ("rollout.strategy.install_windows[0].duration", window(duration=seconds(7 * DAY + 1))),
        ("rollout.strategy.install_windows[0].time_zone", window(time_zone="Mars/Olympus")),
    ]
    for field, bad in cases:
        rejected(field, install_windows=[bad])
    rejected("rollout.strategy.install_windows", install_windows=[window()] * 51)


def test_rate_and_update_windows_need_their_features():
    with pytest.raises(Unimplemented) as caught:
        normalise(rate=rollout_pb2.DispatchRate(base_per_minute=10))
    assert caught.value.reason == "FEATURE_NOT_SUPPORTED"
    assert caught.value.metadata == {"feature": "edge.rollout_rate"}
    with pytest.raises(Unimplemented) as caught:
        normalise(update_windows=[window()])
    assert caught.value.metadata == {"feature": "edge.update_windows"}


def test_rate_values_are_checked_where_the_feature_is_offered():
    features = ("edge.rollout_rate",)
    for field, rate in [
        ("base_per_minute", rollout_pb2.DispatchRate(base_per_minute=0)),
        ("increment_factor", rollout_pb2.DispatchRate(base_per_minute=1, increment_factor=6)),
        (
            "increase_after_succeeded_count",
            rollout_pb2.DispatchRate(base_per_minute=1, increase_after_succeeded_count=-1),
        ),
        ("max_per_minute", rollout_pb2.DispatchRate(base_per_minute=5, max_per_minute=4)),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            normalise_strategy(
                rollout_pb2.RolloutStrategy(rate=rate),
                field="strategy",
                now_ns=NOW,
                features=features,
            )
        assert caught.value.violations[0].field == f"strategy.rate.{field}"
