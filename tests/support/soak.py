"""Mixed load held on one `lepton serve` for a while: inference at concurrency 64, dataset
writes and reads, and import jobs, all at once. It reports errors by code, p99 latency and
calls done per window of time, the growth of the server's resident memory (read from its own
Prometheus metrics) from the end of the warm-up to the end, and the CPU the server and the load
used over time, and how long a fixed piece of work takes the machine: a latency that grows while
the server's CPU per call holds is a server starved of CPU, not one whose work grew, and one
that grows with the fixed work's time is a slower machine.

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
from array import array
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
    # (kind, window index) -> latencies in seconds; arrays, not lists of floats: an hour holds
    # twenty million, which as objects would grow the load's own memory by some 700 MB and
    # slow its garbage collector
    latencies: dict[tuple[str, int], array] = field(
        default_factory=lambda: collections.defaultdict(lambda: array("d"))
    )
    errors: collections.Counter = field(default_factory=collections.Counter)
    done: collections.Counter = field(default_factory=collections.Counter)
    # kind and code -> the message of its first error
    first_errors: dict[str, str] = field(default_factory=dict)
    # (seconds since start, resident bytes)
    rss: list[tuple[float, float]] = field(default_factory=list)
    # (seconds since start, CPU seconds the server has used, CPU seconds the load has used)
    cpu: list[tuple[float, float, float]] = field(default_factory=list)
    # (seconds since start, CPU seconds the fixed work of `_machine_seconds` took)
    machine: list[tuple[float, float]] = field(default_factory=list)

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

    def _windows(self, kind: str) -> list[array]:
        """The latencies of `kind` in each window, in order."""
        return [self.latencies[kind, w] for w in sorted(w for k, w in self.latencies if k == kind)]

    def p99(self, kind: str) -> list[float]:
        """The p99 latency (seconds) of `kind` in each window, in order."""
        return [float(np.percentile(window, 99)) for window in self._windows(kind)]

    def per_window(self, kind: str) -> list[int]:
        """How many calls of `kind` completed in each window, in order."""
        return [len(window) for window in self._windows(kind)]

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


_PROCESS_SAMPLES = ("process_resident_memory_bytes", "process_cpu_seconds_total")


def _process_samples(metrics_url: str) -> tuple[float, float]:
    """The server's resident bytes and the CPU seconds it has used, from its metrics."""
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    found = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in _PROCESS_SAMPLES
    }
    missing = [name for name in _PROCESS_SAMPLES if name not in found]
    if missing:
        raise AssertionError(f"the server reports no {', '.join(missing)}")
    return found["process_resident_memory_bytes"], found["process_cpu_seconds_total"]


def _machine_seconds() -> float:
    """The CPU seconds a fixed piece of pure-Python work takes this thread (a few ms): the
    machine's speed, which a host sharing its CPUs can change under a run."""
    began = time.thread_time()
    sum(i * i for i in range(50_000))
    return time.thread_time() - began


async def _process(metrics_url: str, soak: Soak, until: float) -> None:
    while time.monotonic() < until:
        resident, server_cpu = await asyncio.to_thread(_process_samples, metrics_url)
        at = time.monotonic() - soak.started
        soak.rss.append((at, resident))
        soak.cpu.append((at, server_cpu, time.process_time()))
        soak.machine.append((at, _machine_seconds()))
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
            _process(metrics_url, soak, until),
        )
    return soak


def _cores(cpu: list[tuple[float, float, float]], since: float, until: float) -> list[float]:
    """The CPUs the server and the load kept busy, on average, between the samples nearest
    `since` and `until` seconds (each a number of cores)."""
    inside = [sample for sample in cpu if since <= sample[0] <= until]
    if len(inside) < 2:
        return [0.0, 0.0]
    (t0, *first), (t1, *last) = inside[0], inside[-1]
    return [(b - a) / (t1 - t0) for a, b in zip(first, last, strict=True)]


def _median_ms(samples: list[tuple[float, float]], since: float, until: float) -> float:
    inside = [seconds for at, seconds in samples if since <= at <= until]
    return float(np.median(inside)) * 1000 if inside else 0.0


def report(soak: Soak, warmup: float) -> dict:
    """The figures `make soak` prints and the test checks."""
    end = soak.cpu[-1][0] if soak.cpu else 0.0
    # Five minutes, or a fifth of a shorter run, right after the warm-up and at the end.
    span = min(300.0, max(0.0, end - warmup) / 5)
    parts = {"first": (warmup, warmup + span), "last": (end - span, end)}
    return {
        "completed": dict(soak.done),
        "errors": dict(soak.errors),
        "first_errors": soak.first_errors,
        "p99_seconds_per_window": {kind: soak.p99(kind) for kind in sorted(soak.done)},
        "completed_per_window": {kind: soak.per_window(kind) for kind in sorted(soak.done)},
        "window_seconds": WINDOW_SECONDS,
        "rss_bytes": [[round(at, 1), rss] for at, rss in soak.rss],
        "rss_growth_after_warmup": soak.rss_growth(warmup),
        "cpu_seconds": [[round(at, 1), server, load] for at, server, load in soak.cpu],
        "cores_after_warmup": {part: _cores(soak.cpu, *at) for part, at in parts.items()},
        "machine_ms_after_warmup": {
            part: _median_ms(soak.machine, *at) for part, at in parts.items()
        },
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
    for when, (server, load) in result["cores_after_warmup"].items():
        machine = result["machine_ms_after_warmup"][when]
        print(
            f"{when} part after the warm-up: CPUs busy, server {server:.2f}, load {load:.2f}; "
            f"the fixed work took {machine:.1f} ms"
        )
    ok = (
        result["server_alive"] and not result["errors"] and result["rss_growth_after_warmup"] < 0.05
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
