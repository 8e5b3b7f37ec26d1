"""Update attempts on the device: trust before download (EDG-105), every file installed
together and switched atomically (EDG-108), golden-vector health checks with rollback
(EDG-095, EDG-109), install windows (EDG-121), parameter overrides (EDG-122) and removal of
absent deployments (EDG-096)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os

import numpy as np
import pytest
import tritonclient.grpc.aio as triton
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import duration_pb2
from grpc import aio
from tritonclient.utils import InferenceServerException

from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import device_state_pb2, update_window_pb2
from lepton_ai.edge.releases import load_trust_roots
from lepton_server.agent.agent_state import AgentState
from lepton_server.agent.backoff import Backoff
from lepton_server.agent.downloads import Downloads
from lepton_server.agent.installs import Installer
from lepton_server.agent.local_inference import LocalInference
from lepton_server.agent.outbox import Outbox

Phase = device_state_pb2.UpdatePhase
DEPLOYMENT = "deployments/cam"
ROLLOUT = "deployments/cam/rollouts/r1"
X = np.array([[1, 2, 3, 4]], dtype=np.float32)


class Device:
    """An installer, its state and its OIP server, as the agent wires them."""

    def __init__(self, tmp_path, artifact_server, trust_roots_file) -> None:
        self.state_dir = tmp_path / "state"
        self.state_dir.mkdir(exist_ok=True)
        self.artifact_server = artifact_server
        self.trust_roots = load_trust_roots(trust_roots_file)
        self.generation = 0

    async def __aenter__(self) -> Device:
        self.state = AgentState(self.state_dir)
        self.outbox = Outbox(self.state_dir / "outbox.db", self.state.boot_id)
        self.serving = LocalInference("127.0.0.1:0", self.state_dir, self.outbox.append)
        self.address = (await self.serving.start()).address
        self.channel = aio.insecure_channel(self.artifact_server.address)
        self.installer = Installer(
            root=self.state_dir / "deployments",
            state=self.state,
            downloads=Downloads(
                self.state_dir / "downloads",
                agent_grpc.DeviceAgentServiceStub(self.channel),
                backoff=lambda: Backoff(initial=0.01),
            ),
            trust_roots=self.trust_roots,
            serving=self.serving,
            clock=lambda: dt.datetime.now(dt.timezone.utc),
        )
        await self.installer.serve_committed()
        self.client = triton.InferenceServerClient(self.address)
        return self

    async def __aexit__(self, *_) -> None:
        await self.client.close()
        await self.channel.close()
        await self.serving.stop()
        self.outbox.close()
        self.state.close()

    def desired(self, *deployments) -> device_state_pb2.DesiredState:
        self.generation += 1
        return device_state_pb2.DesiredState(generation=self.generation, deployments=deployments)

    async def apply(self, *deployments) -> device_state_pb2.DesiredState:
        desired = self.desired(*deployments)
        assert self.state.hold_desired_state(desired)
        await self.installer.apply(desired)
        return desired

    def attempt(self, deployment: str = DEPLOYMENT) -> device_state_pb2.UpdateAttempt:
        return self.installer.attempts[deployment]

    def current(self, deployment: str = "cam"):
        link = self.state_dir / "deployments" / deployment / "current"
        return link.resolve() if link.is_symlink() else None

    async def infer(self, model: str = "cam") -> np.ndarray:
        tensor = triton.InferInput("x", [1, 4], "FP32")
        tensor.set_data_from_numpy(X)
        result = await self.client.infer(model, [tensor])
        return result.as_numpy("y")


def desired(release, rollout=ROLLOUT, **fields) -> device_state_pb2.DesiredDeployment:
    return device_state_pb2.DesiredDeployment(
        deployment=DEPLOYMENT, rollout=rollout, release=release, **fields
    )


@pytest.fixture
def device(tmp_path, artifact_server, trust_roots_file):
    return Device(tmp_path, artifact_server, trust_roots_file)


def test_a_release_is_installed_with_its_files_switched_to_and_served(device, make_release):
    """EDG-108, EDG-120, EDG-122: model and files in one release directory, `current`
    points at it, the model serves as the deployment's ID, overrides of overridable keys
    only reach the parameters."""
    release = make_release(2.0)

    async def scenario():
        async with device:
            target = desired(release, parameter_overrides={"threshold": "0.9", "camera": "x"})
            await device.apply(target)
            attempt = device.attempt()
            assert attempt.phase == Phase.UPDATE_PHASE_COMMITTED
            assert attempt.downloaded_bytes == attempt.total_bytes > 0
            directory = device.current()
            assert directory.name == release.release_digest.hex
            assert sorted(
                str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()
            ) == ["checks/vectors.pb", "labels.json", "model"]
            parameters = json.loads((directory.parent.parent / "parameters.json").read_text())
            assert parameters == {"threshold": "0.9", "camera": "left"}
            np.testing.assert_allclose(await device.infer(), X * 2)
            reported = device.installer.reported_state()
            assert reported.applied_generation == 1
            (deployment,) = reported.deployments
            assert deployment.running.rollout == ROLLOUT
            assert deployment.running.artifact_digest == release.artifact.digest
            assert deployment.health == device_state_pb2.HEALTH_STATE_HEALTHY

    asyncio.run(scenario())


def test_failed_golden_vectors_roll_back_to_the_previous_release(device, make_release):
    """EDG-109, EDG-095: a release whose outputs miss the golden vectors is ROLLED_BACK
    with HEALTH_CHECK_FAILED; the previous release and its directory serve on."""
    good, bad = make_release(2.0), make_release(3.0, expected=5.0, version="2")

    async def scenario():
        async with device:
            await device.apply(desired(good))
            before = device.current()
            await device.apply(desired(bad, rollout="deployments/cam/rollouts/r2"))
            attempt = device.attempt()
            assert attempt.phase == Phase.UPDATE_PHASE_ROLLED_BACK
            assert (attempt.error.reason, attempt.error.code) == ("HEALTH_CHECK_FAILED", 14)
            assert device.current() == before
            assert not (before.parent / bad.release_digest.hex).exists()
            np.testing.assert_allclose(await device.infer(), X * 2)
            reported = device.installer.reported_state()
            assert reported.applied_generation == 2
            assert reported.deployments[0].running.rollout == ROLLOUT

    asyncio.run(scenario())


def test_a_first_release_that_fails_its_check_leaves_nothing_served(device, make_release):
    """EDG-095: with no previous release, a rollback removes the deployment's model."""

    async def scenario():
        async with device:
            await device.apply(desired(make_release(3.0, expected=4.0)))
            assert device.attempt().phase == Phase.UPDATE_PHASE_ROLLED_BACK
            assert device.current() is None
            with pytest.raises(InferenceServerException, match="unknown model"):
                await device.infer()
            assert not device.installer.reported_state().deployments[0].HasField("running")

    asyncio.run(scenario())


