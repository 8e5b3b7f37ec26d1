"""The byte ranges of download RPCs (GEN-080, GEN-081) and the chunks that cover them."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lepton_server.aip.artifact_chunks import (
    DEFAULT_CHUNK_BYTES,
    MAX_CHUNK_BYTES,
    ByteRange,
    byte_range,
    read_chunks,
)
from lepton_server.runtime.errors import InvalidArgument, OutOfRange


def test_the_range_runs_to_the_end_unless_a_length_stops_it_first():
    assert byte_range(0, 0, 0, 10) == ByteRange(0, 10, DEFAULT_CHUNK_BYTES)
    assert byte_range(3, 4, 2, 10) == ByteRange(3, 7, 2)
    assert byte_range(8, 100, 2, 10) == ByteRange(8, 10, 2)
    assert byte_range(10, 0, 0, 10) == ByteRange(10, 10, DEFAULT_CHUNK_BYTES)
    assert byte_range(0, 0, 64 * 1024 * 1024, 10).chunk == MAX_CHUNK_BYTES == 3 * 1024 * 1024


def test_an_offset_past_the_end_is_out_of_range_and_negatives_are_invalid():
    with pytest.raises(OutOfRange) as past:
        byte_range(11, 0, 0, 10)
    assert past.value.reason == "OFFSET_OUT_OF_RANGE"
    for arguments, field in (
        ((-1, 0, 0), "offset"),
        ((0, -1, 0), "length_bytes"),
        ((0, 0, -1), "chunk_size_bytes"),
    ):
        with pytest.raises(InvalidArgument) as negative:
            byte_range(*arguments, 10)
        assert negative.value.reason == "INVALID_FIELD"
        assert [v.field for v in negative.value.violations] == [field]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(0, 5000),
    offset=st.integers(0, 5000),
    length=st.integers(0, 6000),
    chunk=st.integers(1, 700),
)
def test_chunks_are_contiguous_non_empty_and_cover_the_range(size, offset, length, chunk):
    assume(offset <= size)
    content = bytes(i % 251 for i in range(size))
    span = byte_range(offset, length, chunk, size)

    def read(count: int, at: int) -> bytes:
        return content[at : at + count]

    async def collect():
        return [(c.offset, c.data) async for c in read_chunks(read, span)]

    chunks = asyncio.run(collect())
    position = span.offset
    for at, data in chunks:
        assert at == position and 0 < len(data) <= chunk
        position += len(data)
    assert position == span.end
    assert b"".join(data for _, data in chunks) == content[span.offset : span.end]
