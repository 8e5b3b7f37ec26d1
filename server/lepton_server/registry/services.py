"""The registry's service built from its parts: the metadata store and event log in
`<data-dir>/registry/registry.sqlite`, the blob store, and the domain objects under one
servicer."""

from __future__ import annotations

import shutil

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.registry.v1.conversion_job_pb2 import ConversionJob
from lepton.registry.v1.model_import_job_pb2 import ModelImportJob
from lepton_server.aip.jobs.metrics import job_metrics
from lepton_server.aip.jobs.runner import JobRunner
from lepton_server.aip.jobs.store import JobTable
from lepton_server.aip.pagination import PageTokens
from lepton_server.config import ServerConfig
from lepton_server.registry import conversion_jobs, model_import_jobs
from lepton_server.registry.aliases import Aliases
from lepton_server.registry.blob_store import open_blob_store
from lepton_server.registry.conversion_jobs import ConversionJobs
from lepton_server.registry.downloads import Downloads
from lepton_server.registry.events import EventLog, Retention
from lepton_server.registry.layer import RegistryConfig
from lepton_server.registry.model_import_jobs import ModelImportJobs
from lepton_server.registry.models import Models
from lepton_server.registry.records import Records
from lepton_server.registry.registrations import Registrations
from lepton_server.registry.registry_store import RegistryStore
from lepton_server.registry.servicer import ModelRegistryServicer
from lepton_server.registry.upload_expiry import UploadExpiry
from lepton_server.registry.uploads import Uploads
from lepton_server.registry.version_attestations import VersionAttestations
from lepton_server.registry.versions import Versions
from lepton_server.runtime.file_roots import FileRoots
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.sealed_files import SealedFiles

SERVICE = pb.DESCRIPTOR.services_by_name["ModelRegistryService"].full_name
WATCH = "registry.watch"
# Implemented always: content checks of declared formats (REG-028), conversion to ONNX
# (REG-051) and import of model files (REG-053).
ALWAYS_FEATURES = ("registry.format_validation", "registry.conversion", "registry.import")


def build(server: ServerConfig, config: RegistryConfig) -> list[HostedService]:
    """Open the registry's store and blobs and describe the service."""
    root = server.data_dir / "registry"
    store = RegistryStore(root / "registry.sqlite")
    blobs = open_blob_store(config.storage_uri, server.data_dir)
    if server.encryption is not None:
        blobs.sealed = SealedFiles(server.encryption, blobs.filesystem)
    events = EventLog(
        store,
        Retention(config.event_retention_count, config.event_retention_seconds),
        enabled=config.watch,
        keepalive_seconds=config.watch_keepalive_seconds,
    )
    records = Records(store)
    tokens = PageTokens()
    uploads = Uploads(records, events, blobs)
    uploads.collect_garbage()
    expiry = UploadExpiry(records, uploads, blobs, config.upload_expiry_seconds)
    records.upload_expiry = expiry.expire_time_ns
    expiry.sweep()  # what expired while the server was down
    models = Models(records, events, tokens)
    versions = Versions(records, events, tokens, max_artifact_bytes=config.max_artifact_bytes)
    models.release = versions.release = uploads.release
    runner = JobRunner(
        JobTable(root / "jobs.sqlite"),
        {conversion_jobs.KIND: ConversionJob, model_import_jobs.KIND: ModelImportJob},
    )
    runner.fail_interrupted()
    registrations = Registrations(records, events, blobs, versions, runner=runner, tokens=tokens)
    scratch = root / "imports"
    # Copies of remote sources whose job a stop interrupted.
    shutil.rmtree(scratch, ignore_errors=True)
    conversions = ConversionJobs(records, blobs, registrations, trust_pickle=config.trust_pickle)
    imports = ModelImportJobs(
        records,
        registrations,
        file_roots=FileRoots([server.data_dir / "files", *config.file_roots]),
        scratch=scratch,
    )
    models.on_delete = lambda model: _forget_jobs(runner, model)
    servicer = ModelRegistryServicer(
        models=models,
        versions=versions,
        aliases=Aliases(records, events),
        uploads=uploads,
        downloads=Downloads(records, blobs),
        events=events,
        attestations=VersionAttestations(records, events),
        conversions=conversions,
        imports=imports,
    )
    return [
        HostedService(
            SERVICE,
            lambda grpc_server: pb_grpc.add_ModelRegistryServiceServicer_to_server(
                servicer, grpc_server
            ),
            features=((WATCH,) if config.watch else ()) + ALWAYS_FEATURES,
            metrics=job_metrics("registry", runner, server.tenant),
            start=expiry.start,
            close=lambda: (expiry.close(), store.close()),
        )
    ]


def _forget_jobs(runner: JobRunner, model: str) -> None:
    """The jobs of a deleted model go with it, except while one still runs: it ends by
    itself (NOT_FOUND when it would register), and the model's jobs stay listed meanwhile."""
    for kind in (conversion_jobs.KIND, model_import_jobs.KIND):
        if not runner.running_under(f"{model}/{kind}"):
            runner.forget(f"{model}/{kind}")
