"""A WriteVersion stream (or a Flight DoPut) taken in as it arrives (spec/data.md §4.5): one
thread parses the Arrow IPC bytes batch by batch, checks each batch (DAT-023, DAT-024),
writes it to the new segment and hands its rows to the content digest, whose leaves hash on
other cores meanwhile. When the last chunk arrives, little is left to do; memory holds a
bounded window of the stream, whatever its size.

The rows are checked and digested against the head the dataset had when the stream began.
The commit (version_writes.py) uses that work if the head is still the same, and otherwise
commits the written rows again against the new head."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import queue
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton_server.data import arrow_types
from lepton_server.data.metadata_store import VersionRow
from lepton_server.data.table_digest import TableDigest
from lepton_server.data.version_storage import SegmentWriter, VersionStorage
from lepton_server.runtime.errors import invalid_argument

# Stream bytes received but not yet parsed; beyond this, the receiver waits (and gRPC flow
# control slows the client), so a stream larger than memory passes through.
WINDOW_BYTES = 64 * 1024 * 1024
# Rows gathered before they go to the segment: small client batches make few file batches.
SEGMENT_BATCH_ROWS = 64 * 1024
_END = b""  # the stream's end in the chunk queue (a chunk is never empty there)


@dataclass
class Ingested:
    """What a complete stream left: the rows' schema, their unpublished segment (None when
    there are no rows), the digest of the version they make, and the SHA-256 of the raw
    bytes. For APPEND, schema, rows and digest hold on `parent` only, the head when the
    stream began."""

    append: bool
    parent: VersionRow | None
    schema: pa.Schema
    writer: SegmentWriter | None
    rows: int  # of the version: the head's rows (for APPEND) and the new ones
    digest: str
    raw_sha256: str


class VersionIngest:
    """One stream's bytes in (write, from any thread but the parsing one), an Ingested out
    (finish), or nothing left behind (close before finish, or after a failed commit)."""

    def __init__(
        self,
        storage: VersionStorage,
        dataset_uid: str,
        head: VersionRow | None,
        append: bool,
        hashed: bool,
    ) -> None:
        self._storage = storage
        self._dataset_uid = dataset_uid
        self._append = append
        self._parent = head if append else None
        self._raw = hashlib.sha256() if hashed else None
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._room = threading.Condition()
        self._queued = 0
        self._aborted = False
        self._writer: SegmentWriter | None = None
        self.error: BaseException | None = None
        # Resolved, on the loop that started the ingest, once the parse has failed.
        self._loop = asyncio.get_running_loop()
        self._failed: asyncio.Future[None] = self._loop.create_future()
        self._result: Ingested | None = None
        self._thread = threading.Thread(target=self._run, name="lepton-ingest", daemon=True)
        self._thread.start()

    # --- the receiving side -------------------------------------------------------------------

    def write(self, chunk: bytes) -> None:
        """The next bytes of the stream; waits while the window is full. Raises the parse's
        error as soon as there is one: the rest of the stream need not be read."""
        if self.error is not None:
            raise self.error
        if not chunk:
            return
        with self._room:
            while self._queued >= WINDOW_BYTES and self.error is None and not self._aborted:
                self._room.wait()
            if self.error is not None:
                raise self.error
            self._queued += len(chunk)
        self._chunks.put(chunk)

    async def take(self, chunks: AsyncIterator[bytes]) -> None:
        """Write every chunk of `chunks` from the event loop; raise the parse's error as soon
        as there is one, even while the client sends nothing more (DAT-140)."""
        receiving = asyncio.ensure_future(self._receive(chunks))
        try:
            await asyncio.wait({receiving, self._failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not receiving.done():
                receiving.cancel()
        if self.error is not None:
            if receiving.done() and not receiving.cancelled():
                receiving.exception()  # seen: the parse's error is the answer
            raise self.error
        receiving.result()

    async def _receive(self, chunks: AsyncIterator[bytes]) -> None:
        async for chunk in chunks:
            if self._queued < WINDOW_BYTES or self.error is not None:
                self.write(chunk)
            else:  # wait for room on another thread
                await asyncio.to_thread(self.write, chunk)

    def finish(self) -> Ingested:
        """The stream is complete: wait for the parse; its result, or its error."""
        self._chunks.put(_END)
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self._result is not None
        return self._result

    def close(self) -> None:
        """Stop, and remove the segment unless a commit published it (see `published`)."""
        self._aborted = True
        self._chunks.put(None)
        with self._room:
            self._room.notify_all()
        self._thread.join()
        if self._writer is not None:
            self._writer.discard()

    def published(self) -> None:
        """The segment now belongs to a version: close() must leave it."""
        self._writer = None

    # --- the parsing thread -------------------------------------------------------------------

    def _next_chunk(self) -> bytes:
        chunk = self._chunks.get()
        if chunk is None:
            raise _Aborted
        with self._room:
            self._queued -= len(chunk)
            self._room.notify_all()
        if self._raw is not None:
            self._raw.update(chunk)
        return chunk

    def _run(self) -> None:
        source = _ChunkSource(self._next_chunk)
        try:
            self._result = self._parse(source)
        except _Aborted:
            pass
        except Exception as exc:  # handed to the receiving side, which may wait for room
            with self._room:
                self.error = exc
                self._room.notify_all()
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                self._loop.call_soon_threadsafe(self._resolve_failed)

    def _resolve_failed(self) -> None:
        if not self._failed.done():
            self._failed.set_result(None)

    def _parse(self, source: _ChunkSource) -> Ingested:
        try:
            reader = pa.ipc.open_stream(pa.PythonFile(source, mode="r"))
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _bad_data(f"not a valid Arrow IPC stream: {exc}") from None
        check_storable(
            reader.schema,
            "arrow_data",
            extension_note=", which is not one of the supported types of spec/data.md §4.1",
        )
        written = arrow_types.decode_dictionaries(reader.schema.empty_table()).schema
        head = self._parent
        if head is not None:
            parent = resources.DatasetVersion.FromString(head.message)
            schema = merged_schema(parent, written)
        else:
            schema = written
        with TableDigest() as digest:
            if head is not None:  # the version's digest covers the head's rows too
                digest.add(self._storage.read(self._dataset_uid, head.segments, schema))
            gathered: list[pa.Table] = []
            gathered_rows = 0
            while (rows := _next_rows(reader, schema)) is not None:
                digest.add(rows)
                gathered.append(rows)
                gathered_rows += rows.num_rows
                if gathered_rows >= SEGMENT_BATCH_ROWS:
                    self._to_segment(gathered, schema)
                    gathered, gathered_rows = [], 0
            if source.read(1):
                extra = 1 + sum(len(chunk) for chunk in iter(lambda: source.read(1 << 30), b""))
                raise _bad_data(f"{extra} bytes after the end of the stream")
            if gathered_rows:
                self._to_segment(gathered, schema)
            if self._writer is not None:
                self._writer.close()
            return Ingested(
                self._append,
                self._parent,
                schema,
                self._writer,
                digest.rows,
                digest.hexdigest(schema),
                self._raw.hexdigest() if self._raw is not None else "",
            )

    def _to_segment(self, gathered: list[pa.Table], schema: pa.Schema) -> None:
        if self._writer is None:
            self._writer = SegmentWriter(self._storage, self._dataset_uid, schema)
        rows = pa.concat_tables(gathered)
        self._writer.write(rows.combine_chunks() if len(gathered) > 1 else rows)


class _Aborted(Exception):
    """The receiver closed the ingest before the stream's end."""


