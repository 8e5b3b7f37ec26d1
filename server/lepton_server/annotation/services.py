"""Annotation's service built from its parts: the metadata store in
`<data-dir>/annotation/annotation.sqlite`, and a client of the data layer that connects once
the server listens (to this server, unless --annotation-data-address names another)."""

from __future__ import annotations

import asyncio

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton_ai.data import DataManager
from lepton_server.aip.pagination import PageTokens
from lepton_server.annotation.acceptance import Acceptance
from lepton_server.annotation.agreement_report import AgreementReports
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.annotations import Annotations
from lepton_server.annotation.dataset_rows import DatasetRows
from lepton_server.annotation.layer import AnnotationConfig
from lepton_server.annotation.leases import Leases
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.reviews import Reviews
from lepton_server.annotation.servicer import AnnotationDomain, AnnotationServicer
from lepton_server.annotation.tasks import Tasks
from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_calls import client_options
from lepton_server.runtime.layer_registry import selected_layers
from lepton_server.runtime.startup_errors import StartupError

SERVICE = pb.DESCRIPTOR.services_by_name["AnnotationService"].full_name
FEATURES = ("data.annotation",)


def build(server: ServerConfig, config: AnnotationConfig) -> list[HostedService]:
    """Open the store and describe the service."""
    if config.data_address is None and "data" not in selected_layers(server):
        raise StartupError(
            "the annotation layer labels dataset versions: host the data layer beside it "
            "(--services data,annotation) or name one with --annotation-data-address"
        )
    store = AnnotationStore(server.data_dir / "annotation" / "annotation.sqlite")
    tokens = PageTokens()
    rows = DatasetRows()
    projects = Projects(store, rows, tokens)
    tasks = Tasks(store, projects, rows, tokens)
    annotations = Annotations(store, projects, tasks, tokens)
    domain = AnnotationDomain(
        projects=projects,
        tasks=tasks,
        annotations=annotations,
        acceptance=Acceptance(store, annotations),
        leases=Leases(store, projects, tasks),
        reviews=Reviews(store, annotations, tokens, credentials_required=bool(server.auth_tokens)),
        agreement=AgreementReports(store, projects, tasks),
    )
    servicer = AnnotationServicer(domain)

    def start(loop: asyncio.AbstractEventLoop, address: str) -> None:
        target = config.data_address or address
        rows.data = DataManager.connect(target, **client_options(server, target == address))

    def close() -> None:
        if rows.data is not None:
            rows.data.close()
        store.close()

    return [
        HostedService(
            SERVICE,
            lambda grpc_server: pb_grpc.add_AnnotationServiceServicer_to_server(
                servicer, grpc_server
            ),
            features=FEATURES,
            start=start,
            close=close,
        )
    ]
