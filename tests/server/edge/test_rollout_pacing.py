"""The rollout controller paces dispatch (same harness as test_rollout_controller.py): a
scheduled start (EDG-111), approval between stages (EDG-112), update windows (EDG-086) and
the dispatch rate (EDG-085)."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2
from support.rollout_fleet import START_NS, Harness, percent_stages, stage_states, state

from lepton.edge.v1 import edge_service_pb2, rollout_pb2, update_window_pb2
from lepton_server.runtime.errors import LeptonError

R = rollout_pb2


def test_scheduled_start_stays_queued_until_start_time(h):
    # EDG-111
    devices = h.fleet.add(2)
    start = timestamp_pb2.Timestamp()
    start.FromNanoseconds(h.clock() + 3600 * 10**9)
    rollout = h.create(percent_stages(100, start_time=start))
    h.tick(3599)
    waiting = h.get(rollout.name)
    assert state(waiting) == "QUEUED"
    assert not waiting.stages
    assert all(h.fleet.desired(d) is None for d in devices)
    h.tick(1)
    assert state(h.get(rollout.name)) == "RUNNING"
    assert all(h.fleet.desired(d) is not None for d in devices)


def test_first_stage_approval_keeps_the_rollout_queued(h):
    # EDG-112
    devices = h.fleet.add(2)
    strategy = R.RolloutStrategy(stages=[R.RolloutStage(percent=100, require_approval=True)])
    rollout = h.create(strategy)
    h.tick()
    h.tick(600)
    waiting = h.get(rollout.name)
    assert state(waiting) == "QUEUED"
    assert stage_states(waiting) == ["AWAITING_APPROVAL"]
    assert all(h.fleet.desired(d) is None for d in devices)
    approved = h.rollouts.approve_stage(
        edge_service_pb2.ApproveRolloutStageRequest(name=rollout.name, stage=0)
    )
    assert approved.stages[0].HasField("approve_time")
    h.tick()
    assert state(h.get(rollout.name)) == "RUNNING"
    assert all(h.fleet.desired(d) is not None for d in devices)


def test_later_stage_approval_waits_while_running_and_can_be_given_ahead(h):
    devices = h.fleet.add(3)
    strategy = R.RolloutStrategy(
        stages=[
            R.RolloutStage(percent=33),
            R.RolloutStage(percent=66, require_approval=True),
            R.RolloutStage(percent=100, require_approval=True),
        ]
    )
    rollout = h.create(strategy)
    # Stage 2 is approved in advance, before the rollout even started.
    h.rollouts.approve_stage(
        edge_service_pb2.ApproveRolloutStageRequest(name=rollout.name, stage=2)
    )
    h.tick()
    h.fleet.install(*[d for d in devices if h.fleet.desired(d)])
    h.tick(1)
    waiting = h.get(rollout.name)
    assert state(waiting) == "RUNNING"
    assert stage_states(waiting) == ["SUCCEEDED", "AWAITING_APPROVAL", "PENDING"]
    assert waiting.stages[2].HasField("approve_time")
    assert sum(h.fleet.desired(d) is not None for d in devices) == 1
    h.rollouts.approve_stage(
        edge_service_pb2.ApproveRolloutStageRequest(name=rollout.name, stage=1)
    )
    h.tick(1)
    h.fleet.install(*[d for d in devices if h.fleet.desired(d)])
    h.tick(1)
    h.fleet.install(*[d for d in devices if h.fleet.desired(d)])
    h.tick(1)
    assert state(h.get(rollout.name)) == "SUCCEEDED"


# --- update windows (EDG-086) -------------------------------------------------------------

# The harness clock starts at 2027-01-15 08:00 UTC, a Friday.
WINDOWS = "edge.update_windows"


def daily(start_minute: int, minutes: int, **fields: object) -> update_window_pb2.UpdateWindow:
    window = update_window_pb2.UpdateWindow(start_minute=start_minute, **fields)
    window.duration.FromSeconds(minutes * 60)
    return window


def test_a_rollout_outside_its_update_windows_stays_queued_until_one_opens(tmp_path):
    h = Harness(tmp_path / "rollouts.db", features=[WINDOWS])
    devices = h.fleet.add(2)
    rollout = h.create(percent_stages(100, update_windows=[daily(9 * 60, 30)]))
    h.tick()
    waiting = h.get(rollout.name)
    assert state(waiting) == "QUEUED"
    assert waiting.next_update_window_time.ToNanoseconds() == START_NS + 3600 * 10**9
    assert all(h.fleet.desired(d) is None for d in devices)
    h.tick(3599)
    assert state(h.get(rollout.name)) == "QUEUED"
    h.tick(1)
    running = h.get(rollout.name)
    assert state(running) == "RUNNING"
    assert not running.HasField("next_update_window_time")
    assert all(h.fleet.desired(d) is not None for d in devices)


def test_a_later_stage_waits_for_the_next_window_while_dispatched_devices_go_on(tmp_path):
    h = Harness(tmp_path / "rollouts.db", features=[WINDOWS])
    devices = h.fleet.add(4)
    # Open from 08:00 to 08:10 UTC every day, and on Saturdays in Tokyo from 09:00 (00:00 UTC).
    windows = [daily(8 * 60, 10), daily(9 * 60, 60, days_of_week=[6], time_zone="Asia/Tokyo")]
    rollout = h.create(percent_stages(50, update_windows=windows))
    h.tick()
    handed = [d for d in devices if h.fleet.desired(d) is not None]
    assert len(handed) == 2
    h.tick(15 * 60)  # 08:15: closed
    h.fleet.install(*handed)
    h.tick(1)
    running = h.get(rollout.name)
    # The first stage's gate passed on its devices; the second stage waits for a window.
    assert stage_states(running) == ["SUCCEEDED", "PENDING"]
    assert state(running) == "RUNNING"
    saturday_tokyo = START_NS + 16 * 3600 * 10**9  # Saturday 00:00 UTC, 09:00 in Tokyo
    assert running.next_update_window_time.ToNanoseconds() == saturday_tokyo
    assert len([d for d in devices if h.fleet.desired(d) is not None]) == 2
    h.tick((saturday_tokyo - h.clock()) / 10**9)
    assert len([d for d in devices if h.fleet.desired(d) is not None]) == 4
    assert not h.get(rollout.name).HasField("next_update_window_time")


def test_without_the_feature_update_windows_are_unimplemented(h):
    with pytest.raises(LeptonError) as raised:
        h.create(percent_stages(100, update_windows=[daily(0, 60)]))
    assert raised.value.reason == "FEATURE_NOT_SUPPORTED"


# --- dispatch rate (EDG-085) ----------------------------------------------------------------


def handed_count(h: Harness, devices: list[str]) -> int:
    return sum(h.fleet.desired(d) is not None for d in devices)


@pytest.mark.parametrize(("cap", "after_increase"), [(0, 4), (3, 3)])
def test_the_dispatch_rate_grows_with_succeeded_devices_up_to_its_cap(
    tmp_path, cap, after_increase
):
    h = Harness(tmp_path / "rollouts.db", features=["edge.rollout_rate"])
    devices = h.fleet.add(6)
    rate = R.DispatchRate(base_per_minute=2, increment_factor=2.0, increase_after_succeeded_count=2)
    rate.max_per_minute = cap
    rollout = h.create(percent_stages(100, rate=rate))
    h.tick()
    assert handed_count(h, devices) == 2
    h.tick(30)
    assert handed_count(h, devices) == 2  # 2 in the last minute: the base rate
    first = [d for d in devices if h.fleet.desired(d) is not None]
    h.fleet.install(*first)
    h.tick(1)
    # Two SUCCEEDED: the rate doubles (or reaches its cap); the 2 of the last minute count.
    assert handed_count(h, devices) == after_increase
    assert state(h.get(rollout.name)) == "RUNNING"  # a stage with devices waiting has not passed
    h.tick(60)  # nothing dispatched in the last minute: the whole rate is free
    assert handed_count(h, devices) == 6


def test_without_the_feature_a_rate_is_unimplemented(h):
    with pytest.raises(LeptonError) as raised:
        h.create(percent_stages(100, rate=R.DispatchRate(base_per_minute=1)))
    assert raised.value.reason == "FEATURE_NOT_SUPPORTED"
