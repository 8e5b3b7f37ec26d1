"""The compiled front (`--data-plane compiled`, the default) against grpc.aio alone
(`--data-plane python`): the same bytes, statuses and ErrorInfo for every ModelInfer it
frames itself, and every other call proxied to the grpc.aio server behind it unchanged."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from support.reflection_client import list_services
from support.servers import ServerProcess, start_server

from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton.data.v1 import dataset_service_pb2_grpc as data_grpc
from lepton.inference.v1 import inference_service_pb2 as pb
from lepton.inference.v1 import inference_service_pb2_grpc as pb_grpc

TOKEN = "front-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
LIMIT = 4 * 1024 * 1024
SERVICES = ("lepton.inference.v1.InferenceService", "inference.GRPCInferenceService")
FRONT_THREAD = "lepton-front"


def _threads(pid: int) -> set[str]:
    tasks = Path(f"/proc/{pid}/task")
    return {(task / "comm").read_text().strip() for task in tasks.iterdir()}


@pytest.fixture(scope="module")
def servers(model_repository, tmp_path_factory) -> Iterator[dict[str, ServerProcess]]:
    """One server per data plane, alike in everything else: tokens, a message limit."""
    root = tmp_path_factory.mktemp("front")
    tokens = root / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    started = {}
    try:
        for plane in ("compiled", "python"):
            started[plane] = start_server(
                [
                    *("--data-plane", plane),
                    *("--model-repository", str(model_repository)),
                    *("--auth-tokens", str(tokens)),
                    *("--max-message-bytes", str(LIMIT)),
                ],
                root / plane,
            )
        yield started
    finally:
        for server in started.values():
            server.stop()


def test_the_front_runs_only_when_asked_for(servers):
    assert FRONT_THREAD in _threads(servers["compiled"].process.pid)
    assert FRONT_THREAD not in _threads(servers["python"].process.pid)


def _tensor_request(model: str = "add_sub_fp32") -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model, id="call-7")
    for name in ("INPUT0", "INPUT1"):
        request.inputs.add(name=name, datatype="FP32", shape=[1, 16])
        request.raw_input_contents.append(np.arange(16, dtype=np.float32).tobytes())
    return request


def _valid() -> bytes:
    return _tensor_request().SerializeToString()


def _unknown_model() -> bytes:
    return _tensor_request("no_such_model").SerializeToString()


def _wrong_shape() -> bytes:
    request = _tensor_request()
    request.inputs[0].shape[:] = [1, 15]
    return request.SerializeToString()


def _wrong_datatype() -> bytes:
    request = _tensor_request()
    request.inputs[1].datatype = "INT32"
    return request.SerializeToString()


def _short_contents() -> bytes:
    request = _tensor_request()
    request.raw_input_contents[0] = b"\0" * 60
    return request.SerializeToString()


def _sequence() -> bytes:
    request = _tensor_request()
    request.parameters["sequence_id"].int64_param = 3
    return request.SerializeToString()


def _one_output() -> bytes:
    request = _tensor_request()
    request.outputs.add(name="OUTPUT1")
    return request.SerializeToString()


def _unknown_output() -> bytes:
    request = _tensor_request()
    request.outputs.add(name="OUTPUT9")
    return request.SerializeToString()


def _undecodable() -> bytes:
    return b"\x0a\xff\xff\xff"


def _no_model_name() -> bytes:
    return _tensor_request("").SerializeToString()


REQUESTS: dict[str, Callable[[], bytes]] = {
    "valid": _valid,
    "unknown model": _unknown_model,
    "no model name": _no_model_name,
    "wrong shape": _wrong_shape,
    "wrong datatype": _wrong_datatype,
    "short raw contents": _short_contents,
    "sequence parameter": _sequence,
    "one output asked for": _one_output,
    "unknown output": _unknown_output,
    "undecodable bytes": _undecodable,
}
CREDENTIALS = {
    "token": AUTH,
    "no token": (),
    "wrong token": (("authorization", "Bearer not-the-token"),),
}


def _outcome(address: str, service: str, request: bytes, metadata, **call_options) -> tuple:
    """(code, message, ErrorInfo, response bytes) of one raw ModelInfer."""
    with grpc.insecure_channel(address) as channel:
        infer = channel.unary_unary(f"/{service}/ModelInfer")
        try:
            response = infer(request, metadata=metadata, timeout=30, **call_options)
        except grpc.RpcError as error:
            status = rpc_status.from_call(error)
            infos = []
            for detail in status.details if status else ():
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    infos.append((info.reason, info.domain, dict(info.metadata)))
            return error.code(), error.details(), infos, None
        return grpc.StatusCode.OK, "", [], response


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("credentials", CREDENTIALS)
@pytest.mark.parametrize("case", REQUESTS)
def test_either_data_plane_answers_alike(servers, service, credentials, case):
    request, metadata = REQUESTS[case](), CREDENTIALS[credentials]
    compiled = _outcome(servers["compiled"].address, service, request, metadata)
    python = _outcome(servers["python"].address, service, request, metadata)
    assert compiled == python
    if case == "valid" and credentials == "token":
        assert compiled[0] == grpc.StatusCode.OK
        response = pb.ModelInferResponse.FromString(compiled[3])
        assert response.id == "call-7" and [o.name for o in response.outputs] == [
            "OUTPUT0",
            "OUTPUT1",
        ]
    elif credentials != "token":
        assert compiled[0] == grpc.StatusCode.UNAUTHENTICATED


def test_gzip_compressed_requests_are_read(servers):
    compiled = _outcome(
        servers["compiled"].address,
        SERVICES[1],
        _valid(),
        AUTH,
        compression=grpc.Compression.Gzip,
    )
    assert compiled == _outcome(servers["python"].address, SERVICES[1], _valid(), AUTH)
    assert compiled[0] == grpc.StatusCode.OK


def _identity_request(elements: int) -> bytes:
    request = pb.ModelInferRequest(model_name="identity_fp32")
    request.inputs.add(name="INPUT0", datatype="FP32", shape=[1, elements])
    request.raw_input_contents.append(np.ones(elements, dtype=np.float32).tobytes())
    return request.SerializeToString()


def test_a_request_over_the_limit_is_resource_exhausted(servers):
    options = [("grpc.max_send_message_length", 2 * LIMIT)]
    request = _identity_request(LIMIT // 4 + 16)
    for plane in ("compiled", "python"):
        with grpc.insecure_channel(servers[plane].address, options=options) as channel:
            infer = channel.unary_unary(f"/{SERVICES[0]}/ModelInfer")
            with pytest.raises(grpc.RpcError) as raised:
                infer(request, metadata=AUTH, timeout=30)
            assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, plane


def test_a_large_tensor_comes_back_whole(servers):
    elements = (LIMIT - 4096) // 4
    request = _identity_request(elements)
    options = [("grpc.max_receive_message_length", LIMIT)]
    with grpc.insecure_channel(servers["compiled"].address, options=options) as channel:
        response = pb.ModelInferResponse.FromString(
            channel.unary_unary(f"/{SERVICES[0]}/ModelInfer")(request, metadata=AUTH, timeout=30)
        )
    out = np.frombuffer(response.raw_output_contents[0], dtype=np.float32)
    assert out.shape == (elements,) and bool((out == 1).all())


def test_every_other_call_is_proxied(servers):
    address = servers["compiled"].address
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest()).status == (
            health_pb2.HealthCheckResponse.SERVING
        )
        assert set(SERVICES) <= set(list_services(channel, "grpc.reflection.v1.ServerReflection"))
        inference = pb_grpc.InferenceServiceStub(channel)
        metadata = inference.ModelMetadata(
            pb.ModelMetadataRequest(name="add_sub_fp32"), metadata=AUTH
        )
        assert [t.name for t in metadata.inputs] == ["INPUT0", "INPUT1"]
        # A bidirectional stream through the proxy, in request order (INF-053).
        requests = [_tensor_request() for _ in range(5)]
        for index, request in enumerate(requests):
            request.id = f"s{index}"
        answers = list(inference.ModelStreamInfer(iter(requests), metadata=AUTH))
        assert [a.infer_response.id for a in answers] == [f"s{i}" for i in range(5)]
        # A status and its ErrorInfo from a proxied call arrive as the server sent them.
        datasets = data_grpc.DatasetServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            datasets.GetDataset(data_pb.GetDatasetRequest(name="datasets/none"), metadata=AUTH)
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_statistics_count_the_calls_the_front_answers(servers):
    address = servers["compiled"].address
    with grpc.insecure_channel(address) as channel:
        inference = pb_grpc.InferenceServiceStub(channel)

        def count() -> int:
            reply = inference.ModelStatistics(
                pb.ModelStatisticsRequest(name="add_sub_int32"), metadata=AUTH
            )
            return sum(s.inference_count for s in reply.model_stats)

        before = count()
        request = pb.ModelInferRequest(model_name="add_sub_int32")
        for name in ("INPUT0", "INPUT1"):
            request.inputs.add(name=name, datatype="INT32", shape=[1, 16])
            request.raw_input_contents.append(np.arange(16, dtype=np.int32).tobytes())
        for _ in range(7):
            inference.ModelInfer(request, metadata=AUTH)
        assert count() - before == 7


def test_cancelled_calls_leave_the_server_serving(servers):
    address = servers["compiled"].address
    with grpc.insecure_channel(address) as channel:
        infer = channel.unary_unary(f"/{SERVICES[1]}/ModelInfer")
        futures = [infer.future(_valid(), metadata=AUTH) for _ in range(50)]
        for future in futures:
            future.cancel()
        assert infer(_valid(), metadata=AUTH, timeout=30)


def test_a_stopping_server_finishes_the_calls_in_flight(model_repository, tmp_path):
    server = start_server(["--model-repository", str(model_repository)], tmp_path / "data")
    outcomes: list[grpc.StatusCode] = []
    with grpc.insecure_channel(server.address) as channel:
        infer = channel.unary_unary(f"/{SERVICES[1]}/ModelInfer")
        infer(_valid(), timeout=30)  # connected and warm

        def call() -> None:
            try:
                infer(_valid(), timeout=30)
                outcomes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                outcomes.append(error.code())

        threads = [threading.Thread(target=call) for _ in range(32)]
        for thread in threads:
            thread.start()
        assert server.stop(signal.SIGTERM) == 0
        for thread in threads:
            thread.join()
    # Each call either finished or was refused as the server went away; none broke.
    assert len(outcomes) == 32
    assert set(outcomes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}


def test_oversized_metadata_is_resource_exhausted(servers):
    metadata = (*AUTH, ("x-padding", "p" * 20_000))
    for plane in ("compiled", "python"):
        code = _outcome(servers[plane].address, SERVICES[0], _valid(), metadata)[0]
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, plane


def test_a_client_that_stops_reading_stalls_no_other_client(servers):
    """Proxied calls of different client connections do not share flow control: a stream
    whose reader has stopped leaves another client's proxied call as fast as ever."""
    address = servers["compiled"].address
    large = pb.ModelInferRequest.FromString(_identity_request(256 * 1024))
    stalled = grpc.insecure_channel(address)
    try:
        inference = pb_grpc.InferenceServiceStub(stalled)
        # 64 MiB of answers, of which the client reads one.
        answers = inference.ModelStreamInfer(iter([large] * 64), metadata=AUTH, timeout=60)
        next(answers)
        with grpc.insecure_channel(address) as other:
            metadata = pb_grpc.InferenceServiceStub(other).ModelMetadata(
                pb.ModelMetadataRequest(name="add_sub_fp32"), metadata=AUTH, timeout=5
            )
        assert metadata.name == "add_sub_fp32"
        answers.cancel()
    finally:
        stalled.close()
