"""The edge layer end to end, as an operator and a device would run it: `lepton serve
--services edge` and `lepton agent` as separate processes, the operator's calls made with the
SDK's EdgeFleet and the device's inference with tritonclient. A device registers with its
bootstrap token and key, a signed release with golden vectors rolls out and serves, its
inferences come back as telemetry filtered by rollout, and a release that fails its health
check is rolled back on the device while the good one keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.edge_agents import infer, new_device_agent, signed_release, wait_for
from support.servers import ServerProcess, start_server

from lepton.edge.v1 import device_state_pb2, rollout_pb2
from lepton_ai import EdgeFleet
from lepton_ai.errors import JobFailedError

DEPLOYMENT = "deployments/cameras"
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def fleet_server(tmp_path_factory) -> Iterator[ServerProcess]:
    server = start_server(["--services", "edge"], tmp_path_factory.mktemp("fleet"))
    yield server
    assert server.stop() == 0, "".join(server.stderr)


@pytest.fixture(scope="module")
def fleet(fleet_server) -> Iterator[EdgeFleet]:
    with EdgeFleet.connect(fleet_server.address, progress=False) as client:
        yield client


@pytest.fixture(scope="module")
def release_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def agent(fleet_server, fleet, release_key, tmp_path_factory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("device")
    process, _ = new_device_agent(
        fleet,
        fleet_address=fleet_server.address,
        home=home,
        key=release_key,
        device_id="cam-1",
        labels={"site": "plant-7"},
    )
    yield process
    assert process.stop() == 0, "".join(process.stderr)


def test_a_signed_release_rolls_out_serves_and_reports_telemetry(fleet, agent, release_key):
    wait_for(lambda: fleet.device("devices/cam-1").HasField("last_seen_time"), "registration")
    fleet.create_deployment("cameras", match_labels={"site": "plant-7"})
    good = signed_release(fleet, release_key, factor=2.0, expected=2.0, version="1")

    rollout = fleet.watch_rollout(fleet.create_rollout(DEPLOYMENT, good))

    assert rollout.device_counts.succeeded_count == 1
    np.testing.assert_allclose(infer(agent.address, "cameras"), [[2, 4, 6, 8]])
    [running] = fleet.device("devices/cam-1").reported_state.deployments
    assert running.deployment == DEPLOYMENT
    assert running.running.artifact_digest == good.artifact.digest
    assert running.running.rollout == rollout.name
    assert running.last_update.phase == device_state_pb2.UPDATE_PHASE_COMMITTED
    events = wait_for(
        lambda: [
            stored
            for stored in fleet.telemetry(filter=f'record.rollout = "{rollout.name}"')
            if stored.record.HasField("inference")
        ],
        "the inference event in the fleet's telemetry",
    )
    assert events[0].record.deployment == DEPLOYMENT
    assert events[0].device == "devices/cam-1"


def test_a_release_failing_its_golden_vectors_is_rolled_back_on_the_device(
    fleet, agent, release_key
):
    # Runs after the first test: the good release serves.
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
