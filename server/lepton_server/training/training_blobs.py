"""The content-addressed files of the training layer: checkpoint contents and models, stored
once per SHA-256 under `<root>/<sha256>`. A directory becomes the deterministic uncompressed
tar the registry packs (`model_formats.pack_directory`), so the same files always give the same
digest. A blob is written to a temporary file and renamed, so it is complete before it is
visible, and it is served as a GEN-080 download (`aip/artifact_chunks.py`). Who still uses a
blob is the callers' knowledge, not this module's.

With `--encryption-key-file` a blob is sealed as it is stored (runtime/encryption.py), its key
record beside it; downloads decrypt a chunk at a time, and what needs a file (a registration,
a resumed attempt) gets a decrypted copy in the staging directory for as long as it needs it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from lepton.type.v1 import artifact_pb2, digest_pb2
from lepton_server.aip.artifact_chunks import ByteRange, byte_range, read_chunks
from lepton_server.registry.model_formats import OCTET_STREAM, TAR_MEDIA_TYPE, pack_directory
from lepton_server.runtime.encryption import MAGIC, is_sealed, key_unavailable
from lepton_server.runtime.sealed_files import SealedFiles

_COPY_BLOCK = 4 * 1024 * 1024
_STAGING = ".staging"


class TrainingBlobs:
    """Blobs under `root`, keyed by the lowercase hex SHA-256 of their bytes."""

    def __init__(self, root: Path, sealed: SealedFiles | None = None) -> None:
        self.root = root
        self.sealed = sealed
        self._staging = root / _STAGING
        self._staging.mkdir(parents=True, exist_ok=True)
        # A crash can leave a half-written temporary file; no blob is visible through it.
        for left in self._staging.iterdir():
            left.unlink(missing_ok=True)

    def put(
        self, source: Path, *, media_type: str = ""
    ) -> tuple[artifact_pb2.ArtifactDescriptor, str]:
        """Store the file or directory `source` (blocking: run it off the event loop); its
        descriptor and blob key. A directory is stored as a tar ("application/x-tar"), a
        file as it is ("application/octet-stream" unless `media_type` says otherwise). The
        same bytes stored twice are one blob."""
        with tempfile.NamedTemporaryFile(dir=self._staging, delete=False) as staged:
            try:
                if source.is_dir():
                    packed = pack_directory(source, staged)
                    size, sha256 = packed.size_bytes, packed.sha256
                    media_type = media_type or TAR_MEDIA_TYPE
                else:
                    size, sha256 = _copy(source, staged)
                    media_type = media_type or OCTET_STREAM
                staged.flush()
                os.fsync(staged.fileno())
            except BaseException:
                Path(staged.name).unlink(missing_ok=True)
                raise
        target = self.path(sha256)
        if target.is_file():
            Path(staged.name).unlink(missing_ok=True)
        elif self.sealed is not None:
            try:
                self.sealed.seal_file(Path(staged.name), str(target))
            finally:
                Path(staged.name).unlink(missing_ok=True)
        else:
            os.replace(staged.name, target)
        descriptor = artifact_pb2.ArtifactDescriptor(
            size_bytes=size,
            digest=digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=sha256),
            media_type=media_type,
        )
        return descriptor, sha256

    def path(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the blob `key` if it is there; the caller knows nobody uses it."""
        if self.sealed is not None:
            self.sealed.delete(str(self.path(key)))
        else:
            self.path(key).unlink(missing_ok=True)

    @contextlib.contextmanager
    def plaintext(self, key: str) -> Iterator[Path]:
        """A file of the blob `key`'s bytes while the block runs (blocking): the blob itself,
        or a decrypted copy in the staging directory, removed after."""
        if self.sealed is None:
            _refuse_sealed(self.path(key))
            yield self.path(key)
            return
        with tempfile.NamedTemporaryFile(dir=self._staging) as copy:
            with self.sealed.open_file(str(self.path(key)), f"blob {key}") as source:
                while block := source.read(_COPY_BLOCK):
                    copy.write(block)
            copy.flush()
            yield Path(copy.name)

    def download(
        self,
        key: str,
        descriptor: artifact_pb2.ArtifactDescriptor,
        offset: int,
        length_bytes: int,
        chunk_size_bytes: int,
    ) -> AsyncIterator[artifact_pb2.ArtifactChunk]:
        """Check the range now (INVALID_FIELD, OFFSET_OUT_OF_RANGE before any message), then
        the chunks of the blob `key` described by `descriptor` (GEN-080, GEN-081). A blob
        deleted before the first chunk is read raises FileNotFoundError then."""
        span = byte_range(offset, length_bytes, chunk_size_bytes, descriptor.size_bytes)
        return self._chunks(self.path(key), span)

    async def _chunks(
        self, path: Path, span: ByteRange
    ) -> AsyncIterator[artifact_pb2.ArtifactChunk]:
        if span.offset >= span.end:
            return
        if self.sealed is not None:
            blob = self.sealed.open_file(str(path), f"blob {path.name}")
            try:
                async for chunk in read_chunks(blob.read_at, span):
                    yield chunk
            finally:
                blob.close()
            return
        _refuse_sealed(path)
        descriptor = os.open(path, os.O_RDONLY)
        try:
            async for chunk in read_chunks(
                lambda length, at: os.pread(descriptor, length, at), span
            ):
                yield chunk
        finally:
            os.close(descriptor)


def _refuse_sealed(path: Path) -> None:
    """FAILED_PRECONDITION for a blob sealed when the server ran with a key file."""
    with path.open("rb") as blob:
        if is_sealed(blob.read(len(MAGIC))):
            raise key_unavailable(f"blob {path.name}")


def _copy(source: Path, sink) -> tuple[int, str]:
    """Copy `source` into the open file `sink`; its size and lowercase hex SHA-256."""
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as content:
        while block := content.read(_COPY_BLOCK):
            digest.update(block)
            sink.write(block)
            size += len(block)
    return size, digest.hexdigest()