class _ChunkSource:
    """The queued chunks as the readable file pyarrow's stream reader pulls from."""

    closed = False

    def __init__(self, next_chunk: Callable[[], bytes]) -> None:
        self._next_chunk = next_chunk
        self._buffer = memoryview(b"")
        self._ended = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size if size >= 0 else 1 << 62
        while wanted and not self._ended:
            if not self._buffer:
                chunk = self._next_chunk()
                if chunk is _END or not chunk:
                    self._ended = True
                    break
                self._buffer = memoryview(chunk)
            part = self._buffer[:wanted]
            self._buffer = self._buffer[len(part) :]
            parts.append(part)
            wanted -= len(part)
        if len(parts) == 1 and len(parts[0]) == len(parts[0].obj):
            return parts[0].obj  # a whole chunk: no copy
        return b"".join(parts)


def _next_rows(reader: pa.ipc.RecordBatchStreamReader, schema: pa.Schema) -> pa.Table | None:
    """The next batch, checked (DAT-023), dictionary-decoded (DAT-025) and in `schema`; None
    at the end of the stream."""
    try:
        batch = reader.read_next_batch()
    except StopIteration:
        return None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _bad_data(f"not a valid Arrow IPC stream: {exc}") from None
    try:
        # Reading checks the messages, not that the batch's buffers fit the schema.
        batch.validate(full=True)
    except pa.ArrowException as exc:
        raise _bad_data(f"a record batch does not match the schema: {exc}") from None
    rows = arrow_types.decode_dictionaries(pa.Table.from_batches([batch]))
    return rows if rows.schema == schema else rows.cast(schema)


