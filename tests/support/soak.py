"""Mixed load held on one `lepton serve` for a while: inference at concurrency 64, dataset
writes and reads, and import jobs, all at once. It reports errors by code, p99 latency per
window of time, and the growth of the server's resident memory (read from its own Prometheus
metrics) from the end of the warm-up to the end.

    make soak                                              # one hour
    PYTHONPATH=tests .venv/bin/python -m support.soak --seconds 120

`make test` runs a two-minute slice (tests/server/runtime/test_soak.py)."""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from grpc import aio
from prometheus_client.parser import text_string_to_metric_families

from lepton.data.v1 import dataset_pb2
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton.data.v1 import dataset_service_pb2_grpc as data_grpc
from lepton.data.v1 import file_format_pb2 as format_pb
from lepton.data.v1 import import_job_pb2 as import_pb
from lepton.inference.v1 import inference_service_pb2 as inference_pb
from lepton.type.v1 import job_pb2

TOKEN = "soak-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
CONCURRENCY = 64
WINDOW_SECONDS = 10.0
CALL_SECONDS = 30.0
CHUNK = 1 << 20


@dataclass
class Soak:
    """What the load saw: latencies per kind and window, errors, and RSS samples."""

    started: float = field(default_factory=time.monotonic)
    # (kind, window index) -> latencies in seconds
    latencies: dict[tuple[str, int], list[float]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    errors: collections.Counter = field(default_factory=collections.Counter)
    done: collections.Counter = field(default_factory=collections.Counter)
    # kind and code -> the message of its first error
    first_errors: dict[str, str] = field(default_factory=dict)
    # (seconds since start, resident bytes)
    rss: list[tuple[float, float]] = field(default_factory=list)

    def record(self, kind: str, began: float) -> None:
        now = time.monotonic()
        window = int((began - self.started) // WINDOW_SECONDS)
        self.latencies[kind, window].append(now - began)
        self.done[kind] += 1

    def failed(self, kind: str, error: grpc.RpcError) -> None:
        key = f"{kind} {error.code().name}"
        if key not in self.errors:
            self.first_errors[key] = error.details() or ""
        self.errors[key] += 1

    def p99(self, kind: str) -> list[float]:
        """The p99 latency (seconds) of `kind` in each window, in order."""
        windows = sorted(w for k, w in self.latencies if k == kind)
        return [float(np.percentile(self.latencies[kind, w], 99)) for w in windows]

    def rss_growth(self, warmup: float) -> float:
        """How much RSS grew from the first sample after `warmup` seconds to the last, as a
        fraction of the first."""
        after = [bytes_ for at, bytes_ in self.rss if at >= warmup]
        if len(after) < 2:
            return 0.0
        return (after[-1] - after[0]) / after[0]


def _infer_request() -> bytes:
    ones = np.ones((1, 16), dtype=np.float32).tobytes()
    request = inference_pb.ModelInferRequest(model_name="add_sub_fp32")
    for name in ("INPUT0", "INPUT1"):
        request.inputs.add(name=name, datatype="FP32", shape=[1, 16])
        request.raw_input_contents.append(ones)
    return request.SerializeToString()


async def _inference(channel: aio.Channel, soak: Soak, until: float) -> None:
    infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
    request = _infer_request()
    while time.monotonic() < until:
        began = time.monotonic()
        try:
            await infer(request, metadata=AUTH, timeout=CALL_SECONDS)
            soak.record("infer", began)
        except grpc.RpcError as error:
            soak.failed("infer", error)


def _table(rows: int, seed: int) -> bytes:
    """An Arrow IPC stream of `rows` rows."""
    rng = np.random.default_rng(seed)
    table = pa.table(
        {"id": np.arange(rows), "x": rng.random(rows), "s": [f"r{i}" for i in range(rows)]}
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


async def _datasets(channel: aio.Channel, soak: Soak, until: float, worker: int) -> None:
    """Writes a version, reads it back whole, and deletes the dataset, over and over."""
    stub = data_grpc.DatasetServiceStub(channel)
    payload = _table(20_000, worker)
    rounds = 0
    while time.monotonic() < until:
        name = f"datasets/soak-{worker}-{rounds}"
        rounds += 1
        try:
            began = time.monotonic()
            await stub.CreateDataset(
                data_pb.CreateDatasetRequest(dataset_id=name.split("/")[1]),
                metadata=AUTH,
                timeout=CALL_SECONDS,
            )

            def chunks(parent: str = name):
                header = data_pb.WriteVersionHeader(
                    parent=parent, mode=dataset_pb2.WRITE_MODE_APPEND
                )
                yield data_pb.WriteVersionRequest(header=header)
                for start in range(0, len(payload), CHUNK):
                    yield data_pb.WriteVersionRequest(arrow_data=payload[start : start + CHUNK])

            written = await stub.WriteVersion(chunks(), metadata=AUTH, timeout=CALL_SECONDS)
            soak.record("write", began)
            began = time.monotonic()
            read = stub.ReadVersion(
                data_pb.ReadVersionRequest(name=written.version.name),
                metadata=AUTH,
                timeout=CALL_SECONDS,
            )
            rows, schema = 0, None
            async for response in read:
                if response.HasField("header"):
                    schema = pa.ipc.read_schema(pa.py_buffer(response.header.arrow_schema))
                batch = pa.py_buffer(response.arrow_record_batch)
                rows += pa.ipc.read_record_batch(batch, schema).num_rows
            if rows != 20_000:
                soak.errors[f"read {rows} rows of 20000"] += 1
            soak.record("read", began)
            await stub.DeleteDataset(
                data_pb.DeleteDatasetRequest(name=name, force=True),
                metadata=AUTH,
                timeout=CALL_SECONDS,
            )
        except grpc.RpcError as error:
            soak.failed("dataset", error)


async def _imports(channel: aio.Channel, soak: Soak, until: float, files: Path) -> None:
    """Imports a CSV file into one dataset as a job, waiting for each to succeed."""
    stub = data_grpc.DatasetServiceStub(channel)
    csv = files / "soak.csv"
    pa_csv.write_csv(pa.table({"id": np.arange(5_000), "y": np.arange(5_000) * 0.5}), csv)
    await stub.CreateDataset(
        data_pb.CreateDatasetRequest(dataset_id="soak-imports"), metadata=AUTH, timeout=CALL_SECONDS
    )
    while time.monotonic() < until:
        began = time.monotonic()
        try:
            job = await stub.CreateImportJob(
                data_pb.CreateImportJobRequest(
                    parent="datasets/soak-imports",
                    import_job=import_pb.ImportJob(
                        mode=dataset_pb2.WRITE_MODE_OVERWRITE,
                        source_uris=[csv.as_uri()],
                        format=format_pb.FormatSpec(format=format_pb.FILE_FORMAT_CSV),
                    ),
                ),
                metadata=AUTH,
                timeout=CALL_SECONDS,
            )
            job = job.import_job
            while job.status.state not in (
                job_pb2.JOB_STATE_SUCCEEDED,
                job_pb2.JOB_STATE_FAILED,
                job_pb2.JOB_STATE_CANCELLED,
            ):
                await asyncio.sleep(0.1)
                job = await stub.GetImportJob(
                    data_pb.GetImportJobRequest(name=job.name), metadata=AUTH, timeout=CALL_SECONDS
                )
                job = job.import_job
            if job.status.state != job_pb2.JOB_STATE_SUCCEEDED:
                soak.errors[f"import job {job_pb2.JobState.Name(job.status.state)}"] += 1
            else:
                soak.record("import", began)
        except grpc.RpcError as error:
            soak.failed("import", error)


def _resident_bytes(metrics_url: str) -> float:
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "process_resident_memory_bytes":
                return sample.value
    raise AssertionError("the server reports no process_resident_memory_bytes")


async def _memory(metrics_url: str, soak: Soak, until: float) -> None:
    while time.monotonic() < until:
        resident = await asyncio.to_thread(_resident_bytes, metrics_url)
        soak.rss.append((time.monotonic() - soak.started, resident))
        await asyncio.sleep(min(5.0, max(0.0, until - time.monotonic())))


async def run_soak(address: str, metrics_url: str, files: Path, seconds: float) -> Soak:
    """Hold the mixed load on the server at `address` for `seconds`."""
    soak = Soak()
    until = soak.started + seconds
    options = [("grpc.max_receive_message_length", 64 << 20)]
    async with aio.insecure_channel(address, options=options) as channel:
        await asyncio.gather(
            *(_inference(channel, soak, until) for _ in range(CONCURRENCY)),
            *(_datasets(channel, soak, until, worker) for worker in range(2)),
            _imports(channel, soak, until, files),
            _memory(metrics_url, soak, until),
        )
    return soak


def report(soak: Soak, warmup: float) -> dict:
    """The figures `make soak` prints and the test checks."""
    return {
        "completed": dict(soak.done),
        "errors": dict(soak.errors),
        "first_errors": soak.first_errors,
        "p99_seconds_per_window": {kind: soak.p99(kind) for kind in sorted(soak.done)},
        "rss_bytes": [[round(at, 1), rss] for at, rss in soak.rss],
        "rss_growth_after_warmup": soak.rss_growth(warmup),
    }


def soak_server(seconds: float, root: Path) -> dict:
    """Start a server under `root`, hold the load on it, stop it; the report, with whether the
    server was still alive at the end."""
    from lepton_conformance.suites.inference.model_set import write_model_set  # noqa: PLC0415
    from support.servers import start_server  # noqa: PLC0415

    (root / "models").mkdir()
    write_model_set(root / "models")
    files = root / "files"
    files.mkdir()
    (root / "tokens").write_text(f"{TOKEN}\n")
    args = [
        "--model-repository",
        str(root / "models"),
        "--file-root",
        str(files),
        "--auth-tokens",
        str(root / "tokens"),
        "--metrics-address",
        "127.0.0.1:0",
        "--services",
        "inference,data",
    ]
    server = start_server(args, root / "data")
    try:
        soak = asyncio.run(run_soak(server.address, server.metrics_url, files, seconds))
        alive = server.process.poll() is None
    finally:
        server.stop()
    return {**report(soak, warmup=seconds / 5), "server_alive": alive}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--report", type=Path, help="write the report as JSON here too")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lepton-soak-") as tmp:
        result = soak_server(options.seconds, Path(tmp))
    if options.report is not None:
        options.report.write_text(json.dumps(result, indent=2))
    print(f"completed: {result['completed']}")
    print(f"errors: {result['errors'] or 'none'}")
    for key, message in result["first_errors"].items():
        print(f"  first {key}: {message}")
    for kind, windows in result["p99_seconds_per_window"].items():
        shown = ", ".join(f"{p * 1000:.0f}" for p in windows)
        print(f"p99 {kind} per {WINDOW_SECONDS:.0f} s window (ms): {shown}")
    print(f"RSS growth after the warm-up: {result['rss_growth_after_warmup']:.1%}")
    ok = (
        result["server_alive"] and not result["errors"] and result["rss_growth_after_warmup"] < 0.05
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
