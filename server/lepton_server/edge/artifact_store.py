"""The edge layer's artifact store (spec/edge.md 2.7, EDG-044 to EDG-049, EDG-116, GEN-080 to
GEN-082): one content-addressed store, keyed by SHA-256, for the artifacts operators upload
(UploadArtifact) and the blobs devices upload (UploadBlob); both are read by digest
(StatArtifact, ReadArtifact, DownloadArtifact).

Layout under its root (`<data-dir>/edge/artifacts/`): `blobs/<sha256>` the verified bytes,
`uploads/<sha256>` the staging file of an unfinished upload (its length is the committed
offset, flushed to disk before any offset is reported), `descriptors/<sha256>` the
ArtifactDescriptor an upload declared (kept as the stored descriptor once it completes). The
bytes and staging files are the registry's `BlobStore`; the range rules of reads are
`aip/artifact_chunks`.

An unfinished upload is identified by its digest alone: a later stream with the same header
continues it, whoever sends it (an operator's artifact or any device's blob)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import weakref
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pyarrow import fs

from lepton.edge.v1 import artifact_upload_pb2
from lepton.type.v1 import artifact_pb2, digest_pb2
from lepton_server.aip.artifact_chunks import (
    MAX_CHUNK_BYTES,
    ByteRange,
    byte_range,
    check_range_fields,
    read_chunks,
)
from lepton_server.registry.blob_store import BlobStore, sha256_of_file
from lepton_server.runtime.errors import (
    DataLoss,
    NotFound,
    OutOfRange,
    ResourceExhausted,
    invalid_field,
)

# The largest artifact an upload may declare unless the layer configures another limit.
DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024 * 1024

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class UploadStatus(NamedTuple):
    """GetArtifactUploadStatus / GetBlobUploadStatus: the declared (or stored) descriptor and
    the committed offset, equal to its size once the artifact is stored."""

    artifact: artifact_pb2.ArtifactDescriptor
    committed_offset: int


class UploadOutcome(NamedTuple):
    """The answer to an upload stream (UploadArtifactResponse, UploadBlobResponse)."""

    artifact: artifact_pb2.ArtifactDescriptor
    committed_offset: int
    already_existed: bool


@dataclass(eq=False)
class UploadSession:
    """One upload stream past its header."""

    sha256: str
    size: int
    declared: artifact_pb2.ArtifactDescriptor
    lock: asyncio.Lock
    # Set once the artifact is stored: the answer, sent without waiting for more chunks.
    outcome: UploadOutcome | None = field(default=None)


def check_digest(digest: digest_pb2.Digest, field_path: str = "digest") -> str:
    """The lowercase hex of a SHA-256 `digest`; INVALID_FIELD on `field_path` for another
    algorithm or a hex that is not 64 lowercase hexadecimal characters (EDG-044)."""
    if digest.algorithm != digest_pb2.DIGEST_ALGORITHM_SHA256:
        raise invalid_field(f"{field_path}.algorithm", "must be DIGEST_ALGORITHM_SHA256")
    if not _SHA256_HEX.fullmatch(digest.hex):
        raise invalid_field(f"{field_path}.hex", "must be 64 lowercase hexadecimal characters")
    return digest.hex


def _not_found(sha256: str) -> NotFound:
    return NotFound(
        reason="ARTIFACT_NOT_FOUND",
        message=f"no artifact with sha256 {sha256} is stored",
        metadata={"digest": sha256},
    )


def _digest_mismatch(message: str) -> DataLoss:
    return DataLoss(reason="DIGEST_MISMATCH", message=message)


class ArtifactStore:
    """Artifacts and device blobs by SHA-256: resumable uploads, upload status, stat and
    ranged reads. One instance per server; its methods run on the event loop and move bytes
    in the executor."""

    def __init__(self, root: Path, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> None:
        self.root = root
        self.max_upload_bytes = max_upload_bytes
        self.blobs = BlobStore(
            fs.LocalFileSystem(), str((root / "blobs").resolve()), root / "uploads"
        )
        self._descriptors = root / "descriptors"
        self._descriptors.mkdir(parents=True, exist_ok=True)
        # One writer per digest at a time; a lock lives while a session holds it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # The sha256 state of a staging file's first bytes, (offset, hash), so the last chunk
        # is verified without reading the file again.
        self._hashes: dict[str, tuple[int, Any]] = {}

    # --- reading ----------------------------------------------------------------------------

    def stored(self, sha256: str) -> artifact_pb2.ArtifactDescriptor | None:
        """The descriptor of the stored artifact `sha256` (lowercase hex), or None."""
        size = self.blobs.size(sha256)
        if size is None:
            return None
        descriptor = self._declared(sha256) or artifact_pb2.ArtifactDescriptor()
        # The bytes are the truth; a blob placed without a descriptor still has a size.
        descriptor.size_bytes = size
        descriptor.digest.CopyFrom(
            digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=sha256)
        )
        return descriptor

    def stat(
        self, digest: digest_pb2.Digest, field_path: str = "digest"
    ) -> artifact_pb2.ArtifactDescriptor:
        """StatArtifact: the stored artifact's descriptor; INVALID_FIELD for a malformed
        digest, NOT_FOUND [ARTIFACT_NOT_FOUND] (metadata `digest`) when it is not stored."""
        sha256 = check_digest(digest, field_path)
        descriptor = self.stored(sha256)
        if descriptor is None:
            raise _not_found(sha256)
        return descriptor

    def read(
        self,
        digest: digest_pb2.Digest,
        offset: int,
        length_bytes: int,
        chunk_size_bytes: int,
    ) -> tuple[artifact_pb2.ArtifactDescriptor, AsyncIterator[artifact_pb2.ArtifactChunk]]:
        """ReadArtifact / DownloadArtifact (EDG-046, EDG-047): every check now (malformed
        digest or negative field INVALID_FIELD, unknown digest ARTIFACT_NOT_FOUND, offset past
        the size OFFSET_OUT_OF_RANGE), then the whole artifact's descriptor, to send first,
        and its chunks from `offset`: contiguous, non-empty, at most min(chunk_size_bytes,
        3 MiB) each, none when `offset` is the size."""
        sha256 = check_digest(digest)
        check_range_fields(offset, length_bytes, chunk_size_bytes)
        descriptor = self.stored(sha256)
        if descriptor is None:
            raise _not_found(sha256)
        span = byte_range(offset, length_bytes, chunk_size_bytes, descriptor.size_bytes)
        return descriptor, self._chunks(sha256, span)

    async def _chunks(
        self, sha256: str, span: ByteRange
    ) -> AsyncIterator[artifact_pb2.ArtifactChunk]:
        if span.offset >= span.end:
            return
        blob = self.blobs.open(sha256)
        try:
            async for chunk in read_chunks(blob.read_at, span):
                yield chunk
        finally:
            blob.close()

    # --- uploading --------------------------------------------------------------------------

    async def upload(
        self, requests: AsyncIterable[Any], *, max_bytes: int | None = None
    ) -> UploadOutcome:
        """A whole UploadArtifact or UploadBlob stream (GEN-082, EDG-048, EDG-116): messages
        with a `payload` oneof of `header` and `chunk`. The answer comes when the client
        half-closes or as soon as the artifact is stored, whichever is first. `max_bytes`
        overrides the store's upload limit (e.g. a smaller one for device blobs)."""
        messages = aiter(requests)
        first = await anext(messages, None)
        if first is None or first.WhichOneof("payload") != "header":
            raise invalid_field("payload", "the first message of an upload must be a header")
        session = await self.begin(first.header, max_bytes=max_bytes)
        if session.outcome is not None:
            return session.outcome
        async for message in messages:
            kind = message.WhichOneof("payload")
            if kind != "chunk":
                problem = "a second header" if kind == "header" else "an empty message"
                raise invalid_field("payload", f"{problem}; after the header only chunks follow")
            if await self.write(session, message.chunk):
                break
        return await self.close(session)

    async def begin(
        self, header: artifact_upload_pb2.ArtifactUploadHeader, *, max_bytes: int | None = None
    ) -> UploadSession:
        """Check a header and open its upload. When the digest is stored already the
        session's `outcome` is set (already_existed); an unfinished upload that declared
        another size starts again at 0."""
        if not header.HasField("artifact"):
            raise invalid_field("header.artifact", "the header restates the artifact descriptor")
        declared = header.artifact
        if declared.size_bytes <= 0:
            raise invalid_field("header.artifact.size_bytes", "must be greater than 0")
        sha256 = check_digest(declared.digest, "header.artifact.digest")
        limit = self.max_upload_bytes if max_bytes is None else max_bytes
        if declared.size_bytes > limit:
            raise ResourceExhausted(
                reason="QUOTA_EXCEEDED",
                message=f"{declared.size_bytes} bytes is more than the {limit} this server accepts",
                metadata={"max_bytes": str(limit)},
            )
        lock = self._locks.get(sha256)
        if lock is None:
            lock = self._locks[sha256] = asyncio.Lock()
        session = UploadSession(
            sha256, declared.size_bytes, artifact_pb2.ArtifactDescriptor(), lock
        )
        session.declared.CopyFrom(declared)
        loop = asyncio.get_running_loop()
        async with lock:
            stored = self.stored(sha256)
            if stored is not None:
                if stored.size_bytes != declared.size_bytes:
                    raise _digest_mismatch(
                        f"sha256 {sha256} is stored with {stored.size_bytes} bytes, "
                        f"not {declared.size_bytes}"
                    )
                session.outcome = UploadOutcome(stored, stored.size_bytes, already_existed=True)
                return session
            before = self._declared(sha256)
            if before is not None and before.size_bytes != declared.size_bytes:
                # Another size is another upload: its bytes cannot be part of this one.
                self._forget(sha256)
                self.blobs.discard(sha256)
            if before != declared:
                await loop.run_in_executor(None, self._declare, sha256, declared)
            committed = self.blobs.committed(sha256)
            if committed == declared.size_bytes:
                # Every byte committed before a crash or a broken stream, never verified.
                await self._complete(session)
        return session

    async def write(self, session: UploadSession, chunk: artifact_pb2.ArtifactChunk) -> bool:
        """Commit one chunk at the committed offset; at the last byte verify and store the
        artifact. True when the upload is complete (`session.outcome` is then set)."""
        # Read once: upb copies a bytes field at every access.
        data = chunk.data
        if not data or len(data) > MAX_CHUNK_BYTES:
            raise invalid_field(
                "chunk.data", f"a chunk carries 1 to {MAX_CHUNK_BYTES} bytes, not {len(data)}"
            )
        loop = asyncio.get_running_loop()
        async with session.lock:
            stored = self.stored(session.sha256)
            if stored is not None:
                # Another stream finished the same upload meanwhile.
                session.outcome = UploadOutcome(stored, stored.size_bytes, already_existed=False)
                return True
            committed = self.blobs.committed(session.sha256)
            if chunk.offset != committed:
                committed = await loop.run_in_executor(None, self.blobs.flush, session.sha256)
                raise OutOfRange(
                    reason="OFFSET_OUT_OF_RANGE",
                    message=f"the chunk starts at {chunk.offset}; the upload resumes at "
                    f"{committed}",
                    metadata={"committed_offset": str(committed)},
                )
            if committed + len(data) > session.size:
                self._discard(session.sha256)
                raise _digest_mismatch(
                    f"the chunk ends at {committed + len(data)}, past the declared "
                    f"{session.size} bytes; the upload is discarded"
                )
            hashed = self._hashes.pop(session.sha256, None)
            digest = hashed[1] if hashed is not None and hashed[0] == committed else None
            if digest is None and committed == 0:
                digest = hashlib.sha256()
            # Write and hash at once, on two executor threads: both release the GIL.
            writing = loop.run_in_executor(None, self.blobs.append, session.sha256, data)
            if digest is not None:
                await loop.run_in_executor(None, digest.update, data)
            appended = await writing
            if digest is not None:
                self._hashes[session.sha256] = (appended, digest)
            if appended == session.size:
                await self._complete(session)
        return session.outcome is not None

    async def close(self, session: UploadSession) -> UploadOutcome:
        """The answer to a half-close: the stored artifact, or the durable committed offset
        to resume from."""
        if session.outcome is not None:
            return session.outcome
        loop = asyncio.get_running_loop()
        committed = await loop.run_in_executor(None, self.blobs.flush, session.sha256)
        return UploadOutcome(session.declared, committed, already_existed=False)

    async def status(self, digest: digest_pb2.Digest) -> UploadStatus:
        """GetArtifactUploadStatus / GetBlobUploadStatus: the durable committed offset of an
        unfinished upload, or the size of a stored artifact; ARTIFACT_NOT_FOUND without
        either."""
        sha256 = check_digest(digest)
        stored = self.stored(sha256)
        if stored is not None:
            return UploadStatus(stored, stored.size_bytes)
        declared = self._declared(sha256)
        if declared is None:
            raise _not_found(sha256)
        loop = asyncio.get_running_loop()
        committed = await loop.run_in_executor(None, self.blobs.flush, sha256)
        return UploadStatus(declared, committed)

    # --- completion -------------------------------------------------------------------------

    async def _complete(self, session: UploadSession) -> None:
        """Verify a fully committed upload (under its lock) and make it readable; DATA_LOSS
        [DIGEST_MISMATCH] with the bytes discarded when they do not hash to the digest."""
        loop = asyncio.get_running_loop()
        sha256 = session.sha256
        hashed = self._hashes.pop(sha256, None)
        if hashed is not None and hashed[0] == session.size:
            actual = hashed[1].hexdigest()
        else:  # bytes from before a restart: hash the file
            actual = await loop.run_in_executor(None, sha256_of_file, self.blobs.staged(sha256))
        if actual != sha256:
            self._discard(sha256)
            raise _digest_mismatch(
                f"the {session.size} bytes hash to sha256 {actual}, not {sha256}; "
                "the upload is discarded"
            )
        await loop.run_in_executor(None, self.blobs.flush, sha256)
        await loop.run_in_executor(None, self.blobs.adopt, self.blobs.staged(sha256), sha256)
        stored = self.stored(sha256)
        assert stored is not None
        session.outcome = UploadOutcome(stored, stored.size_bytes, already_existed=False)

    def _discard(self, sha256: str) -> None:
        """Drop an unfinished upload: its bytes, its declared descriptor, its hash state."""
        self._forget(sha256)
        self.blobs.discard(sha256)
        self._descriptor_path(sha256).unlink(missing_ok=True)

    def _forget(self, sha256: str) -> None:
        self._hashes.pop(sha256, None)

    def adopt_file(self, path: Path, descriptor: artifact_pb2.ArtifactDescriptor) -> None:
        """Store the file at `path`, already verified against `descriptor`'s SHA-256 and on
        the store's file system, as that artifact; the file is moved (blocking: call it from
        a thread)."""
        sha256 = descriptor.digest.hex
        self._declare(sha256, descriptor)
        self.blobs.adopt(path, sha256)

    # --- declared descriptors ---------------------------------------------------------------

    def _descriptor_path(self, sha256: str) -> Path:
        return self._descriptors / sha256

    def _declared(self, sha256: str) -> artifact_pb2.ArtifactDescriptor | None:
        try:
            data = self._descriptor_path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        return artifact_pb2.ArtifactDescriptor.FromString(data)

    def _declare(self, sha256: str, descriptor: artifact_pb2.ArtifactDescriptor) -> None:
        """Write the declared descriptor durably (a status after a crash reports it) and
        atomically (a reader never sees half of it)."""
        target = self._descriptor_path(sha256)
        temporary = target.with_suffix(".partial")
        with temporary.open("wb") as sink:
            sink.write(descriptor.SerializeToString())
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, target)
