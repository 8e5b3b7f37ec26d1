"""The data layer's services built from their parts: the catalog over its metadata store and
version storage, the job runner, import/export jobs, pipeline runs, the optional Arrow
Flight endpoint, and the two gRPC services over them."""

from __future__ import annotations

from pyarrow import fs

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import processing_service_pb2 as processing_pb
from lepton.data.v1 import processing_service_pb2_grpc as processing_grpc
from lepton.data.v1.export_job_pb2 import ExportJob
from lepton.data.v1.import_job_pb2 import ImportJob
from lepton.data.v1.pipeline_run_pb2 import PipelineRun
from lepton_server.aip.jobs.metrics import job_metrics
from lepton_server.aip.jobs.runner import JobRunner
from lepton_server.aip.jobs.store import JobTable
from lepton_server.config import ServerConfig
from lepton_server.data.dataset_catalog import DatasetCatalog
from lepton_server.data.dataset_jobs import EXPORT, IMPORT, DatasetJobs
from lepton_server.data.flight import DatasetFlightServer
from lepton_server.data.layer import DataConfig
from lepton_server.data.metadata_store import MetadataStore
from lepton_server.data.processing import KIND as PIPELINE_RUNS
from lepton_server.data.processing import Processing
from lepton_server.data.processing_executors import open_executor
from lepton_server.data.processing_servicer import ProcessingServicer
from lepton_server.data.servicer import DatasetServicer
from lepton_server.data.storage_uris import StorageAccess
from lepton_server.data.storage_uris import features as storage_features
from lepton_server.data.version_storage import VersionStorage, open_version_storage
from lepton_server.runtime import process_services
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.method_handlers import method_handlers, mounter
from lepton_server.runtime.sealed_files import SealedFiles

SERVICE = pb.DESCRIPTOR.services_by_name["DatasetService"].full_name
# The bulk transfers, which the compiled front frames itself when it runs: proxied to
# grpc.aio they cross one more socket in small pieces (issue 14).
FAST_METHODS = ("WriteVersion", "ReadVersion")
PROCESSING_SERVICE = processing_pb.DESCRIPTOR.services_by_name["ProcessingService"].full_name


def build(server: ServerConfig, config: DataConfig) -> list[HostedService]:
    """Open the data directory's catalog, clean up after any crash, start the Flight
    endpoint when one is configured, describe the service."""
    root = server.data_dir / "data"
    if config.storage_uri is None:
        storage = VersionStorage(fs.LocalFileSystem(), str(root.resolve()))
    else:
        storage = open_version_storage(config.storage_uri)
    if server.encryption is not None:
        storage.sealed = SealedFiles(server.encryption, storage.filesystem)
    store = MetadataStore(root / "catalog.sqlite")
    catalog = DatasetCatalog(store, storage, max_message_bytes=server.max_message_bytes)
    catalog.collect_garbage()
    # Annotation export jobs commit through the catalog (spec/annotation.md §3.6).
    process_services.offer(server.data_dir, "data.catalog", catalog)
    runner = JobRunner(
        JobTable(root / "jobs.sqlite"),
        {IMPORT: ImportJob, EXPORT: ExportJob, PIPELINE_RUNS: PipelineRun},
    )
    runner.fail_interrupted(lambda kind, job: kind == IMPORT and _imported(catalog, job))
    jobs = DatasetJobs(
        catalog, runner, StorageAccess([server.data_dir / "files", *config.file_roots])
    )
    flight = None
    if config.flight_address is not None:
        flight = DatasetFlightServer(
            catalog,
            config.flight_address,
            server=server,
            shutdown_seconds=server.shutdown_grace_seconds,
        )
    servicer = DatasetServicer(catalog, jobs, flight)

    def close() -> None:
        if flight is not None:
            flight.close()  # first: its handlers use the catalog
        process_services.withdraw(server.data_dir, "data.catalog")
        store.close()

    processing = ProcessingServicer(Processing(catalog, runner, open_executor(config)))
    return [
        HostedService(
            PROCESSING_SERVICE,
            lambda server: processing_grpc.add_ProcessingServiceServicer_to_server(
                processing, server
            ),
            features=("data.processing",),
        ),
        HostedService(
            SERVICE,
            mounter(
                SERVICE,
                method_handlers(
                    pb.DESCRIPTOR.services_by_name["DatasetService"],
                    servicer,
                    preserialized={"ReadVersion"},
                ),
            ),
            metrics=job_metrics("data", runner, server.tenant),
            features=(
                "data.export",
                "data.import",
                *storage_features(),
                *(("data.flight",) if flight is not None else ()),
            ),
            close=close,
            fast_methods=FAST_METHODS,
            start=flight.start if flight is not None else None,
            endpoints=tuple(("flight", location) for location in flight.locations)
            if flight is not None
            else (),
        ),
    ]


def _imported(catalog: DatasetCatalog, job: ImportJob) -> bool:
    """Whether the import `job` committed its version before the server stopped: recorded
    on it if so."""
    version = catalog.version_made_by(job.name.rsplit("/importJobs/", 1)[0], job.name)
    if version is not None:
        job.output_version = version.name
    return version is not None
