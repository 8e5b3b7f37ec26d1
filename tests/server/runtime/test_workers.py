"""`lepton serve --workers N`: several processes on one port behave as one server. Each
test opens many channels (each its own connection, which the kernel hands to one of the
processes), so both the primary and the worker answer some of them."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import numpy as np
import pyarrow as pa
import pytest
from support.reflection_client import list_services
from support.servers import start_server
from support.status_details import error_info

from lepton.data.v1 import dataset_pb2
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton.data.v1 import dataset_service_pb2_grpc as data_grpc
from lepton.inference.v1 import inference_service_pb2 as pb
from lepton.inference.v1 import inference_service_pb2_grpc as pb_grpc

CHANNELS = 24  # the chance that every connection lands on the same one of two is 2^-23
MODEL = "add_sub_fp32"
TOKEN = "workers-token"


@contextmanager
def channels(address: str, count: int = CHANNELS) -> Iterator[list[grpc.Channel]]:
    # A subchannel pool of each channel's own: else channels to one address share one.
    options = [("grpc.use_local_subchannel_pool", 1)]
    opened = [grpc.insecure_channel(address, options=options) for _ in range(count)]
    try:
        yield opened
    finally:
        for channel in opened:
            channel.close()


def _request() -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=MODEL)
    for name in ("INPUT0", "INPUT1"):
        request.inputs.add(name=name, datatype="FP32", shape=[1, 16])
        request.raw_input_contents.append(np.arange(16, dtype=np.float32).tobytes())
    return request


def _count(channel: grpc.Channel, metadata=()) -> int:
    stub = pb_grpc.InferenceServiceStub(channel)
    reply = stub.ModelStatistics(pb.ModelStatisticsRequest(name=MODEL), metadata=metadata)
    return sum(s.inference_count for s in reply.model_stats)


def _worker_pids(primary: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == primary:
                found.append(int(entry.name))
    return found


def _gone(pids: list[int], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def sockets() -> Iterator[Path]:
    # Short: a unix socket path must fit in about 100 bytes.
    directory = Path(tempfile.mkdtemp(prefix="lw-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def workers(server_factory, model_repository, sockets):
    return server_factory(
        "--workers",
        "2",
        "--model-repository",
        str(model_repository),
        "--worker-socket-dir",
        str(sockets),
    )


def test_both_processes_serve_and_statistics_count_every_request(workers, sockets):
    with channels(workers.address) as opened:
        for channel in opened:
            pb_grpc.InferenceServiceStub(channel).ModelInfer(_request(), timeout=30)
        assert {_count(channel) for channel in opened} == {CHANNELS}
    # The worker's own engine answered some of them, the primary's the rest.
    with grpc.insecure_channel(f"unix:{sockets / 'worker-1.sock'}") as private:
        assert 0 < _count(private) < CHANNELS


def test_a_load_or_unload_through_any_connection_reaches_every_process(workers):
    with channels(workers.address) as opened:
        stub = pb_grpc.InferenceServiceStub(opened[0])
        stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name=MODEL), timeout=30)
        for channel in opened:
            with pytest.raises(grpc.RpcError) as raised:
                pb_grpc.InferenceServiceStub(channel).ModelInfer(_request(), timeout=30)
            assert raised.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE)
        stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name=MODEL), timeout=60)
        for channel in opened:
            pb_grpc.InferenceServiceStub(channel).ModelInfer(_request(), timeout=30)


def test_forwarded_calls_keep_the_primarys_status_and_error_info(workers):
    with channels(workers.address) as opened:
        reasons = set()
        for channel in opened:
            stub = data_grpc.DatasetServiceStub(channel)
            with pytest.raises(grpc.RpcError) as raised:
                stub.GetDataset(data_pb.GetDatasetRequest(name="datasets/absent"), timeout=30)
            info = error_info(raised.value)
            reasons.add((raised.value.code(), info.reason if info else None))
        assert reasons == {(grpc.StatusCode.NOT_FOUND, "RESOURCE_NOT_FOUND")}
        # A forwarded stream (reflection) lists every service the primary hosts.
        listed = {
            tuple(list_services(c, "grpc.reflection.v1alpha.ServerReflection")) for c in opened
        }
        assert len(listed) == 1
        assert "lepton.data.v1.DatasetService" in next(iter(listed))


def _write(stub: data_grpc.DatasetServiceStub, parent: str, description: str) -> None:
    table = pa.table({"x": pa.array(range(100), pa.int64())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=10)
    ipc = sink.getvalue().to_pybytes()
    header = data_pb.WriteVersionHeader(
        parent=parent, mode=dataset_pb2.WRITE_MODE_APPEND, description=description
    )
    chunks = [
        data_pb.WriteVersionRequest(arrow_data=ipc[i : i + 256]) for i in range(0, len(ipc), 256)
    ]
    stub.WriteVersion(iter([data_pb.WriteVersionRequest(header=header), *chunks]), timeout=30)


def test_forwarded_client_streams_keep_an_early_refusal_and_write_the_rest(workers):
    # A worker forwards WriteVersion to the primary, which refuses a too-long description on
    # the header while the worker is still sending chunks: the caller must get that refusal.
    with channels(workers.address) as opened:
        stub = data_grpc.DatasetServiceStub(opened[0])
        created = stub.CreateDataset(data_pb.CreateDatasetRequest(dataset_id="forwarded"))
        parent = created.dataset.name
        answers = set()
        for _ in range(8):
            for channel in opened:
                with pytest.raises(grpc.RpcError) as raised:
                    _write(data_grpc.DatasetServiceStub(channel), parent, "d" * 16385)
                info = error_info(raised.value)
                answers.add((raised.value.code(), info.reason if info else None))
        assert answers == {(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")}
        for channel in opened:
            _write(data_grpc.DatasetServiceStub(channel), parent, "accepted")
        versions = stub.ListVersions(data_pb.ListVersionsRequest(parent=parent)).versions
        assert len(versions) == CHANNELS
        assert {v.row_count for v in versions} == {100 * i for i in range(1, CHANNELS + 1)}


def test_every_process_requires_the_token(server_factory, model_repository, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    server = server_factory(
        "--workers", "2", "--model-repository", str(model_repository), "--auth-tokens", str(tokens)
    )
    good = (("authorization", f"Bearer {TOKEN}"),)
    with channels(server.address) as opened:
        for channel in opened:
            stub = pb_grpc.InferenceServiceStub(channel)
            # ModelInfer is served by the process that took the connection; statistics are
            # forwarded to the primary by a worker.
            with pytest.raises(grpc.RpcError) as raised:
                stub.ModelInfer(_request(), timeout=30)
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as raised:
                _count(channel)
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
            stub.ModelInfer(_request(), metadata=good, timeout=30)
            assert _count(channel, good) > 0


def test_the_workers_stop_with_the_primary(model_repository, tmp_path):
    for signum in (signal.SIGTERM, signal.SIGKILL):
        server = start_server(
            ["--workers", "3", "--model-repository", str(model_repository)],
            tmp_path / f"data-{signum}",
        )
        pids = _worker_pids(server.process.pid)
        assert len(pids) == 2
        server.stop(signum)
        assert _gone(pids), f"workers outlived the primary after signal {signum}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--workers", "2", "--services", "data"], "--workers scales the inference layer"),
    ],
)
def test_serve_refuses_workers_it_cannot_use(args, message, tmp_path):
    with pytest.raises(RuntimeError, match=message):
        start_server(args, tmp_path / "data", timeout=20)
