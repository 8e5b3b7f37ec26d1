"""Resumable, verified artifact downloads (EDG-093, EDG-094)."""

from __future__ import annotations

import asyncio
import os

import pytest
from grpc import aio

from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton_server.agent.backoff import Backoff
from lepton_server.agent.downloads import ArtifactNotFound, DigestMismatch, Downloads


def fetch(server, directory, descriptor, progress=None):
    async def run():
        async with aio.insecure_channel(server.address) as channel:
            downloads = Downloads(
                directory,
                agent_grpc.DeviceAgentServiceStub(channel),
                backoff=lambda: Backoff(initial=0.01),
            )
            return await downloads.fetch(descriptor, progress)

    return asyncio.run(run())


def test_a_broken_download_resumes_at_the_stored_bytes(artifact_server, tmp_path):
    """EDG-094: after the stream breaks, ReadArtifact resumes at the stored length."""
    data = os.urandom(10_000)
    described = artifact_server.add(data)
    artifact_server.cut_after = 4000
    seen: list[int] = []
    path = fetch(artifact_server, tmp_path, described, seen.append)
    assert path.read_bytes() == data
    assert [r.offset for r in artifact_server.requests] == [0, 4000]
    assert seen[-1] == 10_000
    assert not (tmp_path / "partial" / described.digest.hex).exists()
    # Verified once, it is not fetched again.
    fetch(artifact_server, tmp_path, described)
    assert len(artifact_server.requests) == 2


def test_a_partial_file_from_an_earlier_run_is_continued(artifact_server, tmp_path):
    """EDG-094: the partial file of a digest, e.g. left by a killed agent, is where the
    download continues."""
    data = os.urandom(5000)
    described = artifact_server.add(data)
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / described.digest.hex).write_bytes(data[:1234])
    assert fetch(artifact_server, tmp_path, described).read_bytes() == data
    assert [r.offset for r in artifact_server.requests] == [1234]


def test_a_digest_mismatch_downloads_once_more_from_zero_then_fails(artifact_server, tmp_path):
    """EDG-093: bytes that do not match are discarded, fetched again from offset 0, and a
    second mismatch is DIGEST_MISMATCH with nothing kept."""
    data = os.urandom(3000)
    described = artifact_server.add(data, content=os.urandom(3000))
    with pytest.raises(DigestMismatch):
        fetch(artifact_server, tmp_path, described)
    assert [r.offset for r in artifact_server.requests] == [0, 0]
    assert not any((tmp_path / "partial").iterdir())
    assert not any((tmp_path / "verified").iterdir())


def test_an_unknown_artifact_is_not_found(artifact_server, tmp_path):
    described = artifact_server.add(b"x")
    artifact_server.blobs.clear()
    with pytest.raises(ArtifactNotFound):
        fetch(artifact_server, tmp_path, described)
