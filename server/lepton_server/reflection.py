"""gRPC server reflection under both `grpc.reflection.v1` and `grpc.reflection.v1alpha`.

grpcio-reflection ships only the v1alpha service. The v1 messages are the same messages with
the same field numbers under a new package, so the v1alpha handler is mounted a second time
under the v1 name: the bytes on the wire are identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc import aio
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as pb

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE_NAME = reflection.SERVICE_NAME


def enable_reflection(server: aio.Server, service_names: Sequence[str]) -> None:
    """Serve reflection for `service_names` plus both reflection services themselves."""
    names = [*service_names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME]
    reflection.enable_server_reflection(names, server)
    servicer = reflection.aio.ReflectionServicer(names)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=pb.ServerReflectionRequest.FromString,
        response_serializer=pb.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, {"ServerReflectionInfo": handler}),)
    )
