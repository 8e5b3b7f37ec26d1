"""The inference layer: an Open Inference Protocol server over onnxruntime."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from grpc import aio

from lepton_server.config import ServerConfig
from lepton_server.hosted_service import HostedService
from lepton_server.inference.engine import EXTENSIONS, InferenceEngine
from lepton_server.inference.model_repository import ModelRepository
from lepton_server.inference.servicer import SERVICE_NAMES, InferenceServicer, method_handlers


def build(config: ServerConfig) -> list[HostedService]:
    """Load the model repository; the same handlers serve under both service names."""
    engine = InferenceEngine(ModelRepository(config.model_repository), config.max_message_bytes)
    engine.start()
    handlers = method_handlers(InferenceServicer(engine))

    def mounter(name: str) -> Callable[[aio.Server], None]:
        def register(server: aio.Server) -> None:
            # Registered methods are matched by the gRPC core, without a Python lookup per call.
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
            server.add_registered_method_handlers(name, handlers)

        return register

    lepton_name, oip_name = SERVICE_NAMES
    return [
        HostedService(lepton_name, mounter(lepton_name), EXTENSIONS, close=engine.close),
        HostedService(oip_name, mounter(oip_name), EXTENSIONS, mirrors=lepton_name),
    ]
