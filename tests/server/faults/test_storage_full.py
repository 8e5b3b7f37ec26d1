"""A full disk (GEN-009): the server's data directory on a 48 MiB tmpfs, mounted in a mount
namespace of the server's own (`unshare`), written to until it is full. The write that does
not fit fails RESOURCE_EXHAUSTED [STORAGE_FULL]; every version committed before reads back
whole; once room is made the same write succeeds."""

from __future__ import annotations

import shutil
import subprocess
import sys

import grpc
import numpy as np
import pyarrow as pa
import pytest
from support.servers import start_server
from support.status_details import error_info

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton_server.data.table_digest import content_digest

TMPFS_MIB = 48
CHUNK = 1 << 20


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run([unshare, "-rm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _unshare_works(), reason="needs user and mount namespaces (unshare -rm) for a tmpfs"
)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=100_000)
    return sink.getvalue().to_pybytes()


def _write(stub: pb_grpc.DatasetServiceStub, dataset: str, data: bytes) -> pb.WriteVersionResponse:
    def messages():
        yield pb.WriteVersionRequest(
            header=pb.WriteVersionHeader(parent=dataset, mode=resources.WRITE_MODE_OVERWRITE)
        )
        for start in range(0, len(data), CHUNK):
            yield pb.WriteVersionRequest(arrow_data=data[start : start + CHUNK])

    return stub.WriteVersion(messages(), timeout=60)


def _read(stub: pb_grpc.DatasetServiceStub, name: str) -> pa.Table:
    responses = list(stub.ReadVersion(pb.ReadVersionRequest(name=name), timeout=60))
    schema = pa.ipc.read_schema(pa.py_buffer(responses[0].header.arrow_schema))
    batches = [
        pa.ipc.read_record_batch(pa.py_buffer(r.arrow_record_batch), schema) for r in responses
    ]
    return pa.Table.from_batches(batches, schema=schema)


@pytest.mark.parametrize("plane", ["compiled", "python"])
def test_a_write_to_a_full_disk_fails_cleanly_and_succeeds_once_there_is_room(tmp_path, plane):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    mount = f'mount -t tmpfs -o size={TMPFS_MIB}m tmpfs "{data_dir}" && exec "$0" "$@"'
    launcher = ["unshare", "-rm", "sh", "-c", mount, sys.executable, "-m", "lepton_server.cli"]
    server = start_server(
        ["--services", "data", "--data-plane", plane], data_dir, launcher=launcher
    )
    try:
        channel = grpc.insecure_channel(server.address)
        stub = pb_grpc.DatasetServiceStub(channel)
        rng = np.random.default_rng(7)
        # About 8 MiB each, incompressible: a handful fill the disk.
        tables = [pa.table({"x": rng.random(1_000_000)}) for _ in range(2)]
        payloads = [_ipc(t) for t in tables]
        committed: list[tuple[str, pa.Table]] = []
        refused = None
        for index in range(TMPFS_MIB // 8 + 2):
            dataset = f"datasets/full-{index}"
            try:
                stub.CreateDataset(pb.CreateDatasetRequest(dataset_id=f"full-{index}"), timeout=30)
                written = _write(stub, dataset, payloads[index % 2])
            except grpc.RpcError as error:
                refused = (dataset, error)
                break
            committed.append((written.version.name, tables[index % 2]))
        assert refused is not None, "the disk never filled"
        dataset, error = refused
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
        assert error_info(error).reason == "STORAGE_FULL"
        assert committed, "nothing fit before the disk was full"
        # Nothing of the refused write was kept (nor the dataset, when its creation was what
        # did not fit).
        try:
            versions = stub.ListVersions(pb.ListVersionsRequest(parent=dataset), timeout=30)
        except grpc.RpcError as missing:
            assert missing.code() == grpc.StatusCode.NOT_FOUND
            created = False
        else:
            assert not versions.versions
            created = True
        # Everything committed before reads back whole.
        for name, table in committed:
            read = _read(stub, name)
            assert read.equals(table)
            version = stub.GetVersion(pb.GetVersionRequest(name=name), timeout=30).version
            assert content_digest(read) == version.content_digest.hex
        # Room made, the same write succeeds.
        for name, _ in committed[:2]:
            parent = name.split("/versions/")[0]
            stub.DeleteDataset(pb.DeleteDatasetRequest(name=parent, force=True), timeout=30)
        if not created:
            stub.CreateDataset(pb.CreateDatasetRequest(dataset_id=dataset.split("/")[1]))
        written = _write(stub, dataset, payloads[len(committed) % 2])
        assert _read(stub, written.version.name).equals(tables[len(committed) % 2])
        channel.close()
        assert server.process.poll() is None, "".join(server.stderr)
    finally:
        server.stop()
