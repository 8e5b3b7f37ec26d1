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
from lepton_server.aip.artifact_chunks import (
    ByteRange,
    byte_range,
    check_range_fields,
    read_chunks,
)
from lepton_server.registry import model_names
from lepton_server.registry.archives import file_ranges
from lepton_server.registry.blob_store import BlobStore
from lepton_server.registry.records import READY, Records, not_ready
from lepton_server.runtime.errors import invalid_field

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
        check_range_fields(request.offset, request.length_bytes, request.chunk_size_bytes)
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
        span = byte_range(
            request.offset, request.length_bytes, request.chunk_size_bytes, descriptor.size_bytes
        )
        return self._responses(
            descriptor, row.sha256, span.offset, span.end, path=path, chunk=span.chunk
        )

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
        try:
            chunks = read_chunks(
                lambda length, at: blob.read_at(length, base + at), ByteRange(offset, end, chunk)
            )
            async for piece in chunks:
                yield pb.DownloadModelVersionArtifactResponse(chunk=piece)
        finally:
            blob.close()

    def _read_file_ranges(self, sha256: str) -> dict[str, tuple[int, int]]:
        with self.blobs.open(sha256) as blob:
            return file_ranges(blob)
