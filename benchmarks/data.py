"""Side-by-side data benchmark: the reference server's gRPC write and read of a version
against a plain pyarrow.flight server's DoPut and DoGet of the same table, and its CSV import
job against pyarrow.csv.read_csv of the same file, in one process tree.

    make bench-data        # or: python benchmarks/data.py --rows 20000000

Each figure is the median of alternating rounds; the result is the ratio. Goals (issue 14):
write at least 0.8x DoPut, read at least 1.0x DoGet, import at least 0.8x read_csv. A last
line, not a goal, measures the write's floor: the same stream into a grpc.aio server that
only receives it (benchmarks/drain_server.py), against DoPut.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from pyarrow import flight
from server_process import PeakMemory, Server, lepton_serve, process

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton.data.v1 import file_format_pb2 as ff
from lepton.data.v1 import import_job_pb2

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 2 * 1024 * 1024
LIMIT = 64 * 1024 * 1024
MIB = 1024 * 1024


def make_table(rows: int) -> pa.Table:
    """Several column types: integers, floats, strings, timestamps and booleans."""
    generator = np.random.default_rng(7)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "value": pa.array(generator.normal(size=rows)),
            "category": pa.array(
                np.array(["alpha", "beta", "gamma", "delta"])[generator.integers(0, 4, size=rows)]
            ),
            "seen": pa.array(
                generator.integers(1_600_000_000, 1_700_000_000, size=rows).astype("datetime64[s]")
            ),
            "flag": pa.array(generator.integers(0, 2, size=rows).astype(bool)),
        }
    )


def ipc_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=64 * 1024)
    return sink.getvalue().to_pybytes()


def grpc_write(stub: pb_grpc.DatasetServiceStub, dataset: str, data: bytes) -> None:
    def messages():
        yield pb.WriteVersionRequest(
            header=pb.WriteVersionHeader(
                parent=f"datasets/{dataset}", mode=resources.WRITE_MODE_OVERWRITE
            )
        )
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            yield pb.WriteVersionRequest(arrow_data=bytes(view[start : start + CHUNK]))

    stub.WriteVersion(messages(), timeout=600)


def grpc_read(stub: pb_grpc.DatasetServiceStub, dataset: str) -> int:
    schema, rows = None, 0
    for response in stub.ReadVersion(
        pb.ReadVersionRequest(name=f"datasets/{dataset}/tags/latest"), timeout=600
    ):
        if response.HasField("header"):
            schema = pa.ipc.read_schema(pa.py_buffer(response.header.arrow_schema))
        batch = pa.ipc.read_record_batch(pa.py_buffer(response.arrow_record_batch), schema)
        rows += batch.num_rows
    return rows


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def report(
    rows_count: int,
    rounds: int,
    megabytes: float,
    *,
    results: dict[str, list[float]],
    peaks: dict[str, list[int]],
    idle: dict[str, int | None],
) -> str:
    """The ratios, then each server's resident memory (the Flight server keeps the table)."""
    median = {k: statistics.median(v) for k, v in results.items()}
    lines = [f"{rows_count:,} rows, {megabytes:.0f} MiB as Arrow IPC; medians of {rounds} rounds"]
    rows = [
        ("write (WriteVersion vs DoPut)", median["write_ours"], median["write_flight"]),
        ("read (ReadVersion vs DoGet)", median["read_ours"], median["read_flight"]),
        ("CSV import (job vs read_csv)", median["import_ours"], median["read_csv"]),
        # Not a goal: how much of DoPut's speed receiving alone reaches through Python gRPC.
        ("write floor (drain vs DoPut)", median["write_drain"], median["write_flight"]),
    ]
    for name, ours_s, base_s in rows:
        lines.append(
            f"{name:<32} lepton {ours_s:7.2f} s ({megabytes / ours_s:7.0f} MiB/s)   "
            f"baseline {base_s:7.2f} s ({megabytes / base_s:7.0f} MiB/s)   "
            f"ratio {base_s / ours_s:5.2f}x"
        )
    # The first round's: later rounds start from what earlier imports and reads left in the
    # allocator's pools and the page cache, which says little about the call being measured.
    peak = {k: v[0] / MIB for k, v in peaks.items() if v and v[0]}
    if idle["lepton"] and {"write_ours", "read_ours", "write_flight", "read_flight"} <= set(peak):
        lines.append(
            f"server RSS (MiB, 1st round)      lepton idle {idle['lepton'] / MIB:.0f}, "
            f"writing {peak['write_ours']:.0f}, reading {peak['read_ours']:.0f}   "
            f"flight idle {(idle['flight'] or 0) / MIB:.0f}, "
            f"writing {peak['write_flight']:.0f}, reading {peak['read_flight']:.0f}"
        )
    return "\n".join(lines)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--data-plane", choices=("compiled", "python"), default="compiled", help="`lepton serve`"
    )
    return parser.parse_args()


