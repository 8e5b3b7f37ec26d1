"""Annotation's service built from its parts: the metadata store in
`<data-dir>/annotation/annotation.sqlite`, and a client of the data layer that connects once
the server listens (to this server, unless --annotation-data-address names another)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton.data.v1.annotation_export_job_pb2 import AnnotationExportJob
from lepton.data.v1.prediction_job_pb2 import PredictionJob
from lepton_ai.data import DataManager
from lepton_server.aip.filtering.fields import EQUALITY, FieldType, FilterField
from lepton_server.aip.jobs.collection import JobCollection
from lepton_server.aip.jobs.metrics import job_metrics
from lepton_server.aip.jobs.runner import JobRunner
from lepton_server.aip.jobs.store import JobTable
from lepton_server.aip.pagination import PageTokens
from lepton_server.annotation.acceptance import Acceptance
from lepton_server.annotation.agreement_report import AgreementReports
from lepton_server.annotation.annotation_exports import KIND as EXPORT_KIND
from lepton_server.annotation.annotation_exports import AnnotationExports
from lepton_server.annotation.annotation_imports import AnnotationImports
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.annotations import Annotations
from lepton_server.annotation.dataset_rows import DatasetRows
from lepton_server.annotation.inference_calls import InferenceModels
from lepton_server.annotation.layer import AnnotationConfig
from lepton_server.annotation.leases import Leases
from lepton_server.annotation.prediction_jobs import KIND, PredictionJobs
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.reviews import Reviews
from lepton_server.annotation.servicer import AnnotationDomain, AnnotationServicer
from lepton_server.annotation.tasks import Tasks
from lepton_server.config import ServerConfig
from lepton_server.runtime import process_services
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_calls import client_options
from lepton_server.runtime.layer_registry import selected_layers
from lepton_server.runtime.startup_errors import StartupError

SERVICE = pb.DESCRIPTOR.services_by_name["AnnotationService"].full_name
FEATURES = ("data.annotation",)
PREDICTION_FEATURE = "data.annotation.prediction_jobs"
EXPORT_FEATURE = "data.annotation.export_jobs"


def _channel(server: ServerConfig, target: str, own: bool) -> tuple[grpc.Channel, tuple]:
    """A channel to an inference service, with this server's token and CA when it is this
    server (runtime/layer_calls.py)."""
    options = client_options(server, own)
    metadata = (("authorization", f"Bearer {options['token']}"),) if options.get("token") else ()
    if options.get("ca"):
        credentials = grpc.ssl_channel_credentials(Path(options["ca"]).read_bytes())
        return grpc.secure_channel(target, credentials), metadata
    return grpc.insecure_channel(target), metadata


def build(server: ServerConfig, config: AnnotationConfig) -> list[HostedService]:
    """Open the store and describe the service."""
    if config.data_address is None and "data" not in selected_layers(server):
        raise StartupError(
            "the annotation layer labels dataset versions: host the data layer beside it "
            "(--services data,annotation) or name one with --annotation-data-address"
        )
    root = server.data_dir / "annotation"
    store = AnnotationStore(root / "annotation.sqlite")
    tokens = PageTokens()
    rows = DatasetRows()
    projects = Projects(store, rows, tokens)
    tasks = Tasks(store, projects, rows, tokens)
    annotations = Annotations(store, projects, tasks, tokens)
    models = InferenceModels()
    runner = JobRunner(
        JobTable(root / "jobs.sqlite"), {KIND: PredictionJob, EXPORT_KIND: AnnotationExportJob}
    )
    runner.fail_interrupted(
        lambda kind, job: kind == EXPORT_KIND and _exported(server.data_dir, job)
    )

    def jobs(kind: str, *fields: FilterField) -> JobCollection:
        return JobCollection(
            runner,
            kind,
            tokens,
            parent_pattern=("annotationProjects",),
            extra_fields=fields,
            orderable=("status.create_time",),
            check_parent=lambda parent: projects.stored(parent, "parent"),
        )

    predicts = config.inference_address is not None or "inference" in selected_layers(server)
    # The commit of an export needs the data layer's catalog in this process.
    exports = config.data_address is None
    kinds = (KIND, EXPORT_KIND)
    projects.in_use = lambda name: any(runner.running_under(f"{name}/{k}") for k in kinds)
    projects.on_delete = lambda name: [runner.forget(f"{name}/{k}") for k in kinds]
    domain = AnnotationDomain(
        projects=projects,
        tasks=tasks,
        annotations=annotations,
        acceptance=Acceptance(store, annotations),
        leases=Leases(store, projects, tasks),
        reviews=Reviews(store, annotations, tokens, credentials_required=bool(server.auth_tokens)),
        agreement=AgreementReports(store, projects, tasks),
        imports=AnnotationImports(store, tasks=tasks, annotations=annotations, rows=rows),
        predictions=PredictionJobs(
            store,
            projects=projects,
            tasks=tasks,
            rows=rows,
            models=models,
            collection=jobs(KIND, FilterField("inference_model", FieldType.STRING, EQUALITY)),
        )
        if predicts
        else None,
        exports=AnnotationExports(
            store,
            projects=projects,
            rows=rows,
            collection=jobs(
                EXPORT_KIND,
                FilterField("destination_dataset", FieldType.RESOURCE_NAME, frozenset({"="})),
                FilterField("output_version", FieldType.RESOURCE_NAME, frozenset({"="})),
            ),
            catalog=lambda: process_services.find(server.data_dir, "data.catalog"),
        )
        if exports
        else None,
    )
    servicer = AnnotationServicer(domain)

    def start(loop: asyncio.AbstractEventLoop, address: str) -> None:
        target = config.data_address or address
        rows.data = DataManager.connect(target, **client_options(server, target == address))
        engine = process_services.find(server.data_dir, "inference.engine")
        if predicts and config.inference_address is None and engine is not None:
            models.engine, models.loop = engine, loop
        elif predicts:
            inference = config.inference_address or address
            models.channel, models.metadata_pairs = _channel(
                server, inference, inference == address
            )

    def close() -> None:
        if rows.data is not None:
            rows.data.close()
        models.close()
        store.close()

    return [
        HostedService(
            SERVICE,
            lambda grpc_server: pb_grpc.add_AnnotationServiceServicer_to_server(
                servicer, grpc_server
            ),
            features=FEATURES
            + ((PREDICTION_FEATURE,) if predicts else ())
            + ((EXPORT_FEATURE,) if exports else ()),
            metrics=job_metrics("annotation", runner, server.tenant),
            start=start,
            close=close,
        )
    ]


def _exported(data_dir: Path, job: AnnotationExportJob) -> bool:
    """Whether the export `job` committed its version before the server stopped: recorded
    on it if so (with the data layer's catalog in this process)."""
    catalog = process_services.find(data_dir, "data.catalog")
    version = (
        None if catalog is None else catalog.version_made_by(job.destination_dataset, job.name)
    )
    if version is not None:
        job.output_version = version.name
        job.written_row_count = version.row_count
    return version is not None
