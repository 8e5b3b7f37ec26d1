"""A minimal reflection client for the tests."""

from __future__ import annotations

import grpc
from grpc_reflection.v1alpha import reflection_pb2


def list_services(channel: grpc.Channel, service: str) -> list[str]:
    """list_services through the reflection service named `service` (v1 or v1alpha)."""
    call = channel.stream_stream(
        f"/{service}/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    responses = call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
    return sorted(s.name for s in next(responses).list_services_response.service)
