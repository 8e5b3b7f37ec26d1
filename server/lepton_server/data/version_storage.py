"""Version data: each version is a list of immutable segments, Arrow IPC files under
`<base>/datasets/<dataset uid>/segments/<segment>.arrow` on any pyarrow.fs filesystem — the
data directory by default, or a `--storage-uri` (a local path, `file://`, `s3://`, ...).

An APPEND version reuses its parent's segments and adds one for the new rows, so appending
costs the new rows only. A segment is complete before the metadata transaction that makes a
version refer to it (DAT-026): on a local disk it is written to a temporary file, flushed and
renamed into place; on an object store it is one object, which appears whole or not at all.
A crash at any moment leaves at worst an unreferenced segment, which `collect_garbage`
removes at start. The base therefore belongs to one server: whatever its catalog does not
refer to is garbage.

Beside a segment, `<segment>.leaves` may keep the content digest's full leaves (§4.3) of the
rows up to the end of that segment in the version that added it, so an APPEND hashes only
the parent's last partial leaf and the new rows. It is a cache: checked by its own SHA-256,
and when missing or damaged the rows are hashed again.

With `--encryption-key-file` every segment is sealed (runtime/encryption.py): encrypted in
chunks as it is written, with its key record `<segment>.arrow.dek` beside it, and decrypted a
chunk at a time when read; a segment whose bytes changed answers DATA_LOSS, not rows."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import struct
import uuid
from concurrent import futures
from concurrent.futures import Future
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
from pyarrow import fs

from lepton_server.runtime.encryption import KEY_SUFFIX, MAGIC, is_sealed, key_unavailable
from lepton_server.runtime.sealed_files import SealedFiles, fsync_path
from lepton_server.runtime.startup_errors import StartupError

log = logging.getLogger(__name__)

SUFFIX = ".arrow"
TMP_SUFFIX = ".tmp"
LEAVES_SUFFIX = ".leaves"
_LEAVES_MAGIC = b"lepton-leaves-v1\n"
_LEAVES_HEADER = struct.Struct("<QQ")  # columns, leaves per column
_DIGEST_BYTES = 32
# A local segment's bytes are sent to disk in steps of this size while it is written, by one
# thread for the whole server (a flush that is still running is not queued behind).
WRITEBACK_BYTES = 32 * 1024 * 1024
_FLUSHER = futures.ThreadPoolExecutor(1, thread_name_prefix="lepton-segment-flush")


class UnusableStorageError(StartupError):
    """The version storage cannot be reached or written (reported at start)."""


class VersionStorage:
    """Segments of every dataset below one base path of one filesystem."""

    def __init__(
        self, filesystem: fs.FileSystem, base: str, sealed: SealedFiles | None = None
    ) -> None:
        self.filesystem = filesystem
        self.local = isinstance(filesystem, fs.LocalFileSystem)
        self.sealed = sealed
        self.root = f"{base.rstrip('/')}/datasets"
        # Reaching the filesystem here (creating an S3 bucket when the URI allows it) makes an
        # unreachable location or a missing bucket fail at start, not at the first write.
        filesystem.create_dir(self.root, recursive=True)

    def segments_dir(self, dataset_uid: str) -> str:
        return f"{self.root}/{dataset_uid}/segments"

    def segment_path(self, dataset_uid: str, segment: str) -> str:
        return f"{self.segments_dir(dataset_uid)}/{segment}{SUFFIX}"

    def write_segment(self, dataset_uid: str, table: pa.Table) -> str:
        """Write `table` durably as a new segment; its id."""
        writer = SegmentWriter(self, dataset_uid, table.schema)
        try:
            writer.write(table)
            return writer.commit()
        except BaseException:
            writer.discard()
            raise

    def read(self, dataset_uid: str, segments: list[str], schema: pa.Schema) -> pa.Table:
        """The rows of `segments`, in order, as one table of `schema` (memory-mapped on a
        local disk, fetched whole from other filesystems)."""
        tables = [self._read_segment(dataset_uid, segment, schema) for segment in segments]
        if not tables:
            return schema.empty_table()
        return pa.concat_tables(tables)

    def read_from(
        self, dataset_uid: str, segments: list[str], schema: pa.Schema, start: int, rows: int
    ) -> pa.Table:
        """read()'s rows from row `start` on, of the `rows` that `segments` hold: segments
        that end before `start` are not opened (nor fetched, from an object store)."""
        tail: list[pa.Table] = []
        first_row = rows  # of the earliest segment read so far
        for segment in reversed(segments):
            if first_row <= start:
                break
            tail.append(self._read_segment(dataset_uid, segment, schema))
            first_row -= tail[-1].num_rows
        if not tail:
            return schema.empty_table()
        return pa.concat_tables(tail[::-1]).slice(start - first_row)

    def _read_segment(self, dataset_uid: str, segment: str, schema: pa.Schema) -> pa.Table:
        table = self.segment_rows(self.segment_path(dataset_uid, segment), f"segment {segment}")
        return table.cast(schema) if table.schema != schema else table

    def segment_rows(self, path: str, what: str) -> pa.Table:
        """The rows of the segment file at `path`: decrypted a chunk at a time when sealed,
        else memory-mapped on a local disk and fetched whole from other filesystems."""
        if self.sealed is not None:
            return self.sealed.rows(path, what)
        if self.local:
            source = pa.memory_map(path)
            start = source.read_at(len(MAGIC), 0)
        else:
            with self.filesystem.open_input_file(path) as remote:
                source = remote.read_buffer()
            start = source[: len(MAGIC)].to_pybytes()
        if is_sealed(start):
            raise key_unavailable(what)
        return pa.ipc.open_file(source).read_all()

    def write_leaves(self, dataset_uid: str, segment: str, leaves: list[list[bytes]]) -> None:
        """Keep `leaves` (per column, the full leaves of the rows up to the end of `segment`)
        beside the segment, best effort: without them an APPEND only costs more."""
        body = [_LEAVES_MAGIC, _LEAVES_HEADER.pack(len(leaves), len(leaves[0]) if leaves else 0)]
        body.extend(leaf for column in leaves for leaf in column)
        content = b"".join(body)
        path = f"{self.segments_dir(dataset_uid)}/{segment}{LEAVES_SUFFIX}"
        try:
            with self.filesystem.open_output_stream(path) as sink:
                sink.write(content + hashlib.sha256(content).digest())
        except OSError as exc:
            log.warning("leaf digests of segment %s not kept: %s", segment, exc)

    def read_leaves(self, dataset_uid: str, segment: str, columns: int) -> list[list[bytes]] | None:
        """What write_leaves kept for `segment`, if it is there, whole, and of `columns`."""
        path = f"{self.segments_dir(dataset_uid)}/{segment}{LEAVES_SUFFIX}"
        try:
            with self.filesystem.open_input_stream(path) as source:
                data = source.read()
        except OSError:
            return None
        content, check = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
        start = len(_LEAVES_MAGIC) + _LEAVES_HEADER.size
        if not content.startswith(_LEAVES_MAGIC) or len(content) < start:
            return None
        if hashlib.sha256(content).digest() != check:
            return None
        stored_columns, count = _LEAVES_HEADER.unpack_from(content, len(_LEAVES_MAGIC))
        if stored_columns != columns or len(content) != start + columns * count * _DIGEST_BYTES:
            return None
        at = [start + (c * count + i) * _DIGEST_BYTES for c in range(columns) for i in range(count)]
        flat = [content[a : a + _DIGEST_BYTES] for a in at]
        return [flat[c * count : (c + 1) * count] for c in range(columns)]

    def size_bytes(self, dataset_uid: str, segments: list[str]) -> int:
        paths = [self.segment_path(dataset_uid, s) for s in segments]
        return sum(info.size for info in self.filesystem.get_file_info(paths))

    def delete_dataset(self, dataset_uid: str) -> None:
        """Remove a deleted dataset's segments; what fails here `collect_garbage` removes at
        the next start."""
        try:
            self.filesystem.delete_dir(f"{self.root}/{dataset_uid}")
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("segments of deleted dataset %s stay until restart: %s", dataset_uid, exc)

    def collect_garbage(self, live_datasets: set[str], referenced: set[str]) -> int:
        """Remove what no committed version refers to: temporary files, segments of failed
        or interrupted writes and directories of deleted datasets. Returns files removed."""
        removed = 0
        for entry in self._list(self.root, recursive=False):
            if entry.base_name not in live_datasets:
                removed += self._remove(entry)
        for dataset_uid in live_datasets:
            for entry in self._files(self.segments_dir(dataset_uid), recursive=False):
                # A segment's key record (`<segment>.arrow.dek`) lives and dies with it.
                stem, suffix = os.path.splitext(entry.base_name.removesuffix(KEY_SUFFIX))
                if not (suffix in (SUFFIX, LEAVES_SUFFIX) and stem in referenced):
                    removed += self._remove(entry)
        return removed

    def _remove(self, entry: fs.FileInfo) -> int:
        """Delete a file or a directory tree, best effort; the files removed."""
        try:
            if entry.type != fs.FileType.Directory:
                self.filesystem.delete_file(entry.path)
                return 1
            files = len(self._files(entry.path, recursive=True))
            self.filesystem.delete_dir(entry.path)
            return files
        except OSError as exc:
            log.warning("garbage %s stays until the next start: %s", entry.path, exc)
            return 0

    def _list(self, path: str, *, recursive: bool) -> list[fs.FileInfo]:
        selector = fs.FileSelector(path, allow_not_found=True, recursive=recursive)
        return self.filesystem.get_file_info(selector)

    def _files(self, path: str, *, recursive: bool) -> list[fs.FileInfo]:
        return [e for e in self._list(path, recursive=recursive) if e.type == fs.FileType.File]


class SegmentWriter:
    """A new segment written part by part as its rows arrive. On a local disk it is a
    temporary file until commit() flushes and renames it; on an object store it is the
    object itself, which no version refers to until the commit that follows commit()."""

    def __init__(self, storage: VersionStorage, dataset_uid: str, schema: pa.Schema) -> None:
        self.segment = uuid.uuid4().hex
        self._storage = storage
        final = storage.segment_path(dataset_uid, self.segment)
        if storage.local:
            directory = Path(storage.segments_dir(dataset_uid))
            directory.mkdir(parents=True, exist_ok=True)
            self._path = f"{final[: -len(SUFFIX)]}{TMP_SUFFIX}"
            self._final = final
            # Arrow's own file writes without the GIL, so requests go on arriving meanwhile.
            self._raw: pa.NativeFile = pa.OSFile(self._path, "wb")
        else:
            self._path = self._final = final
            self._raw = storage.filesystem.open_output_stream(final)
        self._sink = self._raw
        self._sealing = None
        if storage.sealed is not None:
            self._sink, self._sealing = storage.sealed.sink(self._raw)
        self._writer: pa.ipc.RecordBatchFileWriter | None = pa.ipc.new_file(self._sink, schema)
        self._flushed = 0
        self._flushing: Future[None] | None = None
        self._committed = False

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table, max_chunksize=64 * 1024)
        if self._storage.local:
            written = self._sink.tell()
            if written - self._flushed >= WRITEBACK_BYTES and (
                self._flushing is None or self._flushing.done()
            ):
                # Flush what is here on another thread while the rest arrives: the fsync at
                # commit is left with the tail, not the whole file, and the pages stay
                # cached for the reads that follow a write.
                self._flushing = _FLUSHER.submit(os.fdatasync, self._raw.fileno())
                self._flushed = written

    def close(self) -> None:
        """Complete the file (its footer); it is not yet a segment."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            try:
                writer.close()
            finally:
                if self._flushing is not None:
                    futures.wait([self._flushing])  # before its descriptor closes
                try:
                    self._sink.close()  # a sealing sink seals its last chunk here
                finally:
                    self._raw.close()

    def commit(self) -> str:
        """Make the file durable under its segment name; the segment id."""
        self.close()
        if self._sealing is not None:
            # Before the segment is visible: no visible segment lacks its key record.
            self._storage.sealed.keep_record(self._final, self._sealing)
        if self._storage.local:
            # fsync, rename, directory fsync: the file is whole once it has its name.
            fsync_path(Path(self._path))
            os.replace(self._path, self._final)
            fsync_path(Path(self._final).parent)  # the rename must survive a crash too
        self._committed = True
        return self.segment

    def rows(self) -> pa.Table:
        """What was written, read back (memory-mapped on a local disk)."""
        self.close()
        if self._sealing is not None:
            # Not yet renamed, so its key record is not stored: read with the key in hand.
            return self._storage.sealed.rows_with(self._path, self._sealing, "a new segment")
        return self._storage.segment_rows(self._path, "a new segment")

    def discard(self) -> None:
        """Remove what was written, unless commit() made it a segment (a version may refer
        to it by now)."""
        if self._committed:
            return
        with contextlib.suppress(Exception):
            self.close()
        with contextlib.suppress(OSError):
            if self._storage.local:
                os.unlink(self._path)
            else:
                # Closing the stream may have stored a partial object.
                self._storage.filesystem.delete_file(self._path)


