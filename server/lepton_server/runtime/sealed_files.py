"""Sealed objects (runtime/encryption.py) on a pyarrow.fs filesystem: a local disk or an
object store. The key record `<path>.dek` is stored before the object is made visible (on a
local disk it is renamed into place; on an object store it is one object), so no visible
object lacks its record; `rekey` replaces records whole, the same way."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from pathlib import Path

import pyarrow as pa
from pyarrow import fs

from lepton_server.runtime.encryption import (
    HEADER_BYTES,
    KEY_SUFFIX,
    KeyProvider,
    SealedReader,
    SealedWriter,
    Sealing,
    chunk_bytes,
    corrupted,
    header_of,
    open_sealed,
    plaintext_size,
    rewrap,
)

_COPY_BLOCK = 4 * 1024 * 1024


class SealedFiles:
    """Objects of one filesystem sealed under data keys that `provider` wraps."""

    def __init__(self, provider: KeyProvider, filesystem: fs.FileSystem) -> None:
        self.provider = provider
        self.filesystem = filesystem
        self.local = isinstance(filesystem, fs.LocalFileSystem)

    def sink(self, raw: pa.NativeFile) -> tuple[pa.NativeFile, Sealing]:
        """A sink that seals what is written to it into `raw`, and the sealing whose record
        `keep_record` must store before the object becomes visible."""
        sealing = Sealing.new(self.provider)
        writer = SealedWriter(sealing, raw.write)
        return pa.PythonFile(writer, mode="w"), sealing

    def keep_record(self, path: str, sealing: Sealing) -> None:
        """Store the key record of the object at `path` durably."""
        _replace(self.filesystem, f"{path}{KEY_SUFFIX}", sealing.record, local=self.local)

    def open_file(self, path: str, what: str) -> pa.NativeFile:
        """The plaintext of the object sealed at `path`, for random reads (read_at, seek and
        read), decrypted a chunk at a time; closing it closes the stored file."""
        source = self.filesystem.open_input_file(path)
        try:
            reader = open_sealed(
                self.provider,
                _read_at(source),
                source.size(),
                self._record(path),
                what,
                on_close=source.close,
            )
        except BaseException:
            source.close()
            raise
        return pa.PythonFile(reader, mode="r")

    def plaintext_size(self, path: str, sealed_size: int) -> int:
        """The plaintext bytes of the object sealed at `path`, `sealed_size` bytes stored."""
        with self.filesystem.open_input_file(path) as source:
            header = header_of(source.read_at(HEADER_BYTES, 0), path)
        return plaintext_size(sealed_size, chunk_bytes(header))

    def seal_file(self, source: Path, path: str) -> None:
        """Store the local file `source` sealed at `path`, whole or not at all: written beside
        it, its key record stored, then moved into place. For content-addressed objects: when
        `path` exists (another writer of the same bytes finished first), it is kept."""
        # One writer of a path at a time: two would each store a record of their own key,
        # and the object could end up beside the other's record.
        with _writer_lock(path):
            if self.filesystem.get_file_info(path).type == fs.FileType.File:
                return
            self._seal_file(source, path)

    def _seal_file(self, source: Path, path: str) -> None:
        temporary = f"{path}.{uuid.uuid4().hex}.partial"
        try:
            with self.filesystem.open_output_stream(temporary) as raw:
                sink, sealing = self.sink(raw)
                with source.open("rb") as plain:
                    while block := plain.read(_COPY_BLOCK):
                        sink.write(block)
                sink.close()
            if self.local:
                fsync_path(temporary)
            self.keep_record(path, sealing)
            self.filesystem.move(temporary, path)
            if self.local:
                fsync_path(str(Path(path).parent))
        except BaseException:
            with contextlib.suppress(OSError):
                self.filesystem.delete_file(temporary)
            raise

    def delete(self, path: str) -> None:
        """Remove the object at `path` and its key record (either may be gone already)."""
        for each in (path, f"{path}{KEY_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                self.filesystem.delete_file(each)

    def rows(self, path: str, what: str) -> pa.Table:
        """The Arrow IPC file sealed at `path` (`what` names it in errors), decrypted a chunk
        at a time."""
        with self.filesystem.open_input_file(path) as source:
            reader = open_sealed(
                self.provider, _read_at(source), source.size(), self._record(path), what
            )
            return _ipc_rows(reader, what)

    def rows_with(self, path: str, sealing: Sealing, what: str) -> pa.Table:
        """rows() of an object whose key record is not stored yet, with its `sealing`."""
        with self.filesystem.open_input_file(path) as source:
            reader = SealedReader(
                _read_at(source), source.size(), sealing.data_key, sealing.header, what
            )
            return _ipc_rows(reader, what)

    def rekey(self, path: str) -> bool:
        """Re-wrap the record of the object at `path` under the primary KEK; whether it
        changed (the object itself is not rewritten)."""
        record = self._record(path)
        if record is None:
            raise FileNotFoundError(f"{path}{KEY_SUFFIX}")  # removed meanwhile
        with self.filesystem.open_input_file(path) as source:
            header = header_of(source.read_at(HEADER_BYTES, 0), path)
        rewrapped = rewrap(self.provider, record, header, path)
        if rewrapped is None:
            return False
        _replace(self.filesystem, f"{path}{KEY_SUFFIX}", rewrapped, local=self.local)
        return True

    def _record(self, path: str) -> bytes | None:
        try:
            with self.filesystem.open_input_stream(f"{path}{KEY_SUFFIX}") as source:
                return source.read()
        except FileNotFoundError:
            return None


# Striped: a lock per path would grow with every object ever stored.
_LOCKS = tuple(threading.Lock() for _ in range(64))


def _writer_lock(path: str) -> threading.Lock:
    return _LOCKS[hash(path) % len(_LOCKS)]


def _read_at(source: pa.NativeFile):
    return lambda offset, length: source.read_at(length, offset)


def _ipc_rows(reader: SealedReader, what: str) -> pa.Table:
    try:
        return pa.ipc.open_file(pa.PythonFile(reader, mode="r")).read_all()
    except pa.ArrowInvalid as exc:
        # Authentic bytes that are not an Arrow file: written so by a bug, not tampered with.
        raise corrupted(what, f"its rows do not parse ({exc})") from exc


def _replace(filesystem: fs.FileSystem, path: str, content: bytes, *, local: bool) -> None:
    if not local:
        with filesystem.open_output_stream(path) as sink:
            sink.write(content)
        return
    temporary = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    fsync_path(str(Path(path).parent))


def fsync_path(path: str | Path) -> None:
    """Flush the file or directory at `path` to disk (a directory: the names in it)."""
    # Through a descriptor of its own: fsync flushes the file (or directory), not a handle.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
