"""The inference layer's services built from their parts: the engine over the model
repository, served under both the Lepton and the Open Inference Protocol service names."""

from __future__ import annotations

from lepton_server.config import ServerConfig
from lepton_server.inference import wire
from lepton_server.inference.engine import EXTENSIONS, InferenceEngine
from lepton_server.inference.layer import InferenceConfig
from lepton_server.inference.model_repository import ModelRepository
from lepton_server.inference.servicer import (
    PRESERIALIZED,
    SERVICE,
    SERVICE_NAMES,
    InferenceServicer,
)
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.method_handlers import method_handlers, mounter


def build(server: ServerConfig, config: InferenceConfig) -> list[HostedService]:
    """Load the model repository; the same handlers serve under both service names."""
    engine = InferenceEngine(ModelRepository(config.model_repository), server.max_message_bytes)
    engine.start()
    handlers = method_handlers(
        SERVICE,
        InferenceServicer(engine),
        # The inference hot path encodes its own messages (wire.py); requests keep large raw
        # contents as views of the received bytes.
        preserialized=PRESERIALIZED,
        deserializers=dict.fromkeys(("ModelInfer", "ModelStreamInfer"), wire.parse_infer_request),
    )

    lepton_name, oip_name = SERVICE_NAMES
    return [
        HostedService(lepton_name, mounter(lepton_name, handlers), EXTENSIONS, close=engine.close),
        HostedService(oip_name, mounter(oip_name, handlers), EXTENSIONS, mirrors=lepton_name),
    ]
