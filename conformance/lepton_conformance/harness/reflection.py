"""A small client of gRPC server reflection (v1, or v1alpha with the same messages)."""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2 as pb

V1 = "grpc.reflection.v1.ServerReflection"
V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"


def ask(
    channel: grpc.Channel,
    request: pb.ServerReflectionRequest,
    timeout_s: float,
    service: str = V1,
) -> pb.ServerReflectionResponse:
    """One request on a reflection stream of `service`; the first response."""
    method = channel.stream_stream(
        f"/{service}/ServerReflectionInfo",
        request_serializer=pb.ServerReflectionRequest.SerializeToString,
        response_deserializer=pb.ServerReflectionResponse.FromString,
    )
    responses = method(iter([request]), timeout=timeout_s)
    try:
        return next(responses)
    finally:
        responses.cancel()


def list_services(channel: grpc.Channel, timeout_s: float, service: str = V1) -> list[str]:
    """The names `list_services` returns, sorted."""
    response = ask(channel, pb.ServerReflectionRequest(list_services=""), timeout_s, service)
    return sorted(s.name for s in response.list_services_response.service)


def file_containing_symbol(
    channel: grpc.Channel, symbol: str, timeout_s: float, service: str = V1
) -> list[descriptor_pb2.FileDescriptorProto]:
    """The file descriptors reflection returns for `symbol` (empty when it reports an error)."""
    response = ask(
        channel, pb.ServerReflectionRequest(file_containing_symbol=symbol), timeout_s, service
    )
    return [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]