def open_version_storage(uri: str) -> VersionStorage:
    """The version storage at `uri`: a local path, or any URI `pyarrow.fs` resolves (`file://`,
    `s3://bucket/prefix?endpoint_override=...`, `gs://`, `abfs://`, `hdfs://`), credentials
    taken from the environment. UnusableStorageError if it cannot be reached or written."""
    shown = _without_secrets(uri)
    try:
        if not urlparse(uri).scheme:
            return VersionStorage(fs.LocalFileSystem(), str(Path(uri).resolve()))
        filesystem, base = fs.FileSystem.from_uri(uri)
        if not base.strip("/"):
            raise UnusableStorageError(f"storage URI {shown} names no bucket or directory")
        return VersionStorage(filesystem, base)
    except (OSError, ValueError, pa.ArrowException) as exc:
        # One line, whatever the filesystem reported, and without the URI's secrets.
        message = " ".join(str(exc).replace(uri, shown).split())
        raise UnusableStorageError(f"storage URI {shown} is unusable: {message}") from exc


def _without_secrets(uri: str) -> str:
    # A URI may carry credentials (user:secret@) or options in its query; show neither.
    parsed = urlparse(uri)
    if not parsed.scheme:
        return uri
    return f"{parsed.scheme}://{parsed.netloc.rpartition('@')[2]}{parsed.path}"
