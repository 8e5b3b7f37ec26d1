"""A device whose clock runs six hours ahead of its fleet's (a `lepton agent` process with its
wall clock moved, tests/support/skewed_clock): it registers and keeps its token, and it
reads install windows on its estimate of the server clock, corrected by the skew it
measured from `server_time` (EDG-121), not on its own clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.edge_agents import infer, new_device_agent, signed_release
from support.polling import eventually
from support.servers import ServerProcess

from lepton.edge.v1 import device_state_pb2, rollout_pb2, update_window_pb2

SKEW = dt.timedelta(hours=6)
DEPLOYMENT = "deployments/skewed"
pytestmark = pytest.mark.timeout(240)


def window_open_at(moment: dt.datetime) -> update_window_pb2.UpdateWindow:
    """A daily two-hour window (UTC) that opened half an hour before `moment`."""
    opened = moment - dt.timedelta(minutes=30)
    window = update_window_pb2.UpdateWindow(
        start_minute=opened.hour * 60 + opened.minute, time_zone="UTC"
    )
    window.duration.FromTimedelta(dt.timedelta(hours=2))
    return window


def in_window(window: update_window_pb2.UpdateWindow) -> rollout_pb2.RolloutStrategy:
    return rollout_pb2.RolloutStrategy(
        stages=[rollout_pb2.RolloutStage(percent=100)], install_windows=[window]
    )


@pytest.fixture(scope="module")
def agent(fleet_server, fleet, release_key, tmp_path_factory) -> Iterator[ServerProcess]:
    skewed_clock = Path(__file__).resolve().parents[1] / "support" / "skewed_clock"
    process, _ = new_device_agent(
        fleet,
        fleet_address=fleet_server.address,
        home=tmp_path_factory.mktemp("device"),
        key=release_key,
        device_id="skewed-1",
        labels={"clock": "skewed"},
        env={"PYTHONPATH": str(skewed_clock), "LEPTON_TEST_CLOCK_SKEW": str(SKEW.total_seconds())},
    )
    fleet.create_deployment("skewed", match_labels={"clock": "skewed"})
    yield process
    assert process.stop() == 0, "".join(process.stderr)


def test_a_window_open_on_the_server_clock_installs(fleet, agent, release_key):
    device = eventually(
        lambda: (found := fleet.device("devices/skewed-1")).HasField("last_heartbeat") and found,
        60,
    )
    # The device's own clock is six hours ahead in what it reports.
    sent = device.last_heartbeat.time.ToDatetime(dt.timezone.utc)
    assert sent - dt.datetime.now(dt.timezone.utc) > SKEW / 2
    now = dt.datetime.now(dt.timezone.utc)
    release = signed_release(fleet, release_key, factor=2.0, expected=2.0, version="1")

    rollout = fleet.create_rollout(DEPLOYMENT, release, strategy=in_window(window_open_at(now)))

    assert fleet.watch_rollout(rollout).status.state == rollout_pb2.ROLLOUT_STATE_SUCCEEDED
    np.testing.assert_allclose(infer(agent.address, "skewed"), [[2, 4, 6, 8]])


def test_a_window_open_only_on_the_device_clock_waits(fleet, agent, release_key):
    device_now = dt.datetime.now(dt.timezone.utc) + SKEW
    release = signed_release(fleet, release_key, factor=3.0, expected=3.0, version="2")

    rollout = fleet.create_rollout(
        DEPLOYMENT, release, strategy=in_window(window_open_at(device_now))
    )

    waiting = device_state_pb2.UPDATE_PHASE_AWAITING_INSTALL_WINDOW
    eventually(
        lambda: [s for s in fleet.rollout_devices(rollout.name) if s.phase == waiting],
        60,
        what="the device waiting for its install window:",
    )
    reported = fleet.device("devices/skewed-1").reported_state
    assert release.model_version not in [d.running.model_version for d in reported.deployments]
