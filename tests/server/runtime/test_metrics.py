"""Prometheus metrics (spec/general.md §11, spec/inference.md INF-075): scraped from a real
`lepton serve` over HTTP and read with the Prometheus client library's own text parser."""

from __future__ import annotations

import queue
import socket
import subprocess
import time
import urllib.request

import grpc
import numpy as np
import pyarrow as pa
import pytest
import tritonclient.grpc as triton
from prometheus_client.parser import text_string_to_metric_families
from support.servers import SERVE
from tritonclient.utils import InferenceServerException

from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton.data.v1 import dataset_service_pb2_grpc as data_grpc
from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton.inference.v1 import inference_service_pb2 as inference_pb
from lepton.inference.v1 import inference_service_pb2_grpc as inference_grpc
from lepton_ai.data import DataManager
from lepton_server.runtime import metrics

TOKEN = "metrics-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
DATASET = "/lepton.data.v1.DatasetService/"
INFERENCE = "inference.GRPCInferenceService"


def scrape(url: str) -> dict[str, list]:
    """Every sample of the exposition at `url`, by family name."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(families: dict[str, list], sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` whose labels include `labels` (0 when none)."""
    return sum(
        s.value
        for family in families.values()
        for s in family
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _handled(families: dict[str, list], method: str, code: str) -> float:
    service, name = method.split("/")
    return value(
        families,
        "grpc_server_handled_total",
        grpc_service=service,
        grpc_method=name,
        grpc_code=code,
    )


def handled_by_code(families: dict[str, list], method: str) -> dict[str, float]:
    """grpc_server_handled_total of `method` ("package.Service/Method") by grpc_code."""
    service, name = method.split("/")
    counts: dict[str, float] = {}
    for sample in (s for family in families.values() for s in family):
        labels = sample.labels
        if (
            sample.name == "grpc_server_handled_total"
            and labels.get("grpc_service") == service
            and labels.get("grpc_method") == name
        ):
            counts[labels["grpc_code"]] = counts.get(labels["grpc_code"], 0) + sample.value
    return counts


def add_sub_request() -> inference_pb.ModelInferRequest:
    """A request of the conformance model add_sub_fp32: two FP32 [1, 16] inputs of ones."""
    request = inference_pb.ModelInferRequest(model_name="add_sub_fp32")
    for name in ("INPUT0", "INPUT1"):
        tensor = request.inputs.add(name=name, datatype="FP32", shape=[1, 16])
        tensor.contents.fp32_contents.extend([1.0] * 16)
    return request


@pytest.fixture(params=["compiled", "python"])
def metered(request, server_factory, model_repository, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN} operator\n")
    return server_factory(
        "--metrics-address",
        "127.0.0.1:0",
        "--model-repository",
        str(model_repository),
        "--auth-tokens",
        str(tokens),
        "--data-plane",
        request.param,
    )


def _infer(client: triton.InferenceServerClient, model: str = "add_sub_fp32") -> None:
    a = np.ones((1, 16), dtype=np.float32)
    inputs = []
    for name in ("INPUT0", "INPUT1"):
        tensor = triton.InferInput(name, list(a.shape), "FP32")
        tensor.set_data_from_numpy(a)
        inputs.append(tensor)
    client.infer(model, inputs, headers=dict(AUTH))


def test_each_call_is_counted_with_the_status_its_client_received(metered):
    """GEN-101, GEN-102: successes under OK, each failure under its own code, on both planes
    (ModelInfer is framed by the compiled front when it runs)."""
    before = scrape(metered.metrics_url)
    client = triton.InferenceServerClient(metered.address)
    for _ in range(3):
        _infer(client)
    with pytest.raises(InferenceServerException, match=r"StatusCode\.NOT_FOUND"):
        _infer(client, "no_such_model")
    with grpc.insecure_channel(metered.address) as channel:
        discovery_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_pb.GetServerInfoRequest()
        )
        datasets = data_grpc.DatasetServiceStub(channel)
        with pytest.raises(grpc.RpcError) as missing:
            datasets.GetDataset(data_pb.GetDatasetRequest(name="datasets/none"), metadata=AUTH)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as anonymous:
            datasets.GetDataset(data_pb.GetDatasetRequest(name="datasets/none"))
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
        raw = channel.unary_unary(DATASET + "GetDataset")
        with pytest.raises(grpc.RpcError) as malformed:
            raw(b"\xff\xff\xff", metadata=AUTH)
        assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    after = scrape(metered.metrics_url)

    def grew(method: str, code: str) -> float:
        return _handled(after, method, code) - _handled(before, method, code)

    assert grew(f"{INFERENCE}/ModelInfer", "OK") == 3
    assert grew(f"{INFERENCE}/ModelInfer", "NotFound") == 1
    assert grew("lepton.discovery.v1.DiscoveryService/GetServerInfo", "OK") == 1
    get_dataset = "lepton.data.v1.DatasetService/GetDataset"
    assert grew(get_dataset, "NotFound") == 1
    assert grew(get_dataset, "Unauthenticated") == 1
    assert grew(get_dataset, "InvalidArgument") == 1
    assert grew(get_dataset, "OK") == 0
    # Every call started was handled, and timed once.
    labels = {"grpc_service": "lepton.data.v1.DatasetService", "grpc_method": "GetDataset"}
    assert value(after, "grpc_server_started_total", **labels) == 3
    assert value(after, "grpc_server_handling_seconds_count", **labels) == 3
    assert value(after, "grpc_server_handling_seconds_bucket", le="+Inf", **labels) == 3
    infer = {"grpc_service": INFERENCE, "grpc_method": "ModelInfer", "grpc_type": "unary"}
    assert value(after, "grpc_server_started_total", **infer) == 4


