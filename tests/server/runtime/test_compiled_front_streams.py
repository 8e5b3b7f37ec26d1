"""The data layer's streams through the compiled front: WriteVersion (a client stream) and
ReadVersion (a server stream) are framed by the front and handed to the registered handlers,
and must answer exactly as grpc.aio alone does (`--data-plane python`): the same data, the
same statuses and ErrorInfo, nothing committed by a write that did not finish, and a reader
that cannot keep up slows the stream instead of losing it."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pyarrow as pa
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from support.servers import ServerProcess, start_server
from test_metrics import add_sub_request, handled_by_code, scrape

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton.inference.v1 import inference_service_pb2_grpc as inference_grpc
from lepton.registry.v1 import model_registry_service_pb2 as registry_pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as registry_grpc
from lepton_server.data.table_digest import content_digest

TOKEN = "stream-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
LIMIT = 4 * 1024 * 1024
CHUNK = 256 * 1024
PLANES = ("compiled", "python")
SERVICE = "lepton.data.v1.DatasetService"


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, ServerProcess]]:
    """One server per data plane, alike in everything else, each with dataset "t"."""
    root = tmp_path_factory.mktemp("front-streams")
    tokens = root / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    started = {}
    try:
        for plane in PLANES:
            started[plane] = start_server(
                [
                    *("--data-plane", plane),
                    *("--auth-tokens", str(tokens)),
                    *("--max-message-bytes", str(LIMIT)),
                ],
                root / plane,
            )
            with grpc.insecure_channel(started[plane].address) as channel:
                pb_grpc.DatasetServiceStub(channel).CreateDataset(
                    pb.CreateDatasetRequest(dataset_id="t"), metadata=AUTH, timeout=10
                )
        yield started
    finally:
        for server in started.values():
            server.stop()


def _table(rows: int, seed: int = 3) -> pa.Table:
    generator = np.random.default_rng(seed)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "value": pa.array(generator.normal(size=rows)),
            "name": pa.array([f"row-{i}" for i in range(rows)]),
            "flag": pa.array(generator.integers(0, 2, size=rows).astype(bool)),
        }
    )


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=4096)
    return sink.getvalue().to_pybytes()


def _header(parent: str = "datasets/t") -> pb.WriteVersionRequest:
    mode = resources.WRITE_MODE_OVERWRITE
    return pb.WriteVersionRequest(header=pb.WriteVersionHeader(parent=parent, mode=mode))


def _chunks(data: bytes, size: int = CHUNK) -> list[pb.WriteVersionRequest]:
    return [
        pb.WriteVersionRequest(arrow_data=data[start : start + size])
        for start in range(0, len(data), size)
    ]


def _error(error: grpc.RpcError) -> tuple:
    """A failed call's code, message and ErrorInfo reasons."""
    status = rpc_status.from_call(error)
    reasons = []
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reasons.append(info.reason)
    return error.code(), error.details(), reasons


def _outcome(call: Callable[[], object]) -> tuple:
    try:
        call()
    except grpc.RpcError as error:
        return _error(error)
    return grpc.StatusCode.OK, "", []


def _channel(server: ServerProcess, **options: int) -> grpc.Channel:
    return grpc.insecure_channel(
        server.address, options=[(f"grpc.{key}", value) for key, value in options.items()]
    )


def _versions(server: ServerProcess) -> int:
    with _channel(server) as channel:
        reply = pb_grpc.DatasetServiceStub(channel).ListVersions(
            pb.ListVersionsRequest(parent="datasets/t", page_size=1000), metadata=AUTH, timeout=10
        )
    return len(reply.versions)


def _read(stub: pb_grpc.DatasetServiceStub, request: pb.ReadVersionRequest, **options) -> tuple:
    """A whole ReadVersion: its header and table."""
    header, batches = None, []
    for response in stub.ReadVersion(request, metadata=AUTH, timeout=60, **options):
        if response.HasField("header"):
            header = response.header
        batches.append(response.arrow_record_batch)
    schema = pa.ipc.read_schema(pa.py_buffer(header.arrow_schema))
    table = pa.Table.from_batches(
        [pa.ipc.read_record_batch(pa.py_buffer(b), schema) for b in batches if b], schema
    )
    return header, table


