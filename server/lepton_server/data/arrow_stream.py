"""Tables on the wire (spec/data.md §4.5, §4.6): a WriteVersion stream's Arrow IPC bytes
spooled to disk and parsed, and a version read back as encapsulated record batches."""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from lepton_server.runtime.errors import invalid_argument
from lepton_server.runtime.wire_format import length_delimited, varint_field

# Field numbers of ReadVersionResponse (lepton/data/v1/dataset_service.proto).
READ_HEADER, READ_BATCH_INDEX, READ_ROW_OFFSET, READ_ARROW_RECORD_BATCH = 1, 2, 3, 4
# A server-chosen batch keeps each message below 4 MiB with the envelope (DAT-059).
TARGET_BATCH_BYTES = 3 * 1024 * 1024


class WriteSpool:
    """The `arrow_data` of one WriteVersion stream: in memory while small, on disk beyond
    `memory_limit`, hashed with SHA-256 only when the header asks to check it (DAT-032)."""

    def __init__(
        self, directory: Path, *, hashed: bool, memory_limit: int = 256 * 1024 * 1024
    ) -> None:
        self._directory = directory
        self._memory_limit = memory_limit
        self._chunks: list[bytes] = []
        self._file: BinaryIO | None = None
        self.path: Path | None = None
        self._sha256 = hashlib.sha256() if hashed else None
        self.size = 0

    def write(self, data: bytes) -> None:
        if self._sha256 is not None:
            self._sha256.update(data)
        self.size += len(data)
        if self._file is None and self.size <= self._memory_limit:
            self._chunks.append(data)
            return
        if self._file is None:
            self._directory.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self._directory, suffix=".ipc")
            self.path, self._file = Path(name), os.fdopen(handle, "wb")
            for chunk in self._chunks:
                self._file.write(chunk)
            self._chunks = []
        self._file.write(data)

    def hexdigest(self) -> str:
        if self._sha256 is None:
            raise RuntimeError("the spool was not asked to hash its bytes")
        return self._sha256.hexdigest()

    def table(self) -> pa.Table:
        """The spooled bytes as one Arrow IPC stream, or INVALID_ARROW_DATA (DAT-023)."""
        if self._file is not None:
            self._file.flush()
            source = pa.memory_map(str(self.path))
        else:
            source = pa.BufferReader(b"".join(self._chunks))
        try:
            table = pa.ipc.open_stream(source).read_all()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _bad_data(f"not a valid Arrow IPC stream: {exc}") from None
        if source.tell() != source.size():
            raise _bad_data(f"{source.size() - source.tell()} bytes after the end of the stream")
        return table

    def close(self) -> None:
        self._chunks = []
        if self._file is not None:
            self._file.close()
            self.path.unlink(missing_ok=True)


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


def _bad_data(description: str) -> Exception:
    return invalid_argument("INVALID_ARROW_DATA", "arrow_data", description)


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
