"""What the registry's jobs share (spec/registry.md "Conversion" and "Import"): their
collections under models on the one job runner, their request ids, and the versions they
register from bytes the server holds already. The bytes, written to an upload staging file,
become a content-addressed blob exactly as a verified upload does (one blob per SHA-256, an
existing one kept and shared), and the version is created READY in one transaction, with
VERSION_CREATED then VERSION_READY."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import digest_pb2
from lepton_server.aip import request_ids
from lepton_server.aip.jobs.collection import JobCollection
from lepton_server.aip.jobs.runner import JobRunner, Work
from lepton_server.aip.labels import check_labels
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.standard_fields import MAX_DESCRIPTION, check_text, not_found
from lepton_server.registry import model_names
from lepton_server.registry.archives import ArchiveError, list_archive
from lepton_server.registry.blob_store import BlobStore, sha256_of_file
from lepton_server.registry.events import EventLog
from lepton_server.registry.records import READY, Records
from lepton_server.registry.version_checks import ARCHIVE_MEDIA_TYPE, check_new_version
from lepton_server.registry.versions import Versions
from lepton_server.runtime.errors import invalid_argument
from lepton_server.runtime.principals import current_principal


class Registrations:
    """Job collections, staging files for jobs' outputs, and the READY versions made of them."""

    def __init__(
        self,
        records: Records,
        events: EventLog,
        blobs: BlobStore,
        versions: Versions,
        *,
        runner: JobRunner,
        tokens: PageTokens,
    ) -> None:
        self.records = records
        self.events = events
        self.blobs = blobs
        self.versions = versions
        self.runner = runner
        self.tokens = tokens
        self.request_ids = request_ids.StoredRequestIds(records.store)

    def collection(self, kind: str) -> JobCollection:
        """Get, List, Cancel and Watch of the jobs `models/{model}/{kind}/{job}`."""
        return JobCollection(
            self.runner,
            kind,
            self.tokens,
            parent_pattern=model_names.MODEL,
            check_parent=lambda parent: self.records.model_row(parent, "parent"),
        )

    def create_job(
        self,
        jobs: JobCollection,
        method: str,
        request: Any,
        given: Any,
        *,
        field: str,
        id_field: str,
        outputs: tuple[str, ...],
        work: Work,
        **resolved: str,
    ) -> Message:
        """The job of a Create `request` whose own checks passed: the description and labels
        of the version it will register checked (on `field`), once per request id, with the
        caller as its `creator` and the `resolved` fields set."""
        check_text(given.description, f"{field}.description", MAX_DESCRIPTION)
        check_labels(given.labels, f"{field}.labels")
        request_ids.check_request_id(request.request_id)
        return jobs.create(
            self.request_ids,
            method,
            request,
            given,
            id_field=id_field,
            outputs=outputs,
            work=work,
            creator=current_principal(),
            **resolved,
        )

    def staging_key(self) -> str:
        """A new staging file name for a job's output (removed at start if a crash left it)."""
        return f"job-{uuid.uuid4().hex}"

    def staged(self, key: str) -> Path:
        return self.blobs.staged(key)

    def discard(self, key: str) -> None:
        self.blobs.discard(key)

    async def register(
        self, model_id: str, model_uid: str, key: str, version: mv.ModelVersion
    ) -> mv.ModelVersion:
        """Make the staging file `key` the artifact of a new READY version of the model
        `model_id` (the instance `model_uid`: one deleted and created again meanwhile is NOT
        FOUND). `version` gives everything but the descriptor's size and digest, which come
        from the bytes, and the server-set fields. Raises what CreateModelVersion would for
        the version (REG-013), INVALID_ARCHIVE for an archive breaking the archive rules."""
        loop = asyncio.get_running_loop()
        path = self.staged(key)
        sha256 = await loop.run_in_executor(None, sha256_of_file, path)
        descriptor = version.artifact.descriptor
        descriptor.size_bytes = path.stat().st_size
        descriptor.digest.CopyFrom(
            digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=sha256)
        )
        check_new_version(version, self.versions.max_artifact_bytes)
        files: list[mv.ArtifactFile] = []
        if descriptor.media_type == ARCHIVE_MEDIA_TYPE:
            try:
                files = await loop.run_in_executor(None, _list_files, path, version)
            except ArchiveError as error:
                raise invalid_argument(
                    "INVALID_ARCHIVE", "artifact.entry_path", str(error)
                ) from None
        await loop.run_in_executor(None, self.blobs.adopt, path, sha256)
        parent = model_names.model_name(model_id)
        try:
            with self.events.committing():
                model = self.records.model_of(model_id, parent)
                if model.uid != model_uid:
                    raise not_found(parent)
                version.state = READY
                version.files.extend(files)
                number = self.versions.add(model, version)
                version.ready_time.CopyFrom(version.create_time)
                self.records.save_version(model, number, version)
                self.events.record(
                    ev.MODEL_EVENT_TYPE_VERSION_READY, parent, model_version=version.name
                )
        except BaseException:
            # The blob stays only while a version holds it (as after a deleted version).
            if not self.records.store.blob_users(sha256, READY):
                self.blobs.delete(sha256)
            raise
        return self.records.version_message(model, self.records.store.version(model.uid, number))


def _list_files(path: Path, version: mv.ModelVersion) -> list[mv.ArtifactFile]:
    with path.open("rb") as source:
        return list_archive(source, version.artifact.entry_path, version.artifact.format)