def test_a_data_only_server_runs_the_front(tmp_path):
    """The data layer's streams are the front's to frame: with no inference layer, it runs."""
    server = start_server(["--services", "data"], tmp_path / "data")
    try:
        tasks = Path(f"/proc/{server.process.pid}/task")
        # The front's thread names itself once it runs, which on a busy machine may come a
        # moment after the server has announced its port.
        deadline = time.monotonic() + 30
        while True:
            threads = set()
            for task in tasks.iterdir():
                with contextlib.suppress(OSError):  # a thread that ended meanwhile
                    threads.add((task / "comm").read_text().strip())
            if "lepton-front" in threads or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert "lepton-front" in threads
    finally:
        server.stop()


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_a_written_table_reads_back_alike_on_both_planes(servers, compressed):
    table = _table(60_000)
    compression = grpc.Compression.Gzip if compressed else grpc.Compression.NoCompression
    read_back = {}
    for plane in PLANES:
        with _channel(servers[plane], max_receive_message_length=LIMIT) as channel:
            stub = pb_grpc.DatasetServiceStub(channel)
            messages = [_header(), *_chunks(_ipc(table))]
            written = stub.WriteVersion(
                iter(messages), metadata=AUTH, timeout=60, compression=compression
            ).version
            assert written.content_digest.hex == content_digest(table), plane
            assert written.row_count == table.num_rows, plane
            request = pb.ReadVersionRequest(name=written.name, batch_rows=7000)
            header, read = _read(stub, request)
            assert read.equals(table), plane
            read_back[plane] = (header.total_row_count, header.batch_rows, header.batch_count)
    assert read_back["compiled"] == read_back["python"] == (60_000, 7000, 9)


def _raw_write(channel: grpc.Channel, messages: list[bytes], metadata=AUTH) -> None:
    write = channel.stream_unary(f"/{SERVICE}/WriteVersion")
    write(iter(messages), metadata=metadata, timeout=30)


def _bytes(*messages: pb.WriteVersionRequest) -> list[bytes]:
    return [m.SerializeToString() for m in messages]


