"""A WriteVersion stream (or a Flight DoPut) taken in as it arrives (spec/data.md §4.5): one
thread parses the Arrow IPC bytes batch by batch, checks each batch (DAT-023, DAT-024) and
hands it to the new version's builder (version_builder.py), so when the last chunk arrives
little is left to do, and memory holds a bounded window of the stream, whatever its size."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import queue
import threading
from collections.abc import AsyncIterator, Callable

import pyarrow as pa

from lepton_server.data import arrow_types
from lepton_server.data.metadata_store import VersionRow
from lepton_server.data.version_builder import Ingested, VersionBuilder
from lepton_server.data.version_storage import VersionStorage
from lepton_server.runtime.errors import invalid_argument

# Stream bytes received but not yet parsed; beyond this, the receiver waits (and gRPC flow
# control slows the client), so a stream larger than memory passes through.
WINDOW_BYTES = 64 * 1024 * 1024
_END = b""  # the stream's end in the chunk queue (a chunk is never empty there)


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
        self._head = head
        self._append = append
        self._raw = hashlib.sha256() if hashed else None
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._room = threading.Condition()
        self._queued = 0
        self._aborted = False
        self._builder: VersionBuilder | None = None
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
        """Stop, and remove the segment unless a commit published it."""
        self._aborted = True
        self._chunks.put(None)
        with self._room:
            self._room.notify_all()
        self._thread.join()
        if self._builder is not None:
            self._builder.discard()

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
        self._builder = VersionBuilder(
            self._storage, self._dataset_uid, self._head, self._append, reader.schema
        )
        while (rows := _next_rows(reader)) is not None:
            self._builder.add(rows)
        if source.read(1):
            extra = 1 + sum(len(chunk) for chunk in iter(lambda: source.read(1 << 30), b""))
            raise _bad_data(f"{extra} bytes after the end of the stream")
        return self._builder.finish(self._raw.hexdigest() if self._raw is not None else "")


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


def _next_rows(reader: pa.ipc.RecordBatchStreamReader) -> pa.Table | None:
    """The next batch, checked (DAT-023); None at the end of the stream."""
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
    return pa.Table.from_batches([batch])


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