def test_with_workers_the_calls_of_every_process_are_counted(server_factory, model_repository):
    """GEN-101 with `--workers 2`: calls land on both processes (a connection each, which the
    kernel spreads over the port's listeners) and the primary's endpoint counts them all."""
    server = server_factory(
        "--metrics-address",
        "127.0.0.1:0",
        "--model-repository",
        str(model_repository),
        "--workers",
        "2",
    )
    before = scrape(server.metrics_url)
    calls = 24
    for _ in range(calls):
        client = triton.InferenceServerClient(server.address)  # a connection of its own
        _infer(client)
        client.close()
    after = scrape(server.metrics_url)
    method = f"{INFERENCE}/ModelInfer"
    assert _handled(after, method, "OK") - _handled(before, method, "OK") == calls
    model = {"model": "add_sub_fp32"}
    grown = value(after, "nv_inference_request_success", **model) - value(
        before, "nv_inference_request_success", **model
    )
    assert grown == calls


def test_a_cancelled_stream_is_counted_as_canceled(metered, request):
    """GEN-101: a server stream its client cancels is counted under Canceled, not OK."""
    if "compiled" in request.node.name:
        # Sometimes the call is counted under OK. The front does reset its stream to grpc.aio
        # (test_compiled_front_streams shows the call ending there), but grpc.aio ends a
        # cancelled call's request stream as a half-close would (its _receive_message merges
        # the two), so a handler that returns at that end (ModelStreamInfer) can finish
        # normally before grpc.aio cancels its task. The same race shows on the python plane,
        # more rarely on a server's first call. Not fixed yet.
        request.applymarker(
            pytest.mark.xfail(reason="grpc.aio reads a cancel as end of stream", strict=False)
        )
    requests = queue.Queue()
    with grpc.insecure_channel(metered.address) as channel:
        stream = inference_grpc.InferenceServiceStub(channel).ModelStreamInfer(
            iter(requests.get, None), metadata=AUTH
        )
        # One answer shows the call under way in the server's handler.
        requests.put(add_sub_request())
        assert not next(stream).error_message
        # The request stream stays open: ended first, the server could finish the call
        # normally before the cancellation reached it (the client would still see CANCELLED).
        stream.cancel()
        method = "lepton.inference.v1.InferenceService/ModelStreamInfer"
        try:
            for _ in range(300):
                families = scrape(metered.metrics_url)
                if _handled(families, method, "Canceled"):
                    break
                time.sleep(0.1)
        finally:
            requests.put(None)
    assert _handled(families, method, "Canceled") == 1
    assert _handled(families, method, "OK") == 0


