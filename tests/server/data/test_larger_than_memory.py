"""A table larger than the server's memory streams through it: a server the kernel caps at
1 GiB takes a 2 GiB WriteVersion and reads it back, and is never killed for memory."""

from __future__ import annotations

import math
from collections.abc import Iterator

import grpc
import numpy as np
import pyarrow as pa
import pytest
from support.memory_cap import memory_cap
from support.servers import SERVE

from lepton.data.v1 import dataset_pb2
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
