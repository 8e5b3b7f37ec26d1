"""Tables on the wire, read side (spec/data.md §4.6): a version read back as encapsulated
record batches. The write side is version_ingest.py."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from lepton_server.runtime.wire_format import length_delimited, varint_field

# Field numbers of ReadVersionResponse (lepton/data/v1/dataset_service.proto).
READ_HEADER, READ_BATCH_INDEX, READ_ROW_OFFSET, READ_ARROW_RECORD_BATCH = 1, 2, 3, 4
# A server-chosen batch keeps each message below 4 MiB with the envelope (DAT-059).
TARGET_BATCH_BYTES = 3 * 1024 * 1024


def read_response(header: bytes, batch: Batch) -> bytes:
    """A serialized ReadVersionResponse: `header` (a serialized ReadVersionHeader, or empty
    after the first response), the batch's position, then its bytes, copied once."""
    parts = [length_delimited(READ_HEADER, len(header)), header] if header else []
    parts += [
        varint_field(READ_BATCH_INDEX, batch.index),
        varint_field(READ_ROW_OFFSET, batch.row_offset),
        length_delimited(READ_ARROW_RECORD_BATCH, batch.data.size),
        batch.data,
    ]
    return b"".join(parts)


@dataclass(frozen=True)
class Batch:
    """One ReadVersion response's worth of rows."""

    index: int
    row_offset: int
    data: pa.Buffer  # an encapsulated RecordBatch message


def choose_batch_rows(table: pa.Table) -> int:
    """B for a server-chosen batch size: a function of the (projected) rows only (DAT-058)."""
    if table.num_rows == 0:
        return 1
    per_row = max(1, math.ceil(table.nbytes / table.num_rows))
    return max(1, TARGET_BATCH_BYTES // per_row)


def batches(table: pa.Table, offset: int, batch_rows: int, start: int) -> Iterator[Batch]:
    """Batches `start`, `start + 1`, ... of `table`, each `batch_rows` rows (DAT-053); an
    empty table yields one zero-row batch with index 0 (DAT-056)."""
    if table.num_rows == 0:
        empty = pa.RecordBatch.from_pylist([], schema=table.schema)
        yield Batch(0, offset, empty.serialize())
        return
    count = math.ceil(table.num_rows / batch_rows)
    for index in range(start, count):
        part = table.slice(index * batch_rows, batch_rows).combine_chunks()
        record_batch = (
            part.to_batches()[0]
            if part.num_rows
            else pa.RecordBatch.from_pylist([], schema=table.schema)
        )
        yield Batch(index, offset + index * batch_rows, record_batch.serialize())
