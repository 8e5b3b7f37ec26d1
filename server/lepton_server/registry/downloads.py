"""Artifact downloads (REG-030 to REG-032, REG-057, GEN-080, GEN-081): the descriptor, then
contiguous non-empty chunks of at most the effective chunk size from any offset, so a broken
download resumes at the bytes already received. One file of an archive is the contiguous range
of the tar that holds its bytes, found from the tar's headers."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.type.v1 import artifact_pb2
from lepton_server.registry import model_names
from lepton_server.registry.archives import file_ranges
from lepton_server.registry.blob_store import BlobStore
from lepton_server.registry.records import READY, Records, not_ready
from lepton_server.registry.uploads import MAX_CHUNK_BYTES
from lepton_server.runtime.errors import OutOfRange, invalid_field

DEFAULT_CHUNK_BYTES = 1024 * 1024


READ_AHEAD_CHUNKS = 8
# Archives whose file ranges are remembered: a blob never changes, so neither do they.
RANGE_CACHE_ARCHIVES = 64


class Downloads:
    """DownloadModelVersionArtifact."""

    def __init__(self, records: Records, blobs: BlobStore) -> None:
        self.records = records
        self.blobs = blobs
        self._file_ranges = functools.lru_cache(maxsize=RANGE_CACHE_ARCHIVES)(
            self._read_file_ranges
        )

    def stream(
        self, request: pb.DownloadModelVersionArtifactRequest
    ) -> AsyncIterator[pb.DownloadModelVersionArtifactResponse]:
        """Check the request now (errors before any message), then the responses."""
        ref = model_names.parse_version(request.name, "name", alias_allowed=True)
        for field in ("offset", "length_bytes", "chunk_size_bytes"):
            if getattr(request, field) < 0:
                raise invalid_field(field, "must not be negative")
        _, row = self.records.resolve(ref)
        if row.state != READY:
            raise not_ready(request.name)
        version = self.records.stored_version(row)
        descriptor = version.artifact.descriptor
        path = request.file_path
        if path:
            listed = next((file for file in version.files if file.path == path), None)
            if listed is None:
                raise invalid_field("file_path", f"{path!r} is not a file of {request.name}")
            descriptor = artifact_pb2.ArtifactDescriptor(
                size_bytes=listed.size_bytes, digest=listed.digest
            )
        if request.offset > descriptor.size_bytes:
            raise OutOfRange(
                reason="OFFSET_OUT_OF_RANGE",
                message=f"offset {request.offset} is past the artifact's "
                f"{descriptor.size_bytes} bytes",
            )
        end = descriptor.size_bytes
        if request.length_bytes:
            end = min(end, request.offset + request.length_bytes)
        chunk = min(request.chunk_size_bytes or DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES)
        return self._responses(descriptor, row.sha256, request.offset, end, path=path, chunk=chunk)

    async def _responses(
        self,
        descriptor: artifact_pb2.ArtifactDescriptor,
        sha256: str,
        offset: int,
        end: int,
        *,
        path: str,
        chunk: int,
    ) -> AsyncIterator[pb.DownloadModelVersionArtifactResponse]:
        yield pb.DownloadModelVersionArtifactResponse(artifact=descriptor)
        if offset >= end:
            return
        loop = asyncio.get_running_loop()
        # Where the requested bytes start in the blob: 0, or where the file lies in the tar.
        base = (await loop.run_in_executor(None, self._file_ranges, sha256))[path][0] if path else 0
        blob = self.blobs.open(sha256)
        # Read several chunks per trip to the executor: the hop, not the disk, is what a
        # chunk-sized read costs.
        block = chunk * READ_AHEAD_CHUNKS
        try:
            while offset < end:
                data = await loop.run_in_executor(
                    None, blob.read_at, min(block, end - offset), base + offset
                )
                if not data:
                    break
                for start in range(0, len(data), chunk):
                    piece = data[start : start + chunk]
                    yield pb.DownloadModelVersionArtifactResponse(
                        chunk=artifact_pb2.ArtifactChunk(offset=offset + start, data=piece)
                    )
                offset += len(data)
        finally:
            blob.close()

    def _read_file_ranges(self, sha256: str) -> dict[str, tuple[int, int]]:
        with self.blobs.open(sha256) as blob:
            return file_ranges(blob)
