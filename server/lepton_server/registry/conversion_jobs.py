"""Conversion jobs, `models/{model}/conversionJobs/{job}` (feature "registry.conversion",
REG-051, REG-052), on the shared JobRunner and read through a JobCollection.

Creation checks the job's fields and resolves the source once (an alias included) to a READY
version of the job's model. The job reads the source's artifact from the blob store (for an
MLflow model, the native model file its MLmodel names), converts it with
`conversion.convert_job`, and registers the ONNX model as a new READY version of the same
model whose parent is the source and whose signature is the source's. A conversion outside
the tolerance fails with CONVERSION_NOT_EQUIVALENT, keeps its report, and registers nothing.
PICKLE sources (also inside MLflow models) load only on a server started with
`--registry-trust-pickle`; elsewhere they fail with CONVERSION_UNSUPPORTED."""

from __future__ import annotations

import asyncio
import functools
import io
import posixpath
import tarfile

from lepton.registry.v1 import conversion_job_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import artifact_pb2, model_artifact_pb2, model_format_pb2
from lepton_server.aip.jobs.runner import Cancelled, JobHandle
from lepton_server.aip.standard_fields import not_found
from lepton_server.registry import model_names
from lepton_server.registry.blob_store import BlobStore
from lepton_server.registry.model_formats import MLMODEL, ONNX_MEDIA_TYPE
from lepton_server.registry.model_names import VersionRef
from lepton_server.registry.records import READY, Records, not_ready
from lepton_server.registry.registrations import Registrations
from lepton_server.runtime.errors import FailedPrecondition, LeptonError, invalid_field

ModelFormat = model_format_pb2.ModelFormat
KIND = "conversionJobs"
FIELD = "conversion_job"
OUTPUTS = ("status", "resolved_source_model_version", "output_model_version", "equivalence")
STEPS = 3  # progress: the source read, converted and compared, registered


class ConversionJobs:
    """Creates conversion jobs; `jobs` gets, lists, cancels and watches them."""

    def __init__(
        self,
        records: Records,
        blobs: BlobStore,
        registrations: Registrations,
        *,
        trust_pickle: bool,
    ) -> None:
        self.records = records
        self.blobs = blobs
        self.registrations = registrations
        self.trust_pickle = trust_pickle
        self.jobs = registrations.collection(KIND)

    def create(self, request: pb.CreateConversionJobRequest) -> conversion_job_pb2.ConversionJob:
        from lepton_server.registry import conversion  # noqa: PLC0415 (onnxruntime: on first use)

        model = self.records.model_row(request.parent, "parent")
        given = request.conversion_job
        conversion.check_conversion_job(given, FIELD)
        field = f"{FIELD}.source_model_version"
        ref = model_names.parse_version(given.source_model_version, field, alias_allowed=True)
        if ref.model_id != model.id:
            raise invalid_field(field, f"not a version of {request.parent}")
        _, row = self.records.resolve(ref)
        if row.state != READY:
            raise not_ready(ref.name)
        return self.registrations.create_job(
            self.jobs,
            "CreateConversionJob",
            request,
            given,
            field=FIELD,
            id_field="conversion_job_id",
            outputs=OUTPUTS,
            work=lambda handle: self._run(handle, model.id, model.uid, row.number),
            # Resolved now: an alias moving later changes nothing.
            resolved_source_model_version=model_names.version_name(model.id, row.number),
        )

    async def _run(self, handle: JobHandle, model_id: str, model_uid: str, number: int) -> None:
        from lepton_server.registry import conversion  # noqa: PLC0415

        job: conversion_job_pb2.ConversionJob = handle.job
        model, row = self.records.resolve(VersionRef(model_id, number=number))
        if model.uid != model_uid:
            raise not_found(job.resolved_source_model_version)
        source = self.records.stored_version(row)
        handle.progress(0, STEPS, "steps")
        data, model_format = await asyncio.to_thread(self._native_model, source)
        handle.progress(1, STEPS, "steps")
        if handle.stopping:
            raise Cancelled
        convert = functools.partial(
            conversion.convert_job,
            data,
            model_format,
            source.signature,
            job,
            trust_pickle=self.trust_pickle,
        )
        try:
            result = await asyncio.to_thread(convert)
        except conversion.ConversionNotEquivalent as error:
            report = error.report
            handle.update(lambda j: j.equivalence.CopyFrom(report))  # REG-052: kept
            raise
        handle.progress(2, STEPS, "steps")
        if handle.stopping:
            raise Cancelled
        version = mv.ModelVersion(
            description=job.description,
            labels=job.labels,
            artifact=model_artifact_pb2.ModelArtifact(
                descriptor=artifact_pb2.ArtifactDescriptor(media_type=ONNX_MEDIA_TYPE),
                format=ModelFormat.MODEL_FORMAT_ONNX,
            ),
            format_version=result.format_version,
            framework=source.framework,
            framework_version=source.framework_version,
            lineage=mv.ModelLineage(parent_model_version=job.resolved_source_model_version),
            creator=job.creator,
        )
        if source.HasField("signature"):
            version.signature.CopyFrom(source.signature)
        key = self.registrations.staging_key()
        try:
            await asyncio.to_thread(self.registrations.staged(key).write_bytes, result.onnx_model)
            with handle.committing():
                registered = await self.registrations.register(model_id, model_uid, key, version)
        finally:
            self.registrations.discard(key)
        handle.update(
            lambda j: (
                setattr(j, "output_model_version", registered.name),
                j.equivalence.CopyFrom(result.report),
            )
        )
        handle.progress(STEPS, STEPS, "steps")

    def _native_model(self, source: mv.ModelVersion) -> tuple[bytes, int]:
        """The bytes a converter reads and their format: the artifact itself, or for an MLflow
        model the file of its native flavor."""
        with self.blobs.open(source.artifact.descriptor.digest.hex) as blob:
            data = blob.read()
        if source.artifact.format != ModelFormat.MODEL_FORMAT_MLFLOW:
            return data, source.artifact.format
        return mlflow_native_model(data, source.artifact.entry_path)


def mlflow_native_model(archive: bytes, entry_path: str) -> tuple[bytes, int]:
    """The native model file of an MLflow model archive and its format, as its MLmodel names
    them; CONVERSION_UNSUPPORTED when there is none the server can read."""
    # Loaded when a job runs: signatures bring the inference layer's tensor types.
    from lepton_server.registry import mlflow_models  # noqa: PLC0415
    from lepton_server.registry.native_models import unsupported  # noqa: PLC0415

    base = posixpath.dirname(entry_path or MLMODEL)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            mlflow = mlflow_models.parse_mlmodel(_member(tar, entry_path or MLMODEL))
            if mlflow.model_path is None:
                raise unsupported(f"no converter reads the MLflow flavor {mlflow.framework!r}")
            path = posixpath.normpath(posixpath.join(base, mlflow.model_path))
            return _member(tar, path), mlflow.model_format
    except FailedPrecondition:
        raise
    except (LeptonError, tarfile.TarError, KeyError, OSError) as error:
        raise unsupported(f"the MLflow model cannot be read: {error}") from error


def _member(tar: tarfile.TarFile, path: str) -> bytes:
    member = tar.extractfile(path)
    if member is None:
        raise KeyError(f"{path} is not a regular file of the archive")
    return member.read()
