"""Artifact uploads (spec/registry.md "Upload and download protocol", REG-019 to REG-027,
GEN-082): a header, then chunks at the committed offset, each appended to the version's staging
file as it arrives and flushed to disk before any offset is reported, so a broken stream
resumes where GetModelVersionUploadStatus says; a newer stream for a version takes over and the
older one fails with ABORTED [UPLOAD_SUPERSEDED] at its next message. When the last byte is
committed the sha256 (and for archives the archive rules) are verified and the version becomes
READY, or FAILED_REGISTRATION with its staged bytes discarded.

Dedupe: when the store already holds a blob with the declared sha256 and size (uploaded for
any version), the header is answered at once: committed_offset = size and the version READY,
with no chunk sent and no byte moved or copied; the version shares the blob."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import grpc

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import artifact_pb2, error_pb2, model_artifact_pb2
from lepton_server.aip.artifact_chunks import MAX_CHUNK_BYTES
from lepton_server.aip.standard_fields import now_ns, timestamp
from lepton_server.registry import model_names
from lepton_server.registry.archives import ArchiveError, list_archive
from lepton_server.registry.blob_store import BlobStore, sha256_of_file
from lepton_server.registry.events import EventLog
from lepton_server.registry.format_checks import FormatMismatchError, check_content
from lepton_server.registry.model_names import VersionRef
from lepton_server.registry.records import FAILED, PENDING, READY, Records
from lepton_server.registry.version_checks import ARCHIVE_MEDIA_TYPE
from lepton_server.runtime.errors import (
    Aborted,
    DataLoss,
    FailedPrecondition,
    LeptonError,
    OutOfRange,
    invalid_argument,
    invalid_field,
)


def staging_key(model_uid: str, number: int) -> str:
    """The name of a version's upload staging file."""
    return f"{model_uid}-{number}"


@dataclass(eq=False)
class UploadSession:
    """One upload stream that passed its header and owns its version's staging file."""

    ref: VersionRef
    key: str
    size: int
    sha256: str
    result: pb.UploadModelVersionArtifactResponse | None = field(default=None)