def test_per_model_metrics_carry_tritons_names_and_match_the_statistics(metered):
    """INF-075: nv_inference_* per model version, equal to what ModelStatistics reports."""
    client = triton.InferenceServerClient(metered.address)
    for _ in range(5):
        _infer(client)
    with grpc.insecure_channel(metered.address) as channel:
        stats = inference_grpc.InferenceServiceStub(channel).ModelStatistics(
            inference_pb.ModelStatisticsRequest(name="add_sub_fp32"), metadata=AUTH
        )
    families = scrape(metered.metrics_url)
    (expected,) = stats.model_stats
    model = {"model": "add_sub_fp32", "version": expected.version}
    assert value(families, "nv_inference_request_success", **model) == 5
    assert expected.inference_stats.success.count == 5
    assert value(families, "nv_inference_request_failure", **model) == (
        expected.inference_stats.fail.count
    )
    assert value(families, "nv_inference_count", **model) == expected.inference_count == 5
    assert value(families, "nv_inference_exec_count", **model) == expected.execution_count
    duration = value(families, "nv_inference_request_duration_us", **model)
    assert duration == expected.inference_stats.success.ns // 1000 > 0
    # Every model the server loaded has its series, zero or not.
    loaded = {s.labels["model"] for s in families["nv_inference_request_success"]}
    assert {"add_sub_fp32", "add_sub_int32"} <= loaded


def test_jobs_by_state_and_storage_bytes(metered):
    """GEN-103: the jobs of each layer by state, and the bytes each area of the data
    directory holds, read at the scrape."""
    before = scrape(metered.metrics_url)
    table = pa.table({"x": np.arange(100_000, dtype=np.int64)})
    with DataManager.connect(metered.address, token=TOKEN, progress=False) as data:
        data.load_data(table, "metered")
    after = scrape(metered.metrics_url)
    states = {s.labels["state"] for s in after["lepton_jobs"] if s.labels["layer"] == "data"}
    assert {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"} <= states
    layers = {s.labels["layer"] for s in after["lepton_jobs"]}
    assert {"data", "registry", "training", "annotation"} <= layers
    grown = value(after, "lepton_storage_bytes", area="data") - value(
        before, "lepton_storage_bytes", area="data"
    )
    assert grown >= table.nbytes
    assert value(after, "lepton_storage_free_bytes") > 0


def test_area_bytes_of_du_and_of_the_walk_agree(tmp_path, monkeypatch):
    """The storage gauge reads `du` where there is one and walks the tree itself where there
    is not; both count the files' allocated bytes (`du` adds the directories' own blocks)."""
    areas = [tmp_path / "data", tmp_path / "registry"]
    for index, area in enumerate(areas):
        (area / "deep" / "er").mkdir(parents=True)
        (area / "one").write_bytes(b"x" * 100_000 * (index + 1))
        (area / "deep" / "er" / "two").write_bytes(b"y" * 300_000)
    by_du = metrics.area_bytes(areas)
    monkeypatch.setattr(metrics.shutil, "which", lambda _name: None)
    walked = metrics.area_bytes(areas)
    assert set(by_du) == set(walked) == {"data", "registry"}
    for name, size in walked.items():
        assert size >= 400_000
        assert 0 <= by_du[name] - size <= 3 * 64 * 1024, name


def test_process_metrics_are_served(metered):
    families = scrape(metered.metrics_url)
    assert value(families, "process_resident_memory_bytes") > 0


def test_a_metrics_port_in_use_stops_the_server_with_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        serve = ["serve", "--data-dir", str(tmp_path), "--address", "127.0.0.1:0"]
        result = subprocess.run(
            [*SERVE, *serve, "--services", "data", "--metrics-address", address],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert f"lepton serve: --metrics-address {address}:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--metrics-address", "nowhere"], "--metrics-address must be HOST:PORT"),
        (["--metrics-address", "127.0.0.1:70000"], "--metrics-address must be HOST:PORT"),
    ],
)
def test_an_unusable_metrics_address_stops_the_server(arguments, message, tmp_path):
    result = subprocess.run(
        [*SERVE, "serve", "--data-dir", str(tmp_path), "--address", "127.0.0.1:0", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr
