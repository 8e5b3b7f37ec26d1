"""A stub that answers every RPC of every service with an empty default message.

The conformance suite must fail it almost everywhere: a suite that a do-nothing server passes
proves nothing."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

GENERATED = Path(__file__).resolve().parents[2] / "generated" / "python"


def _service_descriptors() -> list[tuple[str, ServiceDescriptor]]:
    """(mounted name, descriptor) of every service the reference server could host."""
    modules = [health_pb2, reflection_pb2]
    for path in sorted(GENERATED.rglob("*_service_pb2.py")):
        name = ".".join(path.relative_to(GENERATED).with_suffix("").parts)
        modules.append(importlib.import_module(name))
    found = [
        (service.full_name, service)
        for module in modules
        for service in module.DESCRIPTOR.services_by_name.values()
    ]
    reflection = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"]
    inference = dict(found)["lepton.inference.v1.InferenceService"]
    return [
        *found,
        ("grpc.reflection.v1.ServerReflection", reflection),
        ("inference.GRPCInferenceService", inference),
    ]


def _handler(method) -> grpc.RpcMethodHandler:
    request = message_factory.GetMessageClass(method.input_type)
    response = message_factory.GetMessageClass(method.output_type)
    kwargs = {
        "request_deserializer": request.FromString,
        "response_serializer": response.SerializeToString,
    }
    if method.client_streaming and method.server_streaming:
        return grpc.stream_stream_rpc_method_handler(lambda it, ctx: iter([response()]), **kwargs)
    if method.client_streaming:
        return grpc.stream_unary_rpc_method_handler(lambda it, ctx: response(), **kwargs)
    if method.server_streaming:
        return grpc.unary_stream_rpc_method_handler(lambda r, ctx: iter([response()]), **kwargs)
    return grpc.unary_unary_rpc_method_handler(lambda r, ctx: response(), **kwargs)


@contextmanager
def serve_stub(address: str = "127.0.0.1:0") -> Iterator[str]:
    """Run the stub on `address` (a loopback port of its own by default); yield the address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    for name, service in _service_descriptors():
        handlers = {m.name: _handler(m) for m in service.methods}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    host = address.rpartition(":")[0]
    port = server.add_insecure_port(address)
    server.start()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop(0)


if __name__ == "__main__":
    # `stub_server.py HOST:PORT`: a stub device agent for the edge-agent profile; it serves
    # OIP on the address it is given and never talks to the fleet.
    with serve_stub(sys.argv[1]):
        threading.Event().wait()
