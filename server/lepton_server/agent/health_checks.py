"""The health check of a freshly installed release (EDG-095, EDG-109): load the model with
onnxruntime (the inference layer's OnnxModel) and, unless `skip_inference_test`, feed every
golden vector of the release's HealthCheckVectors file and compare every listed output
within the vector's tolerance, all within `health_check.timeout`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lepton.edge.v1 import release_pb2
from lepton_ai.edge import health_vectors
from lepton_server.inference.onnx_model import OnnxModel, UnsupportedModelError

DEFAULT_TIMEOUT_SECONDS = 120.0


@dataclass
class HealthCheckError(Exception):
    """The check failed: reason MODEL_LOAD_FAILED, HEALTH_CHECK_FAILED or
    HEALTH_CHECK_TIMEOUT (spec/edge.md 6.2)."""

    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def timeout_seconds(config: release_pb2.HealthCheckConfig) -> float:
    seconds = config.timeout.ToNanoseconds() / 1e9
    return seconds if seconds > 0 else DEFAULT_TIMEOUT_SECONDS


def load_model(model_path: Path, runtime: release_pb2.RuntimeConfig) -> OnnxModel:
    """The release's model in an onnxruntime session; MODEL_LOAD_FAILED when it does not load."""
    try:
        return OnnxModel(model_path, max(1, runtime.intra_op_threads))
    except (UnsupportedModelError, OSError) as error:
        raise HealthCheckError("MODEL_LOAD_FAILED", str(error)) from error


def check_vectors(model: OnnxModel, vectors: release_pb2.HealthCheckVectors) -> None:
    """Run every vector and compare its outputs (lepton_ai.edge.health_vectors, the same
    comparison a publisher runs when it builds the vectors); HEALTH_CHECK_FAILED naming the
    first mismatch."""
    names = [output.name for output in model.outputs]

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = {name: model.prepare_input(name, array) for name, array in inputs.items()}
        return dict(zip(names, model.run(feeds, names), strict=True))

    mismatches = health_vectors.check_vectors(run, vectors)
    if mismatches:
        more = f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""
        raise HealthCheckError("HEALTH_CHECK_FAILED", f"{mismatches[0]}{more}")


def read_vectors(path: Path) -> release_pb2.HealthCheckVectors:
    try:
        return health_vectors.parse_vectors(path.read_bytes())
    except (OSError, ValueError) as error:
        raise HealthCheckError("HEALTH_CHECK_FAILED", f"golden vectors: {error}") from error


def run_check(release: release_pb2.ModelRelease, release_dir: Path, model_path: Path) -> OnnxModel:
    """Load and test the release (blocking); the loaded model."""
    model = load_model(model_path, release.runtime_config)
    if not release.health_check.skip_inference_test:
        vectors_path = release.health_check.vectors_path
        if not vectors_path:
            raise HealthCheckError("HEALTH_CHECK_FAILED", "the release names no golden vectors")
        check_vectors(model, read_vectors(release_dir / vectors_path))
    return model


async def health_check(
    release: release_pb2.ModelRelease, release_dir: Path, model_path: Path
) -> OnnxModel:
    """run_check off the event loop within the release's timeout (HEALTH_CHECK_TIMEOUT)."""
    loop = asyncio.get_running_loop()
    limit = timeout_seconds(release.health_check)
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(None, run_check, release, release_dir, model_path), limit
        )
    except asyncio.TimeoutError as error:
        raise HealthCheckError(
            "HEALTH_CHECK_TIMEOUT", f"the health check took longer than {limit:g} s"
        ) from error
