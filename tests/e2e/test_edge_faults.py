"""Faults between a device agent and its fleet, injected with a FaultyLink (a TCP proxy the
agent dials) and SIGKILL, on real `lepton serve --services edge` and `lepton agent`
processes: the device keeps inferring offline and across a kill, its telemetry reaches the
fleet once reconnected with no event lost or repeated (EDG-098, EDG-099); a download cut or
killed midway resumes where it stopped (EDG-094); a link cut while the device reports does
not stop the rollout (EDG-091)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.edge_agents import infer, new_device_agent, signed_release, wait_for
from support.servers import ServerProcess, start_agent, start_server

from lepton.edge.v1 import rollout_pb2
from lepton_ai import EdgeFleet
from lepton_server.demo.faulty_link import FaultyLink, faulty_link

DEPLOYMENT = "deployments/line"
# 6 MB of model: several ReadArtifact chunks, so a cut lands midway.
PADDING_FLOATS = 1_500_000
pytestmark = pytest.mark.timeout(240)


@dataclass
class Device:
    """The agent under test, the link it dials and how to start it again."""

    process: ServerProcess
    link: FaultyLink
    args: list
    state_dir: object

    def log(self) -> str:
        return "".join(self.process.stderr)[-4000:]

    def kill_and_restart(self) -> None:
        self.process.stop(signal.SIGKILL)
        self.process = start_agent(self.args, self.state_dir)


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
def device(fleet_server, fleet, release_key, tmp_path_factory) -> Iterator[Device]:
    home = tmp_path_factory.mktemp("device")
    with faulty_link(fleet_server.address) as link:
        process, args = new_device_agent(
            fleet,
            fleet_address=link.address,
            home=home,
            key=release_key,
            device_id="line-1",
            labels={"line": "1"},
        )
        device = Device(process, link, args, home / "state")
        fleet.create_deployment("line", match_labels={"line": "1"})
        first = signed_release(fleet, release_key, factor=2.0, expected=2.0, version="1")
        fleet.watch_rollout(fleet.create_rollout(DEPLOYMENT, first))
        yield device
        device.link.up()
        assert device.process.stop() == 0, "".join(device.process.stderr)


def inference_sequences(fleet: EdgeFleet) -> list[tuple[str, int]]:
    return sorted(
        (stored.boot_id, stored.record.sequence)
        for stored in fleet.telemetry(
            "devices/line-1", filter=f'record.deployment = "{DEPLOYMENT}"'
        )
        if stored.record.HasField("inference")
    )


def test_offline_inference_across_a_kill_reaches_the_fleet_once_reconnected(fleet, device):
    before = len(inference_sequences(fleet))
    device.link.down()
    for _ in range(5):
        np.testing.assert_allclose(infer(device.process.address, "line"), [[2, 4, 6, 8]])
    device.kill_and_restart()  # the link is still down: it serves what it committed
    for _ in range(3):
        np.testing.assert_allclose(infer(device.process.address, "line"), [[2, 4, 6, 8]])
    assert len(inference_sequences(fleet)) == before

    device.link.up()

    stored = wait_for(
        lambda: (found := inference_sequences(fleet)) and len(found) >= before + 8 and found,
        "the offline events in the fleet",
        explain=device.log,
    )
    assert len(stored) == before + 8
    assert len(set(stored)) == len(stored)  # none twice
    assert len({boot for boot, _ in stored}) == 1  # a kill is not a boot (EDG-090)
    assert [sequence for _, sequence in stored] == list(range(1, before + 9))


def test_a_download_cut_midway_resumes_where_it_stopped(fleet, device, release_key):
    large = signed_release(
        fleet, release_key, factor=4.0, expected=4.0, version="2", padding_floats=PADDING_FLOATS
    )
    size = large.artifact.size_bytes
    start = device.link.to_device
    device.link.cut_after(size // 2)

    rollout = fleet.watch_rollout(fleet.create_rollout(DEPLOYMENT, large))

    assert rollout.status.state == rollout_pb2.ROLLOUT_STATE_SUCCEEDED
    assert device.link.cuts >= 1
    # A restart at byte 0 would move size // 2 + size bytes at least.
    assert device.link.to_device - start < size + size // 3
    np.testing.assert_allclose(infer(device.process.address, "line"), [[4, 8, 12, 16]])


def test_a_download_killed_midway_resumes_after_the_restart(fleet, device, release_key):
    large = signed_release(
        fleet, release_key, factor=5.0, expected=5.0, version="3", padding_floats=PADDING_FLOATS
    )
    size = large.artifact.size_bytes
    start = device.link.to_device
    rollout = fleet.create_rollout(DEPLOYMENT, large)
    wait_for(lambda: device.link.to_device - start > size // 2, "half the download", 60)

    device.kill_and_restart()

    assert fleet.watch_rollout(rollout).status.state == rollout_pb2.ROLLOUT_STATE_SUCCEEDED
    assert device.link.to_device - start < size + size // 3
    np.testing.assert_allclose(infer(device.process.address, "line"), [[5, 10, 15, 20]])


def test_a_link_cut_while_the_device_reports_does_not_stop_the_rollout(fleet, device, release_key):
    release = signed_release(fleet, release_key, factor=6.0, expected=6.0, version="4")
    rollout = fleet.create_rollout(DEPLOYMENT, release)
    wait_for(
        lambda: [
            status
            for status in fleet.rollout_devices(rollout.name)
            if status.state != rollout_pb2.ROLLOUT_DEVICE_STATE_PENDING
        ],
        "the dispatch",
    )
    device.link.down()
    assert infer(device.process.address, "line").shape == (1, 4)  # serving all along
    device.link.up()

    assert fleet.watch_rollout(rollout).status.state == rollout_pb2.ROLLOUT_STATE_SUCCEEDED
    np.testing.assert_allclose(infer(device.process.address, "line"), [[6, 12, 18, 24]])
