"""The unmodified Triton client talks to the reference server: sync, asyncio and streaming,
every datatype, BYTES included."""

from __future__ import annotations

import asyncio
import queue

import numpy as np
import pytest
import tritonclient.grpc as triton
import tritonclient.grpc.aio as triton_aio
from tritonclient.utils import InferenceServerException

SAMPLES = {
    "BOOL": np.array([[True, False, True]]),
    "UINT8": np.array([[0, 7, 255]], dtype=np.uint8),
    "UINT16": np.array([[0, 7, 65535]], dtype=np.uint16),
    "UINT32": np.array([[0, 7, 2**32 - 1]], dtype=np.uint32),
    "UINT64": np.array([[0, 7, 2**64 - 1]], dtype=np.uint64),
    "INT8": np.array([[-128, 0, 127]], dtype=np.int8),
    "INT16": np.array([[-32768, 0, 32767]], dtype=np.int16),
    "INT32": np.array([[-(2**31), 0, 2**31 - 1]], dtype=np.int32),
    "INT64": np.array([[-(2**63), 0, 2**63 - 1]], dtype=np.int64),
    "FP16": np.array([[0.5, -2.0, 65504.0]], dtype=np.float16),
    "FP32": np.array([[1.5, -0.0, 3.0e38]], dtype=np.float32),
    "FP64": np.array([[1e-300, -2.5, 1e300]], dtype=np.float64),
    "BYTES": np.array([[b"", b"hello", "πλ".encode()]], dtype=np.object_),
}


@pytest.fixture
def client(inference_server):
    with triton.InferenceServerClient(inference_server.address) as connection:
        yield connection


def _input(name: str, array: np.ndarray, datatype: str) -> triton.InferInput:
    tensor = triton.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


def test_server_and_model_metadata(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("add_sub_fp32")
    assert "model_repository" in client.get_server_metadata().extensions
    metadata = client.get_model_metadata("add_sub_fp32")
    assert [(i.name, i.datatype, list(i.shape)) for i in metadata.inputs] == [
        ("INPUT0", "FP32", [-1, 16]),
        ("INPUT1", "FP32", [-1, 16]),
    ]


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
def test_identity_round_trips_every_datatype(client, datatype):
    array = SAMPLES[datatype]
    result = client.infer(f"identity_{datatype.lower()}", [_input("INPUT0", array, datatype)])
    output = result.as_numpy("OUTPUT0")
    assert output.shape == array.shape
    if datatype == "BYTES":
        assert output.tolist() == array.tolist()
    else:
        assert output.dtype == array.dtype
        assert output.tobytes() == array.tobytes()


def test_add_sub_with_requested_output_and_id(client):
    a = np.arange(32, dtype=np.float32).reshape(2, 16)
    b = np.full((2, 16), 0.5, dtype=np.float32)
    result = client.infer(
        "add_sub_fp32",
        [_input("INPUT0", a, "FP32"), _input("INPUT1", b, "FP32")],
        outputs=[triton.InferRequestedOutput("OUTPUT1")],
        request_id="interop-1",
    )
    assert result.get_response().id == "interop-1"
    assert result.as_numpy("OUTPUT0") is None
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), a - b)


def test_model_version_is_selectable(client):
    x = np.ones((1, 4), dtype=np.float32)
    for version, factor in (("1", 1.0), ("2", 2.0)):
        result = client.infer(
            "scale_versions", [_input("INPUT0", x, "FP32")], model_version=version
        )
        np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), x * factor)
        assert result.get_response().model_version == version


def test_errors_surface_as_triton_exceptions_with_status(client):
    with pytest.raises(InferenceServerException) as error:
        client.get_model_metadata("no_such_model")
    assert error.value.status() == "StatusCode.NOT_FOUND"
    bad = _input("INPUT0", np.ones((1, 15), dtype=np.float32), "FP32")
    with pytest.raises(InferenceServerException) as error:
        client.infer("add_sub_fp32", [bad, _input("INPUT1", np.ones((1, 15), np.float32), "FP32")])
    assert error.value.status() == "StatusCode.INVALID_ARGUMENT"


def test_repository_and_statistics(client):
    names = {m.name for m in client.get_model_repository_index().models}
    assert {"add_sub_fp32", "identity_bytes", "scale_versions"} <= names
    client.infer("identity_int32", [_input("INPUT0", SAMPLES["INT32"], "INT32")])
    stats = client.get_inference_statistics("identity_int32").model_stats[0]
    assert stats.inference_stats.success.count >= 1
    client.unload_model("identity_int32")
    assert not client.is_model_ready("identity_int32")
    client.load_model("identity_int32")
    assert client.is_model_ready("identity_int32")


def test_streaming_returns_results_and_errors_in_band(client):
    results: queue.Queue = queue.Queue()
    client.start_stream(callback=lambda result, error: results.put((result, error)))
    try:
        good = [_input("INPUT0", SAMPLES["BYTES"], "BYTES")]
        client.async_stream_infer("identity_bytes", good, request_id="first")
        wrong = [_input("INPUT0", SAMPLES["INT32"], "INT32")]
        client.async_stream_infer("identity_bytes", wrong, request_id="bad")
        client.async_stream_infer("identity_bytes", good, request_id="after")
        answers = [results.get(timeout=10) for _ in range(3)]
    finally:
        client.stop_stream()
    (first, none1), (missing, error), (after, none2) = answers
    assert none1 is None and none2 is None
    assert first.get_response().id == "first"
    assert first.as_numpy("OUTPUT0").tolist() == SAMPLES["BYTES"].tolist()
    assert missing is None and "DATATYPE_MISMATCH" in error.message()
    assert after.get_response().id == "after"


def test_asyncio_client_runs_concurrent_requests(inference_server):
    async def run() -> list[np.ndarray]:
        async with triton_aio.InferenceServerClient(inference_server.address) as client:
            assert await client.is_server_ready()

            async def one(seed: int) -> np.ndarray:
                a = np.full((1, 16), seed, dtype=np.float32)
                b = np.ones((1, 16), dtype=np.float32)
                inputs = [_input("INPUT0", a, "FP32"), _input("INPUT1", b, "FP32")]
                result = await client.infer("add_sub_fp32", inputs)
                return result.as_numpy("OUTPUT0")

            return await asyncio.gather(*(one(seed) for seed in range(40)))

    for seed, output in enumerate(asyncio.run(run())):
        np.testing.assert_array_equal(output, np.full((1, 16), seed + 1, dtype=np.float32))
