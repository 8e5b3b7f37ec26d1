"""The registry's service built from its parts: the metadata store and event log in
`<data-dir>/registry/registry.sqlite`, the blob store, and the domain objects under one
servicer."""

from __future__ import annotations

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton_server.aip.pagination import PageTokens
from lepton_server.config import ServerConfig
from lepton_server.registry.aliases import Aliases
from lepton_server.registry.blob_store import open_blob_store
from lepton_server.registry.downloads import Downloads
from lepton_server.registry.events import EventLog, Retention
from lepton_server.registry.layer import RegistryConfig
from lepton_server.registry.models import Models
from lepton_server.registry.records import Records
from lepton_server.registry.registry_store import RegistryStore
from lepton_server.registry.servicer import ModelRegistryServicer
from lepton_server.registry.upload_expiry import UploadExpiry
from lepton_server.registry.uploads import Uploads
from lepton_server.registry.versions import Versions
from lepton_server.runtime.hosted_service import HostedService

SERVICE = pb.DESCRIPTOR.services_by_name["ModelRegistryService"].full_name
WATCH = "registry.watch"


def build(server: ServerConfig, config: RegistryConfig) -> list[HostedService]:
    """Open the registry's store and blobs and describe the service."""
    root = server.data_dir / "registry"
    store = RegistryStore(root / "registry.sqlite")
    blobs = open_blob_store(config.storage_uri, server.data_dir)
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
    servicer = ModelRegistryServicer(
        models=models,
        versions=versions,
        aliases=Aliases(records, events),
        uploads=uploads,
        downloads=Downloads(records, blobs),
        events=events,
    )
    return [
        HostedService(
            SERVICE,
            lambda grpc_server: pb_grpc.add_ModelRegistryServiceServicer_to_server(
                servicer, grpc_server
            ),
            features=(WATCH,) if config.watch else (),
            start=expiry.start,
            close=lambda: (expiry.close(), store.close()),
        )
    ]