def main() -> int:
    options = _options()

    table = make_table(options.rows)
    data = ipc_bytes(table)
    megabytes = len(data) / (1024 * 1024)
    results: dict[str, list[float]] = {
        k: []
        for k in (
            "write_ours",
            "write_flight",
            "write_drain",
            "read_ours",
            "read_flight",
            "import_ours",
            "read_csv",
        )
    }
    peaks: dict[str, list[int]] = {k: [] for k in results}

    def record(name: str, server: Server, action: Callable[[], object]) -> None:
        """Time `action` into results[name], and the server's peak memory meanwhile."""
        with PeakMemory(server) as memory:
            results[name].append(timed(action))
        peaks[name].append(memory.peak)

    with tempfile.TemporaryDirectory(prefix="lepton-bench-data-") as tmp:
        work = Path(tmp)
        files = work / "data" / "files"
        files.mkdir(parents=True)
        csv_path = files / "table.csv"
        pa_csv.write_csv(table, csv_path)
        serve = lepton_serve(
            work / "data",
            *("--max-message-bytes", str(LIMIT), "--data-plane", options.data_plane),
        )
        baseline = [sys.executable, str(ROOT / "benchmarks" / "flight_server.py")]
        floor = [sys.executable, str(ROOT / "benchmarks" / "drain_server.py")]
        with process(serve) as ours, process(baseline) as plain, process(floor) as drain:
            options_ = [
                ("grpc.max_receive_message_length", LIMIT),
                ("grpc.max_send_message_length", LIMIT),
            ]
            stub = pb_grpc.DatasetServiceStub(grpc.insecure_channel(ours.address, options_))
            drain_stub = pb_grpc.DatasetServiceStub(grpc.insecure_channel(drain.address, options_))
            client = flight.connect(plain.address)
            stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="bench"))
            stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="imported"))
            descriptor = flight.FlightDescriptor.for_path("bench")

            def flight_put() -> None:
                writer, _ = client.do_put(descriptor, table.schema)
                writer.write_table(table)
                writer.close()

            def import_csv() -> None:
                job = stub.CreateImportJob(
                    pb.CreateImportJobRequest(
                        parent="datasets/imported",
                        import_job=import_job_pb2.ImportJob(
                            source_uris=[f"file://{csv_path}"],
                            format=ff.FormatSpec(format=ff.FILE_FORMAT_CSV),
                            mode=resources.WRITE_MODE_OVERWRITE,
                        ),
                    )
                ).import_job
                for message in stub.WatchImportJob(pb.WatchImportJobRequest(name=job.name)):
                    last = message.import_job
                if last.status.error.reason:
                    raise RuntimeError(last.status.error.message)

            idle = {"lepton": ours.rss_bytes(), "flight": plain.rss_bytes()}
            for _ in range(options.rounds):
                record("write_flight", plain, flight_put)
                record("write_ours", ours, lambda: grpc_write(stub, "bench", data))
                results["write_drain"].append(timed(lambda: grpc_write(drain_stub, "bench", data)))
                stub.SetTag(
                    pb.SetTagRequest(
                        name="datasets/bench/tags/latest",
                        version=stub.GetDataset(
                            pb.GetDatasetRequest(name="datasets/bench")
                        ).dataset.head_version,
                    )
                )
                record(
                    "read_flight", plain, lambda: client.do_get(flight.Ticket(b"bench")).read_all()
                )
                record("read_ours", ours, lambda: grpc_read(stub, "bench"))
                results["read_csv"].append(timed(lambda: pa_csv.read_csv(csv_path)))
                results["import_ours"].append(timed(import_csv))

    print(report(options.rows, options.rounds, megabytes, results=results, peaks=peaks, idle=idle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
