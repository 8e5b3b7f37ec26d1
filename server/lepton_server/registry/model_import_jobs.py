"""Import jobs, `models/{model}/importJobs/{job}` (feature "registry.import", REG-053, REG-054),
on the shared JobRunner and read through a JobCollection.

Creation checks the source URI (`import_sources.check_source`: a `file://` path inside the
server's file roots, or a pyarrow.fs URI without user information or query) and the job's
fields. The job reads a remote source into a scratch directory first, decides the version
with `model_imports.describe_import`, writes the artifact (the file, or `pack_directory` of a
directory) to a staging file and registers it READY with `lineage.source_uri` set to the URI;
an MLflow directory brings its framework and signature."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from lepton.registry.v1 import model_import_job_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import artifact_pb2, model_artifact_pb2, model_format_pb2
from lepton_server.aip.jobs.runner import Cancelled, JobHandle
from lepton_server.registry import import_sources, model_formats
from lepton_server.registry.import_sources import ImportSource
from lepton_server.registry.records import Records
from lepton_server.registry.registrations import Registrations
from lepton_server.registry.version_checks import entry_path_ok
from lepton_server.runtime.errors import invalid_field
from lepton_server.runtime.file_roots import FileRoots

if TYPE_CHECKING:
    from lepton_server.registry.model_imports import ImportedModel

ModelFormat = model_format_pb2.ModelFormat
KIND = "importJobs"
FIELD = "model_import_job"
OUTPUTS = ("status", "output_model_version", "detected_format")


class ModelImportJobs:
    """Creates import jobs; `jobs` gets, lists, cancels and watches them. Remote sources are
    copied under `scratch` while their job runs."""

    def __init__(
        self,
        records: Records,
        registrations: Registrations,
        *,
        file_roots: FileRoots,
        scratch: Path,
    ) -> None:
        self.records = records
        self.registrations = registrations
        self.file_roots = file_roots
        self.scratch = scratch
        self.jobs = registrations.collection(KIND)

    def create(
        self, request: pb.CreateModelImportJobRequest
    ) -> model_import_job_pb2.ModelImportJob:
        model = self.records.model_row(request.parent, "parent")
        given = request.model_import_job
        source = import_sources.check_source(
            given.source_uri, self.file_roots, f"{FIELD}.source_uri"
        )
        if given.format not in ModelFormat.values():
            raise invalid_field(f"{FIELD}.format", "a ModelFormat value")
        if given.entry_path and not entry_path_ok(given.entry_path):
            raise invalid_field(
                f"{FIELD}.entry_path", "must be relative, with '/' separators and no '..'"
            )
        return self.registrations.create_job(
            self.jobs,
            "CreateModelImportJob",
            request,
            given,
            field=FIELD,
            id_field="import_job_id",
            outputs=OUTPUTS,
            work=lambda handle: self._run(handle, model.id, model.uid, source),
        )

    async def _run(
        self, handle: JobHandle, model_id: str, model_uid: str, source: ImportSource
    ) -> None:
        # Loaded when a job runs: MLflow signatures bring the inference layer's tensor types.
        from lepton_server.registry.model_imports import describe_import  # noqa: PLC0415

        job: model_import_job_pb2.ModelImportJob = handle.job
        scratch = self.scratch / uuid.uuid4().hex
        key = self.registrations.staging_key()
        try:
            if source.local is None:
                path = await asyncio.to_thread(import_sources.fetch, source, scratch)
            else:
                path = import_sources.local_path(source)
            if handle.stopping:
                raise Cancelled
            imported: ImportedModel = await asyncio.to_thread(
                describe_import, path, job.format, job.entry_path
            )
            total = await asyncio.to_thread(_size, path)
            handle.progress(0, total, "bytes")
            staged = self.registrations.staged(key)
            await asyncio.to_thread(_stage, path, imported.archive, staged)
            handle.progress(total, total, "bytes")
            if handle.stopping:
                raise Cancelled
            version = mv.ModelVersion(
                description=job.description,
                labels=job.labels,
                artifact=model_artifact_pb2.ModelArtifact(
                    descriptor=artifact_pb2.ArtifactDescriptor(media_type=imported.media_type),
                    format=imported.model_format,
                    entry_path=imported.entry_path,
                ),
                framework=imported.framework,
                framework_version=imported.framework_version,
                lineage=mv.ModelLineage(source_uri=source.uri),
                creator=job.creator,
            )
            if imported.signature is not None:
                version.signature.CopyFrom(imported.signature)
            with handle.committing():
                registered = await self.registrations.register(model_id, model_uid, key, version)
        finally:
            self.registrations.discard(key)
            shutil.rmtree(scratch, ignore_errors=True)
        handle.update(
            lambda j: (
                setattr(j, "output_model_version", registered.name),
                setattr(j, "detected_format", imported.model_format),
            )
        )


def _size(path: Path) -> int:
    """The bytes of a file, or of every regular file below a directory."""
    if not path.is_dir():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _stage(path: Path, archive: bool, staged: Path) -> None:
    """The artifact's bytes in the staging file: the directory as a tar archive, or the file."""
    if archive:
        with staged.open("wb") as destination:
            model_formats.pack_directory(path, destination)
    else:
        shutil.copyfile(path, staged)