class Uploads:
    """Upload streams, upload status, and the end of a version's bytes."""

    def __init__(self, records: Records, events: EventLog, blobs: BlobStore) -> None:
        self.records = records
        self.store = records.store
        self.events = events
        self.blobs = blobs
        self._owners: dict[str, UploadSession] = {}
        self._finishing: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # The sha256 state of each staging file's first bytes, (offset, hash), so the last
        # chunk is verified without reading the artifact again.
        self._hashes: dict[str, tuple[int, Any]] = {}

    async def begin(self, header: pb.ModelVersionUploadHeader) -> UploadSession:
        """Check a header (REG-019, REG-025) and take the version over from any older stream
        (REG-026). The session's `result` is set when the upload is already complete."""
        ref = model_names.parse_version(header.model_version, "header.model_version")
        if not header.HasField("artifact"):
            raise invalid_field("header.artifact", "the header restates the artifact descriptor")
        model, row = self.records.resolve(ref)
        key = staging_key(model.uid, row.number)
        if key in self._finishing:
            # Another stream is verifying the last byte: answer after it, as it ended.
            with contextlib.suppress(LeptonError):
                await asyncio.shield(self._finishing[key])
            model, row = self.records.resolve(ref)
        version = self.records.stored_version(row)
        declared = version.artifact.descriptor
        if row.state == FAILED:
            raise FailedPrecondition(
                reason="VERSION_NOT_PENDING",
                message=f"{ref.name} failed registration; create a new version",
                metadata={"resource_name": ref.name},
            )
        given = header.artifact
        if given.size_bytes != declared.size_bytes or given.digest != declared.digest:
            raise FailedPrecondition(
                reason="ARTIFACT_DESCRIPTOR_MISMATCH",
                message="the header's size or digest differs from the version's artifact",
            )
        session = UploadSession(ref, key, declared.size_bytes, declared.digest.hex)
        if row.state == READY:
            session.result = self._response(declared.size_bytes, ref)
            return session
        self._owners[key] = session
        # After any append in flight, which the older stream made before this one took over.
        async with self._locks.setdefault(key, asyncio.Lock()):
            stored = self.blobs.has(session.sha256, session.size)
            if stored:
                # Dedupe: the bytes are in the store already; nothing is sent or copied.
                self.blobs.discard(key)
            complete = stored or self.blobs.committed(key) == session.size
        if complete:
            # Verified now: a stored blob, or every byte committed before a crash or a broken
            # stream but never verified.
            await self._finish(session, staged=not stored)
        return session

    async def write(self, session: UploadSession, chunk: artifact_pb2.ArtifactChunk) -> None:
        """Commit one chunk (REG-019, REG-020); at the last byte, verify (REG-023, REG-024)."""
        # One write of a version at a time: the offset checked is the one appended at.
        async with self._locks.setdefault(session.key, asyncio.Lock()):
            committed = await self._append(session, chunk)
        if committed == session.size:
            await self._finish(session, staged=True)

    async def _append(self, session: UploadSession, chunk: artifact_pb2.ArtifactChunk) -> int:
        """Append the chunk off the event loop, hashing it meanwhile; the new committed
        offset."""
        _, row = self.records.resolve(session.ref)  # NOT_FOUND once the version is deleted
        self._check_owner(session)
        # Read once: upb copies a bytes field at every access, and a 3 MiB copy costs more
        # than the write it feeds.
        data = chunk.data
        size = len(data)
        if size == 0 or size > MAX_CHUNK_BYTES:
            raise invalid_field(
                "chunk.data", f"a chunk carries 1 to {MAX_CHUNK_BYTES} bytes, not {size}"
            )
        if row.state != PENDING:
            raise FailedPrecondition(
                reason="VERSION_NOT_PENDING",
                message=f"{session.ref.name} is no longer pending",
                metadata={"resource_name": session.ref.name},
            )
        committed = self.blobs.committed(session.key)
        if chunk.offset != committed:
            committed = await self._flush(session.key)
            raise OutOfRange(
                reason="OFFSET_OUT_OF_RANGE",
                message=f"the chunk starts at {chunk.offset}; the upload resumes at {committed}",
                metadata={"committed_offset": str(committed)},
            )
        if committed + size > session.size:
            self._fail(session, DataLoss, "DIGEST_MISMATCH", "bytes beyond the declared size")
        hashed = self._hashes.pop(session.key, None)
        digest = hashed[1] if hashed is not None and hashed[0] == committed else None
        if digest is None and committed == 0:
            digest = hashlib.sha256()
        # Write and hash at once, on two executor threads: both release the GIL.
        loop = asyncio.get_running_loop()
        writing = loop.run_in_executor(None, self.blobs.append, session.key, data)
        if digest is not None:
            await loop.run_in_executor(None, digest.update, data)
        appended = await writing
        if digest is not None:
            self._hashes[session.key] = (appended, digest)
        return appended

    async def close(self, session: UploadSession) -> pb.UploadModelVersionArtifactResponse:
        """The answer to a half-close before the last byte (REG-021)."""
        if session.result is not None:
            return session.result
        self._check_owner(session)
        return self._response(await self._flush(session.key), session.ref)

    async def status(self, name: str) -> pb.GetModelVersionUploadStatusResponse:
        ref = model_names.parse_version(name, "name")
        model, row = self.records.resolve(ref)
        version = self.records.stored_version(row)
        size = version.artifact.descriptor.size_bytes
        if row.state == PENDING:
            committed = await self._flush(staging_key(model.uid, row.number))
        else:
            committed = size if row.state == READY else 0
        return pb.GetModelVersionUploadStatusResponse(
            state=row.state, committed_offset=committed, artifact=version.artifact.descriptor
        )

    async def _flush(self, key: str) -> int:
        """The committed offset of staging file `key`, flushed to disk first: only durable
        bytes are reported (GEN-082)."""
        return await asyncio.get_running_loop().run_in_executor(None, self.blobs.flush, key)

    def release(self, model_uid: str, number: int, sha256: str) -> None:
        """After a version's deletion: an open upload stops, its staging file goes, and its
        blob when no READY version holds it any more."""
        key = staging_key(model_uid, number)
        self._forget(key)
        self.blobs.discard(key)
        if sha256 and not self.store.blob_users(sha256, READY):
            self.blobs.delete(sha256)

    def collect_garbage(self) -> None:
        """At start: remove staging files of versions no longer pending, and blobs no READY or
        PENDING version refers to (left by a crash, or by a deletion that failed)."""
        rows = self.store.versions()
        pending = {staging_key(r.model_uid, r.number) for r in rows if r.state == PENDING}
        referenced = {r.sha256 for r in rows if r.state != FAILED}
        self.blobs.collect_garbage(pending, referenced)

    # --- completion -------------------------------------------------------------------------

    async def _finish(self, session: UploadSession, *, staged: bool) -> None:
        # Verification runs once, to its end, even if the stream that started it breaks; a
        # stream that reaches the end meanwhile waits for it.
        task = self._finishing.get(session.key)
        if task is None:
            task = asyncio.ensure_future(self._verify(session, staged=staged))
            self._finishing[session.key] = task
            task.add_done_callback(lambda _: self._finishing.pop(session.key, None))
        await asyncio.shield(task)
        session.result = self._response(session.size, session.ref)

    async def _verify(self, session: UploadSession, *, staged: bool) -> None:
        loop = asyncio.get_running_loop()
        _, row = self.records.resolve(session.ref)
        if row.state != PENDING:
            return  # concluded by another stream
        artifact = self.records.stored_version(row).artifact
        path = self.blobs.staged(session.key)
        if staged:
            hashed = self._hashes.pop(session.key, None)
            if hashed is not None and hashed[0] == session.size:
                digest = hashed[1].hexdigest()
            else:  # bytes from before a restart: hash the file
                digest = await loop.run_in_executor(None, sha256_of_file, path)
            if digest != session.sha256:
                self._fail(
                    session, DataLoss, "DIGEST_MISMATCH", "the bytes do not hash to the digest"
                )
        files: list[mv.ArtifactFile] = []
        if artifact.descriptor.media_type == ARCHIVE_MEDIA_TYPE:
            try:
                files = await loop.run_in_executor(None, self._list_files, session, artifact)
            except ArchiveError as exc:
                self._fail(session, None, "INVALID_ARCHIVE", str(exc))
        try:
            await loop.run_in_executor(None, self._check_content, session, artifact, files)
        except FormatMismatchError as exc:
            self._fail(session, None, "FORMAT_MISMATCH", str(exc))
        if staged:
            await self._flush(session.key)
            await loop.run_in_executor(None, self.blobs.adopt, path, session.sha256)
        self._ready(session, files)

    def _list_files(
        self, session: UploadSession, artifact: model_artifact_pb2.ModelArtifact
    ) -> list[mv.ArtifactFile]:
        """The archive's files."""
        with self._content(session) as source:
            return list_archive(source, artifact.entry_path, artifact.format)

    def _check_content(
        self,
        session: UploadSession,
        artifact: model_artifact_pb2.ModelArtifact,
        files: list[mv.ArtifactFile],
    ) -> None:
        """REG-028: the content against its declared format (also for a dedupe, whose bytes
        may have been registered before under another format)."""
        with self._content(session) as source:
            check_content(source, session.size, artifact, files)

    def _content(self, session: UploadSession) -> BinaryIO:
        """The version's bytes: the staging file or, for a dedupe, the shared blob."""
        staged = self.blobs.staged(session.key)
        return staged.open("rb") if staged.exists() else self.blobs.open(session.sha256)

    def _ready(self, session: UploadSession, files: list[mv.ArtifactFile]) -> None:
        ready = mv.ModelVersion(state=READY, files=files)
        self._conclude(session, ready, ev.MODEL_EVENT_TYPE_VERSION_READY)

    def _fail(
        self, session: UploadSession, error: type[LeptonError] | None, reason: str, why: str
    ) -> None:
        """Make the version FAILED_REGISTRATION with `reason`, discard its bytes, and raise
        the call's error (INVALID_ARGUMENT naming the artifact when `error` is None)."""
        code = grpc.StatusCode.DATA_LOSS if error is DataLoss else grpc.StatusCode.INVALID_ARGUMENT
        self._failed(session, code, reason, why)
        if error is None:
            raise invalid_argument(reason, "header.artifact", why)
        raise error(reason=reason, message=why)

    def expire(
        self, ref: VersionRef, model_uid: str, artifact: artifact_pb2.ArtifactDescriptor
    ) -> None:
        """Give up a pending upload: FAILED_REGISTRATION with UPLOAD_EXPIRED (REG-029)."""
        key = staging_key(model_uid, ref.number or 0)
        session = UploadSession(ref, key, artifact.size_bytes, artifact.digest.hex)
        why = "the upload was not completed before upload_expire_time"
        self._failed(session, grpc.StatusCode.DEADLINE_EXCEEDED, "UPLOAD_EXPIRED", why)

    def _failed(self, session: UploadSession, code: grpc.StatusCode, reason: str, why: str) -> None:
        failure = error_pb2.ErrorStatus(
            code=code.value[0], reason=reason, domain="lepton.ai", message=why
        )
        failed = mv.ModelVersion(state=FAILED, registration_error=failure)
        self._conclude(session, failed, ev.MODEL_EVENT_TYPE_VERSION_FAILED)
        self.blobs.discard(session.key)

    def _conclude(self, session: UploadSession, outcome: mv.ModelVersion, event: int) -> None:
        """Merge the registration's `outcome` (state, files or error) into the version, with
        its update time (and ready time), and emit `event`; the upload has no owner after."""
        with self.events.committing():
            model, row = self.records.resolve(session.ref)
            version = self.records.stored_version(row)
            now = timestamp(now_ns())
            version.MergeFrom(outcome)
            version.update_time.CopyFrom(now)
            if outcome.state == READY:
                version.ready_time.CopyFrom(now)
            self.records.save_version(model, row.number, version)
            self.events.record(
                event, model_names.model_name(model.id), model_version=session.ref.name
            )
        self._forget(session.key)

    def _forget(self, key: str) -> None:
        """Drop what the server keeps in memory about the upload of `key`."""
        self._owners.pop(key, None)
        self._hashes.pop(key, None)
        self._locks.pop(key, None)

    def _check_owner(self, session: UploadSession) -> None:
        if self._owners.get(session.key) is not session:
            raise Aborted(
                reason="UPLOAD_SUPERSEDED",
                message=f"a newer upload stream of {session.ref.name} took over",
            )

    def _response(self, committed: int, ref: VersionRef) -> pb.UploadModelVersionArtifactResponse:
        return pb.UploadModelVersionArtifactResponse(
            committed_offset=committed,
            model_version=self.records.version_message(*self.records.resolve(ref)),
        )