DATA = _ipc(_table(100))
BAD_WRITES: dict[str, tuple[list[bytes], tuple]] = {
    "no message": ([], AUTH),
    "data before the header": (_bytes(*_chunks(DATA)), AUTH),
    "a second header": (_bytes(_header(), *_chunks(DATA), _header()), AUTH),
    "not Arrow IPC": (_bytes(_header(), pb.WriteVersionRequest(arrow_data=b"not arrow")), AUTH),
    "an Arrow stream cut short": (
        _bytes(_header(), pb.WriteVersionRequest(arrow_data=DATA[: len(DATA) // 2])),
        AUTH,
    ),
    "an unknown dataset": (_bytes(_header("datasets/nope"), *_chunks(DATA)), AUTH),
    "undecodable bytes": ([_header().SerializeToString(), b"\x12\xff\xff\xff"], AUTH),
    "no token": (_bytes(_header(), *_chunks(DATA)), ()),
}


@pytest.mark.parametrize("case", BAD_WRITES)
def test_a_bad_write_fails_alike_and_commits_nothing(servers, case):
    messages, metadata = BAD_WRITES[case]
    outcomes = {}
    for plane in PLANES:
        before = _versions(servers[plane])
        with _channel(servers[plane]) as channel:
            outcomes[plane] = _outcome(lambda: _raw_write(channel, messages, metadata))
        assert _versions(servers[plane]) == before, plane
    assert outcomes["compiled"] == outcomes["python"]
    assert outcomes["compiled"][0] not in (
        grpc.StatusCode.OK,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    )


BAD_READS: dict[str, tuple[pb.ReadVersionRequest, tuple]] = {
    "an unknown dataset": (pb.ReadVersionRequest(name="datasets/nope/versions/1"), AUTH),
    "a malformed name": (pb.ReadVersionRequest(name="versions/1"), AUTH),
    "a negative offset": (pb.ReadVersionRequest(name="datasets/t/versions/1", offset=-1), AUTH),
    "an unknown column": (
        pb.ReadVersionRequest(name="datasets/t/versions/1", columns=["nope"]),
        AUTH,
    ),
    "an offset past the end": (
        pb.ReadVersionRequest(name="datasets/t/versions/1", offset=10**9),
        AUTH,
    ),
    "a batch over the message limit": (
        pb.ReadVersionRequest(name="datasets/t/versions/1", batch_rows=10**6),
        AUTH,
    ),
    "no token": (pb.ReadVersionRequest(name="datasets/t/versions/1"), ()),
}


@pytest.mark.parametrize("case", BAD_READS)
def test_a_bad_read_fails_alike(servers, case):
    request, metadata = BAD_READS[case]
    outcomes = {}
    for plane in PLANES:
        with _channel(servers[plane]) as channel:
            stub = pb_grpc.DatasetServiceStub(channel)
            # Version 1 exists on both, and is large enough for a batch over the limit.
            stub.WriteVersion(
                iter([_header(), *_chunks(_ipc(_table(200_000)))]), metadata=AUTH, timeout=60
            )
            outcomes[plane] = _outcome(
                lambda stub=stub: list(stub.ReadVersion(request, metadata=metadata, timeout=30))
            )
    assert outcomes["compiled"] == outcomes["python"]
    assert outcomes["compiled"][0] not in (
        grpc.StatusCode.OK,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    )


def test_a_slow_reader_gets_every_row(servers):
    """Far more than the front queues for one stream (16 MiB) plus the HTTP/2 windows: the
    handler must wait for the reader, and be told when to go on, many times."""
    table = _table(2_000_000, seed=11)
    with _channel(servers["compiled"], max_receive_message_length=LIMIT) as channel:
        stub = pb_grpc.DatasetServiceStub(channel)
        name = stub.WriteVersion(
            iter([_header(), *_chunks(_ipc(table), 2 * 1024 * 1024)]), metadata=AUTH, timeout=120
        ).version.name
        header, batches = None, []
        for index, response in enumerate(
            stub.ReadVersion(pb.ReadVersionRequest(name=name), metadata=AUTH, timeout=120)
        ):
            if response.HasField("header"):
                header = response.header
            batches.append(response.arrow_record_batch)
            if index < 20:
                time.sleep(0.1)  # everything behind this message waits meanwhile
    schema = pa.ipc.read_schema(pa.py_buffer(header.arrow_schema))
    read = pa.Table.from_batches(
        [pa.ipc.read_record_batch(pa.py_buffer(b), schema) for b in batches], schema
    )
    assert table.nbytes > 56 * 1024 * 1024
    assert read.equals(table)


def _stalled_write(channel: grpc.Channel, release: threading.Event, timeout: float) -> grpc.Future:
    """A WriteVersion that sends its header and some data, then waits for `release`."""

    def messages() -> Iterator[pb.WriteVersionRequest]:
        yield _header()
        yield from _chunks(DATA)
        release.wait(30)

    return pb_grpc.DatasetServiceStub(channel).WriteVersion.future(
        messages(), metadata=AUTH, timeout=timeout
    )


@pytest.mark.parametrize("plane", PLANES)
def test_a_write_past_its_deadline_commits_nothing(servers, plane):
    before = _versions(servers[plane])
    release = threading.Event()
    with _channel(servers[plane]) as channel:
        call = _stalled_write(channel, release, timeout=1.5)
        with pytest.raises(grpc.RpcError) as raised:
            call.result(timeout=30)
        release.set()
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    time.sleep(0.5)  # a commit, were there one, would have happened by now
    assert _versions(servers[plane]) == before


@pytest.mark.parametrize("plane", PLANES)
def test_a_cancelled_write_commits_nothing(servers, plane):
    before = _versions(servers[plane])
    release = threading.Event()
    with _channel(servers[plane]) as channel:
        call = _stalled_write(channel, release, timeout=30)
        time.sleep(0.5)  # the header and data are in
        call.cancel()
        release.set()
        time.sleep(0.5)
        assert _versions(servers[plane]) == before
        # The server goes on serving writes.
        stub = pb_grpc.DatasetServiceStub(channel)
        stub.WriteVersion(iter([_header(), *_chunks(DATA)]), metadata=AUTH, timeout=30)
    assert _versions(servers[plane]) == before + 1


@pytest.mark.parametrize("plane", PLANES)
def test_a_message_over_the_limit_is_resource_exhausted_and_commits_nothing(servers, plane):
    before = _versions(servers[plane])
    big = pb.WriteVersionRequest(arrow_data=b"\0" * (LIMIT + 1))
    with _channel(servers[plane], max_send_message_length=2 * LIMIT) as channel:
        stub = pb_grpc.DatasetServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.WriteVersion(iter([_header(), big]), metadata=AUTH, timeout=30)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _versions(servers[plane]) == before


def test_a_reader_that_stops_stalls_no_other_call(servers):
    table = _table(400_000, seed=5)
    server = servers["compiled"]
    with _channel(server, max_receive_message_length=LIMIT) as channel:
        stub = pb_grpc.DatasetServiceStub(channel)
        name = stub.WriteVersion(
            iter([_header(), *_chunks(_ipc(table), 2 * 1024 * 1024)]), metadata=AUTH, timeout=60
        ).version.name
    stalled = _channel(server, max_receive_message_length=LIMIT)
    try:
        responses = pb_grpc.DatasetServiceStub(stalled).ReadVersion(
            pb.ReadVersionRequest(name=name, batch_rows=1000), metadata=AUTH, timeout=60
        )
        next(responses)
        time.sleep(0.5)  # the stream fills what the front and HTTP/2 hold, and waits
        with _channel(server, max_receive_message_length=LIMIT) as other:
            _, read = _read(pb_grpc.DatasetServiceStub(other), pb.ReadVersionRequest(name=name))
        assert read.equals(table)
        responses.cancel()
    finally:
        stalled.close()
    # The cancelled stream's work is gone: the front still answers at once.
    with _channel(server, max_receive_message_length=LIMIT) as channel:
        request = pb.ReadVersionRequest(name=name, limit=10)
        _, read = _read(pb_grpc.DatasetServiceStub(channel), request)
    assert read.equals(table.slice(0, 10))


def _anonymous_memory(pid: int) -> int:
    """The process's resident anonymous memory in bytes (memory-mapped segments left out)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon")


def test_a_stalled_reader_holds_a_bounded_window(tmp_path):
    """While the reader takes nothing, the server holds what the front queues for one stream
    (16 MiB), HTTP/2's send buffer (8 MiB) and the batches in hand, not the version: the
    handler waits."""
    table = _table(3_500_000, seed=13)
    assert table.nbytes > 100 * 1024 * 1024
    args = ["--max-message-bytes", str(LIMIT), "--services", "data"]
    server = start_server(args, tmp_path / "data")
    try:
        with _channel(server) as channel:
            stub = pb_grpc.DatasetServiceStub(channel)
            stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="t"), timeout=10)
            name = stub.WriteVersion(
                iter([_header(), *_chunks(_ipc(table), 2 * 1024 * 1024)]), timeout=120
            ).version.name
    finally:
        server.stop()
    # A fresh process, whose heap the write has not grown.
    server = start_server(args, tmp_path / "data")
    try:
        with _channel(server, max_receive_message_length=LIMIT) as channel:
            stub = pb_grpc.DatasetServiceStub(channel)
            list(stub.ReadVersion(pb.ReadVersionRequest(name=name, limit=10), timeout=30))
            before = _anonymous_memory(server.process.pid)
            responses = stub.ReadVersion(pb.ReadVersionRequest(name=name), timeout=120)
            batches = [next(responses)]
            peak = before
            for _ in range(15):
                time.sleep(0.1)
                peak = max(peak, _anonymous_memory(server.process.pid))
            batches.extend(responses)
    finally:
        server.stop()
    # Measured: 37 MiB with the wait, the whole version (over 100 MiB) without it.
    assert peak - before < 64 * 1024 * 1024
    header = batches[0].header
    schema = pa.ipc.read_schema(pa.py_buffer(header.arrow_schema))
    read = pa.Table.from_batches(
        [pa.ipc.read_record_batch(pa.py_buffer(b.arrow_record_batch), schema) for b in batches],
        schema,
    )
    assert read.equals(table)


def _handled_once(server: ServerProcess, method: str) -> dict[str, float]:
    """The handled counts of `method` once the server has ended one call of it: polled, with
    a limit far above what the cancellation takes."""
    for _ in range(300):
        counts = handled_by_code(scrape(server.metrics_url), method)
        if sum(counts.values()):
            return counts
        time.sleep(0.1)
    return counts


@pytest.fixture
def proxied(server_factory, model_repository, tmp_path) -> ServerProcess:
    """A compiled-front server with metrics, the conformance models and the registry: the
    streams below are not the front's own, so it proxies them to grpc.aio."""
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN} operator\n")
    return server_factory(
        *("--data-plane", "compiled"),
        *("--metrics-address", "127.0.0.1:0"),
        *("--model-repository", str(model_repository)),
        *("--auth-tokens", str(tokens)),
    )


def test_a_cancelled_proxied_bidi_stream_ends_on_the_server(proxied):
    """The client cancels ModelStreamInfer with its request stream still open: the front
    resets the stream it opened to grpc.aio, so the handler's call ends there. Only the
    cancellation can end it, the client never half-closes. Which code it is counted under is
    grpc.aio's race (a cancelled read ends a handler's request stream as its end would), so
    this counts calls ended, whatever their code."""
    method = "lepton.inference.v1.InferenceService/ModelStreamInfer"
    requests: queue.Queue = queue.Queue()
    with grpc.insecure_channel(proxied.address) as channel:
        stream = inference_grpc.InferenceServiceStub(channel).ModelStreamInfer(
            iter(requests.get, None), metadata=AUTH
        )
        requests.put(add_sub_request())
        assert not next(stream).error_message  # the call is under way in the handler
        stream.cancel()
        try:
            counts = _handled_once(proxied, method)
        finally:
            requests.put(None)
    assert sum(counts.values()) == 1, counts


def test_a_cancelled_proxied_server_stream_is_cancelled_on_the_server(proxied):
    """The client cancels WatchModelEvents, which never ends by itself: the handler's call
    ends on the grpc.aio server, counted under Canceled."""
    method = "lepton.registry.v1.ModelRegistryService/WatchModelEvents"
    with grpc.insecure_channel(proxied.address) as channel:
        stream = registry_grpc.ModelRegistryServiceStub(channel).WatchModelEvents(
            registry_pb.WatchModelEventsRequest(), metadata=AUTH
        )
        next(stream)  # the stream's first message: the call is under way in the handler
        stream.cancel()
        counts = _handled_once(proxied, method)
    assert counts == {"Canceled": 1}, counts
