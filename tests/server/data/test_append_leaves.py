"""An APPEND reuses the content digest's leaves of its parent (spec/data.md §4.3): they are kept
beside the segment that ends the parent, so the append hashes the new rows and at most one
leaf of the parent's, and its digest is the one the whole table has. The kept leaves are a
cache: missing or damaged, the parent's rows are hashed again."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pyarrow as pa
import pytest
from pyarrow import fs
from support.servers import start_server

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton_server.data import table_digest
from lepton_server.data.metadata_store import VersionRow
from lepton_server.data.table_digest import LEAF_ROWS, TableDigest, content_digest
from lepton_server.data.version_builder import VersionBuilder
from lepton_server.data.version_storage import LEAVES_SUFFIX, VersionStorage
from lepton_server.data.version_writes import schema_message


def _table(start: int, rows: int) -> pa.Table:
    ids = np.arange(start, start + rows, dtype=np.int64)
    labels = pa.array([f"r{i % 7}" for i in ids.tolist()], pa.string())
    return pa.table({"id": ids, "label": labels})


@pytest.mark.parametrize("first", [0, 1, LEAF_ROWS - 1, LEAF_ROWS, 2 * LEAF_ROWS + 5])
def test_resuming_from_full_leaves_gives_the_whole_tables_digest(first):
    whole = _table(0, 3 * LEAF_ROWS + 17)
    with TableDigest() as before:
        before.add(whole.slice(0, first))
        before.hexdigest(whole.schema)
        leaves = before.full_leaves()
    assert [len(column) for column in leaves] == [first // LEAF_ROWS] * 2
    with TableDigest() as resumed:
        resumed.resume(leaves)
        resumed.add(whole.slice(len(leaves[0]) * LEAF_ROWS))
        assert resumed.hexdigest(whole.schema) == content_digest(whole)


def _storage(tmp_path) -> VersionStorage:
    return VersionStorage(fs.LocalFileSystem(), str(tmp_path))


def _committed(
    storage: VersionStorage, head: VersionRow | None, rows: pa.Table
) -> tuple[VersionRow, str]:
    """A version of `rows` appended to `head`, as the commit stores it, and its digest."""
    builder = VersionBuilder(storage, "uid", head, True, rows.schema)
    builder.add(rows)
    built = builder.finish()
    segments = [*(head.segments if head else []), built.writer.commit()]
    storage.write_leaves("uid", segments[-1], built.leaves)
    message = resources.DatasetVersion(schema=schema_message(built.schema), row_count=built.rows)
    row = VersionRow(
        "uid", f"v{len(segments)}", len(segments), 0, message.SerializeToString(), segments
    )
    return row, built.digest


def _digest_of_rows(storage: VersionStorage, version: VersionRow) -> str:
    schema = pa.ipc.read_schema(
        pa.py_buffer(resources.DatasetVersion.FromString(version.message).schema.arrow_schema)
    )
    return content_digest(storage.read("uid", version.segments, schema))


def _leaves_hashed(monkeypatch) -> list[int]:
    """Counts every leaf the digests hash from here on."""
    hashed = [0]
    original = table_digest.leaf_digest

    def counted(column, start):
        hashed[0] += 1
        return original(column, start)

    monkeypatch.setattr(table_digest, "leaf_digest", counted)
    return hashed


def test_an_append_hashes_its_new_rows_and_the_parents_last_partial_leaf(tmp_path, monkeypatch):
    storage = _storage(tmp_path)
    parent, _ = _committed(storage, None, _table(0, 5 * LEAF_ROWS + 100))
    hashed = _leaves_hashed(monkeypatch)
    version, digest = _committed(storage, parent, _table(5 * LEAF_ROWS + 100, 10))
    assert hashed[0] == 2  # one leaf per column: the parent's last 100 rows and the new 10
    assert digest == _digest_of_rows(storage, version)


def test_an_append_does_not_read_the_segments_its_parents_leaves_cover(tmp_path):
    """On an object store an APPEND would otherwise fetch every segment of its parent."""
    storage = _storage(tmp_path)
    parts = [_table(0, LEAF_ROWS + 10), _table(LEAF_ROWS + 10, LEAF_ROWS), _table(0, 10)]
    first, _ = _committed(storage, None, parts[0])
    second, _ = _committed(storage, first, parts[1])
    Path(storage.segment_path("uid", first.segments[0])).unlink()  # rows 0 to 65,545
    _, digest = _committed(storage, second, parts[2])  # needs rows 131,072 on only
    assert digest == content_digest(pa.concat_tables(parts))


def test_missing_or_damaged_leaves_are_hashed_again(tmp_path, monkeypatch):
    storage = _storage(tmp_path)
    parent, _ = _committed(storage, None, _table(0, 3 * LEAF_ROWS))
    kept = tmp_path / "datasets" / "uid" / "segments" / f"{parent.segments[-1]}{LEAVES_SUFFIX}"
    data = bytearray(kept.read_bytes())
    data[40] ^= 1  # a flipped bit in the first digest: the file's own SHA-256 no longer holds
    kept.write_bytes(bytes(data))
    hashed = _leaves_hashed(monkeypatch)
    version, digest = _committed(storage, parent, _table(3 * LEAF_ROWS, 1))
    assert hashed[0] == 2 * 4  # the parent's three leaves and the new one, of two columns
    assert digest == _digest_of_rows(storage, version)
    kept.unlink()
    hashed[0] = 0
    version, digest = _committed(storage, parent, _table(3 * LEAF_ROWS, 1))
    assert hashed[0] == 2 * 4
    assert digest == _digest_of_rows(storage, version)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _append(stub, table: pa.Table) -> resources.DatasetVersion:
    header = pb.WriteVersionHeader(parent="datasets/grow", mode=resources.WRITE_MODE_APPEND)
    messages = [
        pb.WriteVersionRequest(header=header),
        pb.WriteVersionRequest(arrow_data=_ipc(table)),
    ]
    return stub.WriteVersion(iter(messages), timeout=60).version


def test_appends_across_a_restart_keep_the_digest_of_their_rows(tmp_path):
    """The kept leaves survive the start's garbage collection, and every append's digest
    is that of all its rows, whatever the leaf boundaries."""
    data_dir = tmp_path / "data"
    sizes = [LEAF_ROWS + 3, 0, LEAF_ROWS - 3, 1, 2 * LEAF_ROWS]
    written = []
    for restart, part in enumerate((sizes[:3], sizes[3:])):
        server = start_server([], data_dir)
        try:
            stub = pb_grpc.DatasetServiceStub(grpc.insecure_channel(server.address))
            if restart == 0:
                stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="grow"))
            for rows in part:
                table = _table(sum(t.num_rows for t in written), rows)
                written.append(table)
                version = _append(stub, table)
                assert version.row_count == sum(t.num_rows for t in written)
                assert version.content_digest.hex == content_digest(pa.concat_tables(written))
        finally:
            assert server.stop() == 0
    # One per append that added a segment, the first server's kept through the second's start.
    assert len(list(data_dir.rglob(f"*{LEAVES_SUFFIX}"))) == len([r for r in sizes if r])