def _bad_data(description: str) -> Exception:
    return invalid_argument("INVALID_ARROW_DATA", "arrow_data", description)


def check_storable(schema: pa.Schema, field: str, *, extension_note: str = "") -> None:
    """DAT-024: a schema a version may have, its errors on `field`: UNSUPPORTED_ARROW_TYPE for
    a type outside §4.1 or an Arrow extension type (its message ends with `extension_note`),
    INVALID_ARROW_DATA for empty or repeated column names. A write's data and an import's
    arrow_schema are checked here alike."""
    try:
        arrow_types.check_supported(schema)
    except arrow_types.UnsupportedArrowType as exc:
        raise invalid_argument(
            "UNSUPPORTED_ARROW_TYPE", field, str(exc), column=exc.column
        ) from None
    except arrow_types.InvalidColumnNames as exc:
        raise invalid_argument("INVALID_ARROW_DATA", field, str(exc)) from None
    extension = next((f.name for f in schema if holds_extension(f)), None)
    if extension is not None:
        raise invalid_argument(
            "UNSUPPORTED_ARROW_TYPE",
            field,
            f"column {extension!r} holds an Arrow extension type{extension_note}",
            column=extension,
        )


def holds_extension(field: pa.Field) -> bool:
    """Whether `field` or a child is an extension type pyarrow does not know: it reads as its
    storage type, marked by the ARROW:extension:name field metadata (DAT-024)."""
    if field.metadata and b"ARROW:extension:name" in field.metadata:
        return True
    return any(holds_extension(field.type.field(i)) for i in range(field.type.num_fields))


def merged_schema(parent: resources.DatasetVersion, written: pa.Schema) -> pa.Schema:
    """§4.4: same names, order and canonical types; nullable if either side is; the
    parent's metadata kept. Otherwise SCHEMA_MISMATCH."""
    schema = pa.ipc.read_schema(pa.py_buffer(parent.schema.arrow_schema))
    if len(schema) != len(written):
        raise invalid_argument(
            "SCHEMA_MISMATCH",
            "arrow_data",
            f"the parent has {len(schema)} columns, the data {len(written)}",
        )
    fields = []
    for theirs, ours in zip(schema, written, strict=True):
        same_type = arrow_types.canonical_type(theirs.type) == arrow_types.canonical_type(ours.type)
        if theirs.name != ours.name or not same_type:
            raise invalid_argument(
                "SCHEMA_MISMATCH",
                "arrow_data",
                f"column {ours.name!r}: {arrow_types.canonical_type(ours.type)}, the parent "
                f"has {theirs.name!r}: {arrow_types.canonical_type(theirs.type)}",
            )
        fields.append(theirs.with_nullable(theirs.nullable or ours.nullable))
    return pa.schema(fields, metadata=schema.metadata)