def test_an_untrusted_release_fails_before_anything_is_downloaded(device, make_release):
    """EDG-105: a signature by a key outside the trust roots, or a release changed after
    signing, ends FAILED with RELEASE_SIGNATURE_INVALID (code 7); nothing is fetched and
    the running release is untouched."""
    good = make_release(2.0)
    untrusted = make_release(3.0, key=Ed25519PrivateKey.generate(), version="2")
    tampered = make_release(3.0, version="3")
    tampered.parameters["threshold"] = "0.1"

    async def scenario():
        async with device:
            await device.apply(desired(good))
            before = device.current()
            fetched = len(device.artifact_server.requests)
            for release in (untrusted, tampered):
                await device.apply(desired(release, rollout="deployments/cam/rollouts/r2"))
                attempt = device.attempt()
                assert attempt.phase == Phase.UPDATE_PHASE_FAILED
                assert (attempt.error.reason, attempt.error.code) == (
                    "RELEASE_SIGNATURE_INVALID",
                    7,
                )
                assert attempt.error.metadata["release_digest"] == release.release_digest.hex
            assert len(device.artifact_server.requests) == fetched
            assert device.current() == before
            np.testing.assert_allclose(await device.infer(), X * 2)

    asyncio.run(scenario())


def test_a_digest_mismatch_fails_the_attempt_and_keeps_the_running_release(device, make_release):
    """EDG-093, EDG-108: a file that does not match its descriptor twice fails the whole
    attempt with DIGEST_MISMATCH (code 15)."""
    good, broken = make_release(2.0), make_release(3.0, version="2")
    labels = broken.files[1].artifact.digest.hex
    device.artifact_server.blobs[labels] = os.urandom(len(device.artifact_server.blobs[labels]))

    async def scenario():
        async with device:
            await device.apply(desired(good))
            before = device.current()
            await device.apply(desired(broken, rollout="deployments/cam/rollouts/r2"))
            attempt = device.attempt()
            assert attempt.phase == Phase.UPDATE_PHASE_FAILED
            assert (attempt.error.reason, attempt.error.code) == ("DIGEST_MISMATCH", 15)
            assert device.current() == before
            np.testing.assert_allclose(await device.infer(), X * 2)

    asyncio.run(scenario())


def test_a_closed_install_window_holds_the_verified_release(device, make_release):
    """EDG-121: downloaded and verified at once, not installed while no window is open."""
    now = dt.datetime.now(dt.timezone.utc)
    closed = update_window_pb2.UpdateWindow(
        start_minute=((now.hour + 12) % 24) * 60,
        duration=duration_pb2.Duration(seconds=3600),
        time_zone="UTC",
    )
    release = make_release(2.0)

    async def scenario():
        async with device:
            target = desired(release, install_windows=[closed])
            state = device.desired(target)
            device.state.hold_desired_state(state)
            changed = asyncio.Event()
            device.installer.on_change = changed.set
            applying = asyncio.ensure_future(device.installer.apply(state))
            while device.installer.attempts.get(DEPLOYMENT) is None or (
                device.attempt().phase != Phase.UPDATE_PHASE_AWAITING_INSTALL_WINDOW
            ):
                await changed.wait()
                changed.clear()
            assert device.attempt().downloaded_bytes == device.attempt().total_bytes
            assert device.current() is None
            assert device.state.applied_generation == 0
            applying.cancel()

    asyncio.run(scenario())


def test_a_deployment_absent_from_the_desired_state_is_removed(device, make_release):
    """EDG-096: applied_generation moves on only once the absent deployment is gone."""

    async def scenario():
        async with device:
            await device.apply(desired(make_release(2.0)))
            await device.apply()
            assert device.current() is None
            assert not (device.state_dir / "deployments" / "cam").exists()
            reported = device.installer.reported_state()
            assert reported.applied_generation == 2
            assert not reported.deployments
            with pytest.raises(InferenceServerException):
                await device.infer()

    asyncio.run(scenario())


def test_committed_releases_serve_again_after_a_restart(device, make_release):
    """EDG-098, EDG-120: a restarted agent serves its committed releases without the fleet."""

    async def install():
        async with device:
            await device.apply(desired(make_release(2.0)))

    async def restart():
        async with device:
            np.testing.assert_allclose(await device.infer(), X * 2)

    asyncio.run(install())
    device.artifact_server.blobs.clear()
    asyncio.run(restart())
