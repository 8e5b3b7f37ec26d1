"""The agent's local Open Inference Protocol endpoint (EDG-119, EDG-120)."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest
import tritonclient.grpc.aio as triton
from grpc import aio
from support.agent_releases import scale_model
from support.status_details import error_info
from tritonclient.utils import InferenceServerException

from lepton.inference.v1 import inference_service_pb2 as oip
from lepton_server.agent.local_inference import INFERENCE_STREAM, LocalInference
from lepton_server.agent.outbox import Outbox
from lepton_server.inference.onnx_model import OnnxModel

X = np.array([[1, 2, 3, 4]], dtype=np.float32)
ROLLOUT = "deployments/cam/rollouts/r7"


def model_file(tmp_path, factor: float):
    path = tmp_path / f"model-{factor}"
    path.write_bytes(scale_model(factor))
    return path


async def infer(client: triton.InferenceServerClient, shape=(1, 4)) -> np.ndarray:
    tensor = triton.InferInput("x", list(shape), "FP32")
    tensor.set_data_from_numpy(np.ones(shape, dtype=np.float32) * X[:, : shape[1]])
    return (await client.infer("cam", [tensor], request_id="req-1")).as_numpy("y")


def test_inference_events_carry_deployment_and_rollout(tmp_path):
    """EDG-119: each inference of a deployment's model, successful or not, is an
    InferenceEvent in the outbox with the deployment and the rollout of its release."""
    outbox = Outbox(tmp_path / "outbox.db", "boot-1")

    async def scenario():
        serving = LocalInference("127.0.0.1:0", tmp_path, outbox.append)
        address = (await serving.start()).address
        path = model_file(tmp_path, 2.0)
        serving.serve("deployments/cam", OnnxModel(path), path, ROLLOUT, "models/m/versions/4")
        client = triton.InferenceServerClient(address)
        try:
            np.testing.assert_allclose(await infer(client), X * 2)
            with pytest.raises(InferenceServerException):
                await infer(client, shape=(1, 3))
        finally:
            await client.close()
            await serving.stop()

    asyncio.run(scenario())
    (segment,) = outbox.pending_segments(100, 1 << 20)
    assert segment.stream == INFERENCE_STREAM
    ok, failed = segment.records
    for record in (ok, failed):
        assert (record.deployment, record.rollout) == ("deployments/cam", ROLLOUT)
        assert record.inference.deployment == "deployments/cam"
        assert record.inference.model_version == "models/m/versions/4"
        assert record.inference.correlation_id == "req-1"
    assert not ok.inference.HasField("error")
    assert (failed.inference.error.reason, failed.inference.error.code) == ("SHAPE_MISMATCH", 3)


def test_a_model_that_is_not_installed_is_not_found(tmp_path):
    """EDG-120: the inference layer's NOT_FOUND reason, and no event without a deployment."""
    outbox = Outbox(tmp_path / "outbox.db", "boot-1")

    async def scenario():
        serving = LocalInference("127.0.0.1:0", tmp_path, outbox.append)
        address = (await serving.start()).address
        try:
            async with aio.insecure_channel(address) as channel:
                call = channel.unary_unary(
                    "/inference.GRPCInferenceService/ModelInfer",
                    request_serializer=oip.ModelInferRequest.SerializeToString,
                    response_deserializer=oip.ModelInferResponse.FromString,
                )
                with pytest.raises(aio.AioRpcError) as failure:
                    await call(oip.ModelInferRequest(model_name="absent"))
                return failure.value
        finally:
            await serving.stop()

    error = asyncio.run(scenario())
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(error).reason == "MODEL_NOT_FOUND"
    assert outbox.pending_count() == 0


def test_a_new_release_replaces_the_model_without_failing_requests(tmp_path):
    """EDG-120: swapping a deployment's model to a new release while requests run fails
    none of them; later requests get the new release."""
    outbox = Outbox(tmp_path / "outbox.db", "boot-1")

    async def scenario():
        serving = LocalInference("127.0.0.1:0", tmp_path, outbox.append)
        address = (await serving.start()).address
        first, second = model_file(tmp_path, 2.0), model_file(tmp_path, 3.0)
        serving.serve("deployments/cam", OnnxModel(first), first, ROLLOUT, "models/m/versions/1")
        replacement = OnnxModel(second)
        client = triton.InferenceServerClient(address)
        try:
            requests = [asyncio.ensure_future(infer(client)) for _ in range(40)]
            await asyncio.sleep(0)
            serving.serve("deployments/cam", replacement, second, ROLLOUT, "models/m/versions/2")
            answers = await asyncio.gather(*requests)
            assert all(np.allclose(a, X * 2) or np.allclose(a, X * 3) for a in answers), answers
            np.testing.assert_allclose(await infer(client), X * 3)
        finally:
            await client.close()
            await serving.stop()

    asyncio.run(scenario())
