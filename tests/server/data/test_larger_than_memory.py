"""A table larger than the server's memory streams through it: a server the kernel caps at
1 GiB takes a 2 GiB WriteVersion and reads it back, and imports a 2 GiB CSV file, and is
never killed for memory."""

from __future__ import annotations

import math
from collections.abc import Iterator

import grpc
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from support.memory_cap import memory_cap
from support.servers import SERVE

from lepton.data.v1 import dataset_pb2, file_format_pb2, import_job_pb2
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc

GIB = 1 << 30
ROWS_PER_BATCH = 1 << 20  # 24 MiB of three 8-byte columns
CHUNK = 3 << 20  # arrow_data chunks that fit gRPC's default 4 MiB message limit
SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.float64()), ("c", pa.int64())])
BATCHES = math.ceil(2 * GIB / (ROWS_PER_BATCH * 24))
ROWS = BATCHES * ROWS_PER_BATCH


def _batch(index: int) -> pa.RecordBatch:
    a = np.arange(index * ROWS_PER_BATCH, (index + 1) * ROWS_PER_BATCH, dtype=np.int64)
    return pa.record_batch([a, a * 0.5, a ^ 0x5A5A5A5A], schema=SCHEMA)


def _requests(parent: str) -> Iterator[pb.WriteVersionRequest]:
    # Made as they are sent: the client never holds more than one batch either.
    header = pb.WriteVersionHeader(parent=parent, mode=dataset_pb2.WRITE_MODE_OVERWRITE)
    yield pb.WriteVersionRequest(header=header)
    yield pb.WriteVersionRequest(arrow_data=SCHEMA.serialize().to_pybytes())
    for index in range(BATCHES):
        data = _batch(index).serialize()
        for start in range(0, data.size, CHUNK):
            yield pb.WriteVersionRequest(arrow_data=data[start : start + CHUNK].to_pybytes())


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_2_gib_write_and_read_succeed_in_a_server_capped_at_1_gib(server_factory):
    with memory_cap(GIB, "lepton-memory") as cap:
        server = server_factory(launcher=cap.launcher(SERVE))
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.DatasetServiceStub(channel)
            created = stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="larger"))
            version = stub.WriteVersion(_requests(created.dataset.name), timeout=500).version
            assert version.row_count == ROWS
            assert version.size_bytes >= 2 * GIB

            rows = total = 0
            schema = None
            for response in stub.ReadVersion(pb.ReadVersionRequest(name=version.name), timeout=500):
                if response.HasField("header"):
                    schema = pa.ipc.read_schema(pa.py_buffer(response.header.arrow_schema))
                batch = pa.ipc.read_record_batch(pa.py_buffer(response.arrow_record_batch), schema)
                assert batch.column("a")[0].as_py() == response.row_offset
                rows += batch.num_rows
                total += int(np.sum(batch.column("a").to_numpy()))
        assert rows == ROWS
        assert total == ROWS * (ROWS - 1) // 2  # every row came back once, in order
        assert server.stop() == 0  # alive until now, and stops cleanly
        assert cap.oom_kills() == 0


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_2_gib_csv_import_succeeds_in_a_server_capped_at_1_gib(server_factory, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    source = files / "large.csv"
    with pa_csv.CSVWriter(str(source), SCHEMA) as writer:
        batches = 0
        while source.stat().st_size < 2 * GIB:
            writer.write_batch(_batch(batches))
            batches += 1
    rows = batches * ROWS_PER_BATCH
    with memory_cap(GIB, "lepton-memory") as cap:
        server = server_factory("--file-root", str(files), launcher=cap.launcher(SERVE))
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.DatasetServiceStub(channel)
            created = stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="imported"))
            job = import_job_pb2.ImportJob(
                source_uris=[source.as_uri()],
                format=file_format_pb2.FormatSpec(format=file_format_pb2.FILE_FORMAT_CSV),
                mode=dataset_pb2.WRITE_MODE_OVERWRITE,
            )
            request = pb.CreateImportJobRequest(parent=created.dataset.name, import_job=job)
            name = stub.CreateImportJob(request).import_job.name
            for update in stub.WatchImportJob(pb.WatchImportJobRequest(name=name), timeout=500):
                finished = update.import_job
            assert finished.status.error.message == ""
            assert finished.read_row_count == rows
            version = stub.GetVersion(pb.GetVersionRequest(name=finished.output_version)).version
            assert version.row_count == rows
            assert [(f.name, f.type) for f in version.schema.fields] == [
                ("a", "int64"),
                ("b", "double"),
                ("c", "int64"),
            ]
            last = pb.ReadVersionRequest(name=version.name, offset=rows - 1)
            batch = [r for r in stub.ReadVersion(last, timeout=60) if r.arrow_record_batch]
            schema = pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))
            tail = pa.ipc.read_record_batch(pa.py_buffer(batch[0].arrow_record_batch), schema)
            assert tail.to_pydict() == _batch(batches - 1).slice(ROWS_PER_BATCH - 1).to_pydict()
        assert server.stop() == 0
        assert cap.oom_kills() == 0
