"""Tables on the wire (spec/data.md §4): a table as the chunks of one Arrow IPC stream for
WriteVersion, and the record batches of a ReadVersion stream back as Arrow data."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

# Each WriteVersion message carries at most this many bytes of the IPC stream: inside the
# 3 MiB the contract recommends, so every server and proxy with gRPC's 4 MiB default accepts
# it, and large enough that per-message overhead does not matter.
CHUNK_BYTES = 2 * 1024 * 1024
# Record batches are cut to about this size before they are serialized.
BATCH_BYTES = 1024 * 1024


class _ChunkSink(io.RawIOBase):
    """A write-only file that hands out what was written since the last `take`."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def batches_of(table: pa.Table, batch_bytes: int = BATCH_BYTES) -> list[pa.RecordBatch]:
    """`table` cut into record batches of about `batch_bytes` each."""
    if table.num_rows == 0:
        return []
    row_bytes = max(1, table.nbytes // table.num_rows)
    return table.to_batches(max_chunksize=max(1, batch_bytes // row_bytes))


def ipc_chunks(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    chunk_bytes: int = CHUNK_BYTES,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """One Arrow IPC stream (schema, `batches`, end-of-stream marker) in slices of at most
    `chunk_bytes`. `on_rows(n)` is called as each batch of n rows has been serialized."""
    sink = _ChunkSink()
    pending = bytearray()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            pending += sink.take()
            while len(pending) >= chunk_bytes:
                yield bytes(pending[:chunk_bytes])
                del pending[:chunk_bytes]
            if on_rows is not None:
                on_rows(batch.num_rows)
    pending += sink.take()
    while pending:
        yield bytes(pending[:chunk_bytes])
        del pending[:chunk_bytes]


def read_schema(serialized: bytes) -> pa.Schema:
    """An encapsulated Arrow IPC Schema message."""
    return pa.ipc.read_schema(pa.py_buffer(serialized))


def read_batch(serialized: bytes, schema: pa.Schema) -> pa.RecordBatch:
    """An encapsulated Arrow IPC RecordBatch message of `schema`."""
    return pa.ipc.read_record_batch(pa.py_buffer(serialized), schema)
