"""Sealed objects (runtime/encryption.py) on a pyarrow.fs filesystem: a local disk or an
object store. The key record `<path>.dek` is stored before the object is made visible (on a
local disk it is renamed into place; on an object store it is one object), so no visible
object lacks its record; `rekey` replaces records whole, the same way."""

from __future__ import annotations

import os
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
    corrupted,
    header_of,
    open_sealed,
    rewrap,
)


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
            raise corrupted(path, "its key record is missing")
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
    temporary = f"{path}.tmp"
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    descriptor = os.open(Path(path).parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
