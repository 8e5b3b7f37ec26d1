"""What the general cases probe a target with (spec/general.md): the methods of every layer
that need a token or page a list, the health stub, the hosted Lepton services and raw calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2_grpc

from lepton.data.v1 import annotation_service_pb2 as annotation_pb
from lepton.data.v1 import dataset_service_pb2 as dataset_pb
from lepton.data.v1 import processing_service_pb2 as processing_pb
from lepton.edge.v1 import edge_service_pb2 as edge_pb
from lepton.inference.v1 import inference_service_pb2 as inference_pb
from lepton.registry.v1 import model_registry_service_pb2 as registry_pb
from lepton.training.v1 import training_service_pb2 as training_pb
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.target import DISCOVERY_SERVICE

UNKNOWN_SERVICE = "lepton.conformance.v1.NoSuchService"
GET_SERVER_INFO = f"/{DISCOVERY_SERVICE}/GetServerInfo"
NOT_PROTOBUF = b"\xff\xff\xff\xff"  # a truncated varint tag: never a valid message


@dataclass(frozen=True)
class Method:
    """A unary RPC the suite can call generically: its path and message classes."""

    service: str
    name: str
    request: type[Message]
    response: type[Message]

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"

    def call(self, channel: grpc.Channel, request: Message, **kwargs: Any) -> Message:
        method = channel.unary_unary(
            self.path,
            request_serializer=self.request.SerializeToString,
            response_deserializer=self.response.FromString,
        )
        return method(request, **kwargs)


def _method(module: Any, service: str, name: str) -> Method:
    descriptor = module.DESCRIPTOR.services_by_name[service].methods_by_name[name]
    return Method(
        descriptor.containing_service.full_name,
        name,
        getattr(module, descriptor.input_type.name),
        getattr(module, descriptor.output_type.name),
    )


# Cheap read-only calls of each layer that need no existing resource: the suite probes auth
# with the first one the target hosts.
PROTECTED_PROBES = [
    _method(inference_pb, "InferenceService", "ServerLive"),
    Method(
        "inference.GRPCInferenceService",
        "ServerLive",
        inference_pb.ServerLiveRequest,
        inference_pb.ServerLiveResponse,
    ),
    _method(dataset_pb, "DatasetService", "ListDatasets"),
    _method(registry_pb, "ModelRegistryService", "ListModels"),
    _method(training_pb, "TrainingService", "ListTrainingJobs"),
    _method(edge_pb, "EdgeService", "ListDevices"),
]

# Top-level collections: List RPCs whose request needs no parent.
TOP_LEVEL_LISTS = [
    _method(dataset_pb, "DatasetService", "ListDatasets"),
    _method(processing_pb, "ProcessingService", "ListPipelineRuns"),
    _method(annotation_pb, "AnnotationService", "ListAnnotationProjects"),
    _method(registry_pb, "ModelRegistryService", "ListModels"),
    _method(training_pb, "TrainingService", "ListTrainingJobs"),
    _method(edge_pb, "EdgeService", "ListDevices"),
    _method(edge_pb, "EdgeService", "ListDeployments"),
]


def health_stub(ctx: CaseContext) -> health_pb2_grpc.HealthStub:
    return health_pb2_grpc.HealthStub(ctx.channel)


def lepton_services(ctx: CaseContext) -> list[str]:
    """Every non-grpc service the target reports through reflection or discovery."""
    names = set(ctx.info.features) | {s for s in ctx.info.services if not s.startswith("grpc.")}
    if not names:
        raise Failed(
            "reflection or discovery to report the hosted services",
            ctx.info.reflection_error or ctx.info.discovery_error or "nothing reported",
        )
    return sorted(names)


def raw_call(ctx: CaseContext, path: str, payload: bytes, **kwargs: Any) -> bytes:
    return ctx.channel.unary_unary(path)(payload, timeout=ctx.timeout, **kwargs)
