"""Training blobs: a file stored as it is, a directory as a deterministic tar, one blob per
digest, and downloads under the range rules of GEN-080 and GEN-081."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tarfile

import pytest

from lepton.type.v1 import digest_pb2
from lepton_server.aip.artifact_chunks import MAX_CHUNK_BYTES
from lepton_server.runtime.errors import InvalidArgument, OutOfRange
from lepton_server.training.training_blobs import TrainingBlobs

MIB = 1024 * 1024


def _tree(root, stamp: int):
    (root / "sub").mkdir(parents=True)
    (root / "b.txt").write_bytes(b"bee")
    (root / "a.bin").write_bytes(b"\x00\x01" * 1000)
    (root / "sub" / "c").write_text("sea")
    for path in (root / "b.txt", root / "a.bin", root / "sub" / "c", root / "sub"):
        os.utime(path, (stamp, stamp))
    return root


def _collect(chunks) -> list[tuple[int, bytes]]:
    """(offset, data) of each chunk: plain values out of the event loop, since asyncio may
    repr a task's result and the text form of megabytes of chunks takes seconds."""

    async def gather():
        return [(chunk.offset, chunk.data) async for chunk in chunks]

    return asyncio.run(gather())


def test_a_file_is_stored_as_it_is(tmp_path):
    blobs = TrainingBlobs(tmp_path / "blobs")
    source = tmp_path / "state.bin"
    source.write_bytes(b"12")
    descriptor, key = blobs.put(source)
    assert descriptor.size_bytes == 2
    assert descriptor.digest.algorithm == digest_pb2.DIGEST_ALGORITHM_SHA256
    assert descriptor.digest.hex == hashlib.sha256(b"12").hexdigest() == key
    assert descriptor.media_type == "application/octet-stream"
    assert blobs.path(key).read_bytes() == b"12"
    assert blobs.put(source, media_type="application/onnx")[0].media_type == "application/onnx"


def test_a_directory_is_a_deterministic_tar(tmp_path):
    blobs = TrainingBlobs(tmp_path / "blobs")
    first, first_key = blobs.put(_tree(tmp_path / "one", 1_000_000))
    second, second_key = blobs.put(_tree(tmp_path / "two", 2_000_000))
    assert first == second and first_key == second_key
    assert first.media_type == "application/x-tar"
    data = blobs.path(first_key).read_bytes()
    assert len(data) == first.size_bytes and hashlib.sha256(data).hexdigest() == first_key
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == ["a.bin", "b.txt", "sub", "sub/c"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
        assert archive.extractfile("sub/c").read() == b"sea"


def test_the_same_bytes_are_one_blob_and_delete_removes_it(tmp_path):
    root = tmp_path / "blobs"
    blobs = TrainingBlobs(root)
    for name in ("x", "y"):
        (tmp_path / name).write_bytes(b"same")
    _, key = blobs.put(tmp_path / "x")
    assert blobs.put(tmp_path / "y")[1] == key
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == [key]
    assert not any((root / ".staging").iterdir())
    blobs.delete(key)
    blobs.delete(key)
    assert not blobs.exists(key)


def test_downloads_follow_the_range_rules(tmp_path):
    blobs = TrainingBlobs(tmp_path / "blobs")
    data = os.urandom(7 * MIB + 5)
    (tmp_path / "big").write_bytes(data)
    descriptor, key = blobs.put(tmp_path / "big")

    def fetch(offset=0, length=0, chunk=0) -> tuple[list[tuple[int, int]], str]:
        """(offset, size) of each chunk, and the SHA-256 of their bytes."""
        chunks = _collect(blobs.download(key, descriptor, offset, length, chunk))
        body = b"".join(data for _, data in chunks)
        return [(at, len(data)) for at, data in chunks], hashlib.sha256(body).hexdigest()

    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    spans, digest = fetch()
    assert digest == descriptor.digest.hex == sha256(data)
    assert spans == [(i * MIB, MIB) for i in range(7)] + [(7 * MIB, 5)]
    spans, digest = fetch(MIB + 7, 2500, 1000)
    assert spans == [(MIB + 7, 1000), (MIB + 1007, 1000), (MIB + 2007, 500)]
    assert digest == sha256(data[MIB + 7 : MIB + 2507])
    spans, digest = fetch(MIB, 0, 64 * MIB)
    assert spans == [(MIB, MAX_CHUNK_BYTES), (4 * MIB, MAX_CHUNK_BYTES), (7 * MIB, 5)]
    assert digest == sha256(data[MIB:])
    assert fetch(len(data))[0] == []
    spans, digest = fetch(len(data) - 3, 100)
    assert spans == [(len(data) - 3, 3)] and digest == sha256(data[-3:])
    with pytest.raises(OutOfRange) as past:
        blobs.download(key, descriptor, len(data) + 1, 0, 0)
    assert past.value.reason == "OFFSET_OUT_OF_RANGE"
    # Every range rule is the shared one (tests/server/aip/test_artifact_chunks.py); it is
    # checked when the download is asked for, before any chunk.
    with pytest.raises(InvalidArgument) as negative:
        blobs.download(key, descriptor, 0, -1, 0)
    assert [v.field for v in negative.value.violations] == ["length_bytes"]
