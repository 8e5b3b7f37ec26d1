"""The edge layer end to end, as an operator and a device would run it: `lepton serve
--services edge` and `lepton agent` as separate processes, the operator's calls made with the
SDK's EdgeFleet and the device's inference with tritonclient. A device registers with its
bootstrap token and key, a signed release with golden vectors rolls out and serves, its
inferences come back as telemetry filtered by rollout, and a release that fails its health
check is rolled back on the device while the good one keeps serving."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import tritonclient.grpc as triton
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.agent_releases import golden_vectors, scale_model
from support.servers import ServerProcess, start_agent, start_server

from lepton.edge.v1 import device_state_pb2, release_pb2
from lepton_ai import EdgeFleet
from lepton_ai.edge.releases import raw_public_key, write_trust_roots
from lepton_ai.errors import JobFailedError

KEY_ID = "release-key-1"
DEPLOYMENT = "deployments/cameras"
pytestmark = pytest.mark.timeout(240)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


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
    created = fleet.create_device("cam-1", labels={"site": "plant-7"})
    home = tmp_path_factory.mktemp("device")
    trust_roots = home / "trust-roots.json"
    write_trust_roots(trust_roots, {KEY_ID: raw_public_key(release_key)})
    process = start_agent(
        [
            "--fleet",
            fleet_server.address,
            "--trust-roots",
            str(trust_roots),
            "--device-id",
            "cam-1",
            "--bootstrap-token",
            created.bootstrap_token,
        ],
        home / "state",
    )
    yield process
    assert process.stop() == 0, "".join(process.stderr)


def release(fleet: EdgeFleet, key: Ed25519PrivateKey, factor: float, expected: float, version: str):
    """A signed release of y = x * factor whose golden vectors expect y = x * expected."""
    return fleet.create_release(
        f"models/scale/versions/{version}",
        scale_model(factor),
        vectors=release_pb2.HealthCheckVectors.FromString(golden_vectors(expected)),
        sign_with=(key, KEY_ID),
    )


def infer(address: str) -> np.ndarray:
    client = triton.InferenceServerClient(address)
    x = triton.InferInput("x", [1, 4], "FP32")
    x.set_data_from_numpy(np.array([[1, 2, 3, 4]], dtype=np.float32))
    return client.infer("cameras", [x]).as_numpy("y")


def test_a_signed_release_rolls_out_serves_and_reports_telemetry(fleet, agent, release_key):
    wait_for(lambda: fleet.device("devices/cam-1").HasField("last_seen_time"), "registration")
    fleet.create_deployment("cameras", match_labels={"site": "plant-7"})
    good = release(fleet, release_key, 2.0, 2.0, "1")

    rollout = fleet.watch_rollout(fleet.create_rollout(DEPLOYMENT, good))

    assert rollout.device_counts.succeeded_count == 1
    np.testing.assert_allclose(infer(agent.address), [[2, 4, 6, 8]])
    reported = fleet.device("devices/cam-1").reported_state
    [running] = reported.deployments
    assert running.deployment == DEPLOYMENT
    assert running.running.artifact_digest == good.artifact.digest
    assert running.running.rollout == rollout.name
    assert running.last_update.phase == device_state_pb2.UPDATE_PHASE_COMMITTED
    events = wait_for(
        lambda: [
            record
            for record in fleet.telemetry(filter=f'record.rollout = "{rollout.name}"')
            if record.record.HasField("inference")
        ],
        "the inference event in the fleet's telemetry",
    )
    assert events[0].record.deployment == DEPLOYMENT
    assert events[0].device == "devices/cam-1"


def test_a_release_failing_its_golden_vectors_is_rolled_back_on_the_device(
    fleet, agent, release_key
):
    # Runs after the first test: the good release serves.
    np.testing.assert_allclose(infer(agent.address), [[2, 4, 6, 8]])
    bad = release(fleet, release_key, 3.0, 2.0, "2")

    with pytest.raises(JobFailedError):
        fleet.watch_rollout(fleet.create_rollout(DEPLOYMENT, bad))

    np.testing.assert_allclose(infer(agent.address), [[2, 4, 6, 8]])
    [running] = fleet.device("devices/cam-1").reported_state.deployments
    assert running.running.model_version == "models/scale/versions/1"
    assert running.last_update.model_version == "models/scale/versions/2"
    assert running.last_update.phase == device_state_pb2.UPDATE_PHASE_ROLLED_BACK
    assert running.last_update.error.reason == "HEALTH_CHECK_FAILED"
