"""The edge layer end to end, as an operator and a device would run it: `lepton serve
--services edge` and `lepton agent` as separate processes, the operator's calls made with the
SDK's EdgeFleet and the device's inference with tritonclient. A device registers with its
bootstrap token and key, a signed release with golden vectors rolls out and serves, its
inferences come back as telemetry filtered by rollout, and a release that fails its health
check is rolled back on the device while the good one keeps serving."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator

import numpy as np
import pytest
from support.edge_agents import infer, new_device_agent, signed_release
from support.polling import eventually
from support.servers import ServerProcess

from lepton.edge.v1 import device_state_pb2, release_pb2, rollout_pb2
from lepton_ai.errors import JobFailedError

DEPLOYMENT = "deployments/cameras"
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def agent(fleet_server, fleet, release_key, tmp_path_factory) -> Iterator[ServerProcess]:
    """The device's agent, its telemetry outbox encrypted at rest (spec/general.md §12)."""
    home = tmp_path_factory.mktemp("device")
    keys = home / "keys"
    keys.write_text(f"k1 {secrets.token_hex(32)}\n")
    keys.chmod(0o600)
    process, _ = new_device_agent(
        fleet,
        fleet_address=fleet_server.address,
        home=home,
        key=release_key,
        device_id="cam-1",
        labels={"site": "plant-7"},
        extra=("--encryption-key-file", str(keys)),
    )
    with contextlib.closing(sqlite3.connect(home / "state" / "outbox.db")) as outbox:
        assert outbox.execute("SELECT COUNT(*) FROM data_keys").fetchone() == (1,)
    yield process
    assert process.stop() == 0, "".join(process.stderr)


@pytest.fixture(scope="module")
def good(fleet, agent, release_key) -> tuple[release_pb2.ModelRelease, rollout_pb2.Rollout]:
    """A good release rolled out to the device (each test of the module may run first)."""
    eventually(lambda: fleet.device("devices/cam-1").HasField("last_seen_time"), 60)
    fleet.create_deployment("cameras", match_labels={"site": "plant-7"})
    release = signed_release(fleet, release_key, factor=2.0, expected=2.0, version="1")
    return release, fleet.watch_rollout(fleet.create_rollout(DEPLOYMENT, release))


def test_a_signed_release_rolls_out_serves_and_reports_telemetry(fleet, agent, good):
    good, rollout = good

    assert rollout.device_counts.succeeded_count == 1
    np.testing.assert_allclose(infer(agent.address, "cameras"), [[2, 4, 6, 8]])
    [running] = fleet.device("devices/cam-1").reported_state.deployments
    assert running.deployment == DEPLOYMENT
    assert running.running.artifact_digest == good.artifact.digest
    assert running.running.rollout == rollout.name
    assert running.last_update.phase == device_state_pb2.UPDATE_PHASE_COMMITTED
    events = eventually(
        lambda: [
            stored
            for stored in fleet.telemetry(filter=f'record.rollout = "{rollout.name}"')
            if stored.record.HasField("inference")
        ],
        60,
        what="the inference event in the fleet's telemetry:",
    )
    assert events[0].record.deployment == DEPLOYMENT
    assert events[0].device == "devices/cam-1"


def test_a_release_failing_its_golden_vectors_is_rolled_back_on_the_device(
    fleet, agent, release_key, good
):
    np.testing.assert_allclose(infer(agent.address, "cameras"), [[2, 4, 6, 8]])
    bad = signed_release(fleet, release_key, factor=3.0, expected=2.0, version="2")

    rollout = fleet.create_rollout(DEPLOYMENT, bad)
    with pytest.raises(JobFailedError) as failed:
        fleet.watch_rollout(rollout)

    # The stage's gate failed, and the rollout's default failure action rolled it back.
    assert failed.value.reason == "ROLLOUT_HEALTH_GATE_FAILED"
    assert failed.value.state == "ROLLOUT_STATE_ROLLED_BACK"
    [outcome] = fleet.rollout_devices(rollout.name)
    assert outcome.device == "devices/cam-1"
    assert outcome.state == rollout_pb2.ROLLOUT_DEVICE_STATE_ROLLED_BACK
    # The device itself rolled the release back when its golden vectors failed.
    assert outcome.phase == device_state_pb2.UPDATE_PHASE_ROLLED_BACK
    np.testing.assert_allclose(infer(agent.address, "cameras"), [[2, 4, 6, 8]])
    [running] = fleet.device("devices/cam-1").reported_state.deployments
    assert running.running.model_version == "models/scale/versions/1"
