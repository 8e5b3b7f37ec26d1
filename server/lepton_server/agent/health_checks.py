"""The health check of a freshly installed release (EDG-095, EDG-109): load the model with
onnxruntime (the inference layer's OnnxModel) and, unless `skip_inference_test`, feed every
golden vector of the release's HealthCheckVectors file and compare every listed output
within the vector's tolerance, all within `health_check.timeout`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from google.protobuf.message import DecodeError

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import tensor_pb2
from lepton_server.inference import tensor_codec
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


def tensor_array(tensor: release_pb2.TensorValue) -> np.ndarray:
    """A TensorValue as a numpy array (raw contents as OIP encodes them)."""
    name = tensor_pb2.DataType.Name(tensor.data_type).removeprefix("DATA_TYPE_")
    if name not in tensor_codec.DATATYPES:
        raise HealthCheckError("HEALTH_CHECK_FAILED", f"{tensor.name}: no data type")
    return tensor_codec.decode_raw(
        tensor.raw_contents, tensor_codec.DATATYPES[name], tuple(tensor.shape), tensor.name
    )


def output_matches(actual: np.ndarray, expected: np.ndarray, absolute: float, relative: float):
    """|actual - expected| <= absolute + relative * |expected| element-wise; exact for
    integer, boolean and BYTES outputs (EDG-109)."""
    if actual.shape != expected.shape:
        return False
    if expected.dtype.kind in "fc":
        actual = actual.astype(np.float64)
        wanted = expected.astype(np.float64)
        return bool(np.all(np.abs(actual - wanted) <= absolute + relative * np.abs(wanted)))
    return bool(np.array_equal(actual, expected))


def check_vectors(model: OnnxModel, vectors: release_pb2.HealthCheckVectors) -> None:
    """Run every vector; HEALTH_CHECK_FAILED at the first mismatch or error."""
    if not vectors.vectors:
        raise HealthCheckError("HEALTH_CHECK_FAILED", "the golden vectors file holds none")
    for index, vector in enumerate(vectors.vectors):
        try:
            feeds = {t.name: model.prepare_input(t.name, tensor_array(t)) for t in vector.inputs}
            names = [t.name for t in vector.expected_outputs]
            actual = model.run(feeds, names)
        except HealthCheckError:
            raise
        except Exception as error:  # onnxruntime raises its own exception types
            raise HealthCheckError(
                "HEALTH_CHECK_FAILED", f"vector {index}: inference failed: {error}"
            ) from error
        for tensor, output in zip(vector.expected_outputs, actual, strict=True):
            expected = tensor_array(tensor)
            if not output_matches(
                np.asarray(output), expected, vector.absolute_tolerance, vector.relative_tolerance
            ):
                raise HealthCheckError(
                    "HEALTH_CHECK_FAILED",
                    f"vector {index}: output {tensor.name!r} is not within tolerance",
                )


def read_vectors(path: Path) -> release_pb2.HealthCheckVectors:
    try:
        return release_pb2.HealthCheckVectors.FromString(path.read_bytes())
    except (OSError, DecodeError) as error:
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
