"""The inference layer's services built from their parts: the engine over the model
repository, served under both the Lepton and the Open Inference Protocol service names."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc

from lepton_server.config import ServerConfig
from lepton_server.inference import wire
from lepton_server.inference.engine import EXTENSIONS, InferenceEngine
from lepton_server.inference.layer import InferenceConfig
from lepton_server.inference.model_repository import ModelRepository
from lepton_server.inference.registry_models import RegistryModels
from lepton_server.inference.servicer import (
    PRESERIALIZED,
    SERVICE,
    SERVICE_NAMES,
    InferenceServicer,
)
from lepton_server.runtime import process_services
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import LAYERS
from lepton_server.runtime.method_handlers import method_handlers, mounter


def build(server: ServerConfig, config: InferenceConfig) -> list[HostedService]:
    """Load the model repository, and follow a registry when there is one to serve; the same
    handlers serve under both service names."""
    repository = ModelRepository(config.model_repository)
    own_registry = "registry" in (server.services or LAYERS)
    follow: Callable[[asyncio.AbstractEventLoop, str], None] | None = None
    unfollow: Callable[[], None] | None = None
    if config.model_registry is not None or own_registry:
        # A token of this server's own list, for a registry that wants one (the same holds
        # for a remote registry behind the same tokens).
        token = min(server.auth_tokens) if server.auth_tokens else None
        registry = RegistryModels(
            server.data_dir / "inference" / "registry",
            token,
            # A replica that only serves a remote registry is ready once it has read it.
            gates_readiness=config.model_registry is not None,
        )
        repository.registry = registry
        unfollow = registry.close

        def follow(_loop: asyncio.AbstractEventLoop, address: str) -> None:
            if config.model_registry is not None:
                registry.start(config.model_registry)
            else:
                registry.start(address, _own_credentials(server))

    engine = InferenceEngine(repository, server.max_message_bytes)
    engine.start()
    # Annotation's prediction jobs call it in-process (no gRPC loopback under one GIL).
    process_services.offer(server.data_dir, "inference.engine", engine)
    handlers = method_handlers(
        SERVICE,
        InferenceServicer(engine),
        # The inference hot path encodes its own messages (wire.py); requests keep large raw
        # contents as views of the received bytes.
        preserialized=PRESERIALIZED,
        deserializers=dict.fromkeys(("ModelInfer", "ModelStreamInfer"), wire.parse_infer_request),
    )

    def close() -> None:
        process_services.withdraw(server.data_dir, "inference.engine")
        engine.close()

    lepton_name, oip_name = SERVICE_NAMES
    return [
        HostedService(
            lepton_name,
            mounter(lepton_name, handlers),
            EXTENSIONS,
            close=close,
            start=follow,
            stopping=unfollow,
        ),
        HostedService(oip_name, mounter(oip_name, handlers), EXTENSIONS, mirrors=lepton_name),
    ]


def _own_credentials(server: ServerConfig) -> grpc.ChannelCredentials | None:
    """How this server's inference layer reaches its own registry over TLS: trusting the
    server's own certificate, and presenting it when clients must (mutual TLS, which works
    when the client CA also signed the server's certificate)."""
    if server.tls is None:
        return None
    cert = server.tls.cert_file.read_bytes()
    mutual = server.tls.client_ca_file is not None
    return grpc.ssl_channel_credentials(
        root_certificates=cert,
        private_key=server.tls.key_file.read_bytes() if mutual else None,
        certificate_chain=cert if mutual else None,
    )
