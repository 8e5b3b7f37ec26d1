"""The edge part of `lepton demo`, as an operator and a device would run it: a device agent
(`lepton agent`, its own process) registers with the fleet on loopback through a link the
demo can cut; the registry's ONNX churn model rolls out to it as a signed release with
golden vectors and a health gate; the device infers over the Open Inference Protocol while
the link is down, and its inference events reach the fleet once the link is back.

It runs blocking calls, so call it off the event loop that serves the server."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console

from lepton_server.demo.faulty_link import faulty_link
from lepton_server.demo.sample_models import MODEL

DEVICE = "demo-camera"
DEPLOYMENT = "churn-edge"
KEY_ID = "demo-release-key"
AGENT_SERVING = "lepton agent: serving on "


def run_edge_flow(console: Console, address: str, token: str | None = None) -> None:
    """Register a device, roll out, infer offline, reconnect; prints what happens."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    from lepton.edge.v1 import rollout_pb2  # noqa: PLC0415
    from lepton_ai import EdgeFleet, ModelRegistry  # noqa: PLC0415
    from lepton_ai.edge.health_vectors import build_vectors  # noqa: PLC0415
    from lepton_ai.edge.releases import raw_public_key, write_trust_roots  # noqa: PLC0415

    key = Ed25519PrivateKey.generate()
    rows = np.random.default_rng(11).normal(size=(4, 3)).astype(np.float32)
    with (
        tempfile.TemporaryDirectory(prefix="lepton-device-") as home_name,
        EdgeFleet.connect(address, token=token, progress=False) as fleet,
        faulty_link(address) as link,
    ):
        home = Path(home_name)
        with ModelRegistry.connect(address, token=token, progress=False) as registry:
            version = registry.version(f"models/{MODEL}/aliases/prod")
            model = registry.download(version.name, home / "model.onnx")
        created = fleet.create_device(DEVICE, labels={"site": "demo"})
        write_trust_roots(home / "trust-roots.json", {KEY_ID: raw_public_key(key)})
        agent, serving = _start_agent(
            [
                "--fleet",
                link.address,
                "--state-dir",
                str(home / "state"),
                "--trust-roots",
                str(home / "trust-roots.json"),
                "--device-id",
                DEVICE,
                "--bootstrap-token",
                created.bootstrap_token,
            ]
        )
        try:
            _wait(lambda: fleet.device(f"devices/{DEVICE}").HasField("last_seen_time"))
            console.print(
                f"Device agent registered as devices/{DEVICE} through a link on {link.address}, "
                f"serving OIP on {serving}"
            )
            fleet.create_deployment(DEPLOYMENT, match_labels={"site": "demo"})
            # The release names the registry's version; the fleet serves its bytes from the
            # registry, so only the golden vectors are uploaded.
            release = fleet.create_release(
                version.name,
                vectors=build_vectors(model, [{"input": rows}]),
                sign_with=(key, KEY_ID),
            )
            gate = rollout_pb2.HealthGate(min_healthy_percent=100)
            gate.bake_duration.FromSeconds(1)
            strategy = rollout_pb2.RolloutStrategy(
                stages=[rollout_pb2.RolloutStage(percent=100, gate=gate)]
            )
            rollout = fleet.watch_rollout(
                fleet.create_rollout(f"deployments/{DEPLOYMENT}", release, strategy=strategy)
            )
            console.print(
                f"Rolled out {version.name} (release sha256:{release.release_digest.hex[:12]}, "
                f"signed by {KEY_ID}) with a health gate: "
                f"{rollout_pb2.RolloutState.Name(rollout.status.state)}, "
                f"{rollout.device_counts.succeeded_count} device on it after its golden vectors"
            )
            link.down()
            labels = [_infer(serving, rows) for _ in range(5)]
            console.print(
                f"Link cut: the device inferred 5 times offline (labels {labels[0]}); the fleet "
                f"holds {_inference_events(fleet, rollout.name)} of its inference events"
            )
            link.up()
            _wait(lambda: _inference_events(fleet, rollout.name) >= len(labels))
            console.print(
                f"Link back: {_inference_events(fleet, rollout.name)} inference events arrived "
                f"from the device's outbox"
            )
        finally:
            link.up()
            agent.terminate()
            agent.wait(timeout=30)


def _start_agent(args: list[str]) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "lepton_server.cli", "agent", "--serve", "127.0.0.1:0"]
    agent = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, text=True)
    for line in agent.stdout:
        if line.startswith(AGENT_SERVING):
            return agent, line.removeprefix(AGENT_SERVING).strip()
    agent.wait()
    raise RuntimeError("lepton agent exited before serving")


def _wait(condition: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the edge demo timed out")
        time.sleep(0.2)


def _infer(address: str, rows: np.ndarray) -> list[int]:
    import tritonclient.grpc as triton  # noqa: PLC0415

    given = triton.InferInput("input", list(rows.shape), "FP32")
    given.set_data_from_numpy(rows)
    result = triton.InferenceServerClient(address).infer(DEPLOYMENT, [given])
    return result.as_numpy("label").tolist()


def _inference_events(fleet, rollout: str) -> int:
    return sum(
        1
        for stored in fleet.telemetry(filter=f'record.rollout = "{rollout}"')
        if stored.record.HasField("inference")
    )
