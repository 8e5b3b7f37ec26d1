"""Chunked artifact transfers (GEN-080, GEN-081): the chunk size limit uploads and downloads
share, and the byte ranges every download RPC serves: negative `offset`,
`length_bytes` or `chunk_size_bytes` are INVALID_FIELD, an offset past the artifact's size is
OUT_OF_RANGE [OFFSET_OUT_OF_RANGE], the chunk size is the server's choice when 0 and never
above 3 MiB, and the bytes go out as contiguous non-empty chunks from the offset, read off the
event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from lepton.type.v1 import artifact_pb2
from lepton_server.runtime.errors import OutOfRange, invalid_field

# GEN-081: every chunk fits the 4 MiB default receive limit of gRPC clients.
MAX_CHUNK_BYTES = 3 * 1024 * 1024
DEFAULT_CHUNK_BYTES = 1024 * 1024
# Chunks read per trip to the executor: the hop, not the disk, is what a chunk-sized read costs.
READ_AHEAD_CHUNKS = 8


@dataclass(frozen=True)
class ByteRange:
    """The bytes [offset, end) of an artifact, sent in chunks of at most `chunk` bytes."""

    offset: int
    end: int
    chunk: int


def check_range_fields(offset: int, length_bytes: int, chunk_size_bytes: int) -> None:
    """INVALID_FIELD for a negative `offset`, `length_bytes` or `chunk_size_bytes`; checked
    before the artifact is looked up, so a malformed request fails the same way whatever
    it names."""
    for field, value in (
        ("offset", offset),
        ("length_bytes", length_bytes),
        ("chunk_size_bytes", chunk_size_bytes),
    ):
        if value < 0:
            raise invalid_field(field, "must not be negative")


def byte_range(offset: int, length_bytes: int, chunk_size_bytes: int, size: int) -> ByteRange:
    """The range a download of an artifact of `size` bytes serves (GEN-080, GEN-081): to the
    end when `length_bytes` is 0 or fewer bytes remain; OFFSET_OUT_OF_RANGE past the end."""
    check_range_fields(offset, length_bytes, chunk_size_bytes)
    if offset > size:
        raise OutOfRange(
            reason="OFFSET_OUT_OF_RANGE",
            message=f"offset {offset} is past the artifact's {size} bytes",
        )
    end = min(size, offset + length_bytes) if length_bytes else size
    return ByteRange(offset, end, min(chunk_size_bytes or DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES))


async def read_chunks(
    read: Callable[[int, int], bytes], span: ByteRange
) -> AsyncIterator[artifact_pb2.ArtifactChunk]:
    """The chunks of `span`; `read(length, position)` returns up to `length` bytes at
    `position` and runs in the executor, several chunks at a time. Ends early, without an
    empty chunk, if the content is shorter than the range."""
    loop = asyncio.get_running_loop()
    block = span.chunk * READ_AHEAD_CHUNKS
    offset = span.offset
    while offset < span.end:
        data = await loop.run_in_executor(None, read, min(block, span.end - offset), offset)
        if not data:
            return
        for start in range(0, len(data), span.chunk):
            yield artifact_pb2.ArtifactChunk(
                offset=offset + start, data=data[start : start + span.chunk]
            )
        offset += len(data)
