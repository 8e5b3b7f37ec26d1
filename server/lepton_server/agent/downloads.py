"""Resumable artifact downloads with DeviceAgentService.ReadArtifact: one partial file per
digest that a broken download resumes at its stored length (EDG-094), size and SHA-256
verified before the file counts as downloaded, and after a mismatch one more download from
offset 0 before the attempt fails with DIGEST_MISMATCH (EDG-093). Network failures are
retried with backoff and never end a download."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc
from grpc import aio

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.type.v1 import artifact_pb2
from lepton_server.agent.backoff import Backoff

Metadata = Callable[[], Sequence[tuple[str, str]]]


class ArtifactNotFound(Exception):
    """The fleet answered NOT_FOUND for the artifact."""


class DigestMismatch(Exception):
    """The downloaded bytes differed from the descriptor twice."""


class Downloads:
    """Downloads under `directory`: `partial/<sha256>` while incomplete, `verified/<sha256>`
    once size and digest match."""

    def __init__(
        self,
        directory: Path,
        stub: agent_grpc.DeviceAgentServiceStub,
        metadata: Metadata = tuple,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.partial = directory / "partial"
        self.verified = directory / "verified"
        self.partial.mkdir(parents=True, exist_ok=True)
        self.verified.mkdir(parents=True, exist_ok=True)
        self.stub = stub
        self.metadata = metadata
        self.backoff = backoff

    def stored_bytes(self, descriptor: artifact_pb2.ArtifactDescriptor) -> int:
        """Bytes held for the artifact: all of it once verified, else the partial file's."""
        hex_digest = descriptor.digest.hex.lower()
        if (self.verified / hex_digest).exists():
            return descriptor.size_bytes
        partial = self.partial / hex_digest
        return partial.stat().st_size if partial.exists() else 0

    async def fetch(
        self,
        descriptor: artifact_pb2.ArtifactDescriptor,
        on_progress: Callable[[int], None] | None = None,
    ) -> Path:
        """The verified file of `descriptor`, downloading what is missing."""
        hex_digest = descriptor.digest.hex.lower()
        verified = self.verified / hex_digest
        if verified.exists():
            return verified
        partial = self.partial / hex_digest
        loop = asyncio.get_running_loop()
        for _ in range(2):
            await self._download(descriptor, partial, on_progress)
            if await loop.run_in_executor(None, _matches, partial, descriptor):
                os.replace(partial, verified)
                return verified
            # A mismatch discards the file; the next try starts from offset 0 (EDG-093).
            partial.unlink(missing_ok=True)
            if on_progress is not None:
                on_progress(0)
        raise DigestMismatch(f"artifact sha256:{hex_digest} did not match its descriptor twice")

    async def _download(
        self,
        descriptor: artifact_pb2.ArtifactDescriptor,
        partial: Path,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        """Append to `partial` until it holds `size_bytes` bytes or the fleet has no more."""
        backoff = self.backoff()
        while True:
            offset = _size(partial)
            if offset >= descriptor.size_bytes:
                return
            request = agent_pb.ReadArtifactRequest(
                digest=descriptor.digest,
                offset=offset,
                # Never more than the descriptor says: extra bytes could only fail the check.
                length_bytes=descriptor.size_bytes - offset,
            )
            written = 0
            try:
                with partial.open("ab") as out:
                    try:
                        call = self.stub.ReadArtifact(request, metadata=tuple(self.metadata()))
                        async for response in call:
                            if not response.HasField("chunk"):
                                continue
                            chunk = response.chunk
                            if chunk.offset != offset + written or not chunk.data:
                                break  # not contiguous: resume from what is stored
                            out.write(chunk.data)
                            written += len(chunk.data)
                            if on_progress is not None:
                                on_progress(offset + written)
                    finally:
                        out.flush()
                        os.fsync(out.fileno())
            except aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    raise ArtifactNotFound(error.details() or "artifact not found") from error
                await asyncio.sleep(backoff.next_delay())
                continue
            if written == 0:
                return  # the fleet has no more bytes: the check decides
            backoff.reset()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _matches(path: Path, descriptor: artifact_pb2.ArtifactDescriptor) -> bool:
    if not path.exists() or path.stat().st_size != descriptor.size_bytes:
        return False
    sha256 = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(1 << 20):
            sha256.update(block)
    return sha256.hexdigest() == descriptor.digest.hex.lower()
