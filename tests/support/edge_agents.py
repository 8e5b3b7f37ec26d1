"""What the edge end-to-end tests share: a device created on the fleet with its agent
started as a process (through any address, e.g. a FaultyLink), signed releases of the scale
model, inference on the agent with tritonclient, and waiting for the fleet to show something."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import numpy as np
import tritonclient.grpc as triton
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.edge.v1 import release_pb2
from lepton_ai import EdgeFleet
from lepton_ai.edge.releases import raw_public_key, write_trust_roots
from support.agent_releases import golden_vectors, scale_model
from support.servers import ServerProcess, start_agent

KEY_ID = "release-key-1"
T = TypeVar("T")


def agent_args(fleet_address: str, home: Path, key: Ed25519PrivateKey, device_id: str) -> list:
    """The flags of `lepton agent` for `device_id`, trusting `key`, with its trust roots in
    `home`."""
    trust_roots = home / "trust-roots.json"
    write_trust_roots(trust_roots, {KEY_ID: raw_public_key(key)})
    return [
        "--fleet",
        fleet_address,
        "--trust-roots",
        str(trust_roots),
        "--device-id",
        device_id,
        "--log-level",
        "INFO",
    ]


def new_device_agent(
    fleet: EdgeFleet,
    *,
    fleet_address: str,
    home: Path,
    key: Ed25519PrivateKey,
    device_id: str,
    labels: dict[str, str],
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[ServerProcess, list]:
    """Create `devices/{device_id}` and start its agent (state in home/state, `env` added to
    its environment, `extra` flags after the others) dialling `fleet_address`; the agent
    process and the flags that restart it."""
    created = fleet.create_device(device_id, labels=labels)
    home.mkdir(parents=True, exist_ok=True)
    args = [*agent_args(fleet_address, home, key, device_id), *extra]
    token = ["--bootstrap-token", created.bootstrap_token]
    process = start_agent([*args, *token], home / "state", env=env)
    return process, args


def signed_release(
    fleet: EdgeFleet,
    key: Ed25519PrivateKey,
    *,
    factor: float,
    expected: float,
    version: str,
    padding_floats: int = 0,
) -> release_pb2.ModelRelease:
    """A signed release of y = x * factor whose golden vectors expect y = x * expected."""
    return fleet.create_release(
        f"models/scale/versions/{version}",
        scale_model(factor, padding_floats),
        vectors=release_pb2.HealthCheckVectors.FromString(golden_vectors(expected)),
        sign_with=(key, KEY_ID),
    )


def infer(address: str, model: str) -> np.ndarray:
    """y for x = [[1, 2, 3, 4]] from the agent's OIP endpoint."""
    client = triton.InferenceServerClient(address)
    x = triton.InferInput("x", [1, 4], "FP32")
    x.set_data_from_numpy(np.array([[1, 2, 3, 4]], dtype=np.float32))
    return client.infer(model, [x]).as_numpy("y")
