"""gRPC method handlers built from a service descriptor, for services whose hot paths encode
their own messages (a response returned already serialized, a request parsed by hand), which
the generated `add_*Servicer_to_server` functions cannot express."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from grpc import aio

_FACTORIES = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def method_handlers(
    service: ServiceDescriptor,
    servicer: Any,
    *,
    preserialized: Collection[str] = (),
    deserializers: Mapping[str, Callable[[bytes], Any]] | None = None,
) -> dict[str, grpc.RpcMethodHandler]:
    """A handler per RPC of `service`, bound to the servicer's method of the same name. The
    methods named in `preserialized` return their responses as bytes; `deserializers` replaces
    the generated request parser of the methods it names."""
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in service.methods:
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
        factory = _FACTORIES[(method.client_streaming, method.server_streaming)]
        handlers[method.name] = factory(
            getattr(servicer, method.name),
            request_deserializer=(deserializers or {}).get(method.name, request.FromString),
            response_serializer=None
            if method.name in preserialized
            else response.SerializeToString,
        )
    return handlers


def mounter(name: str, handlers: dict[str, grpc.RpcMethodHandler]) -> Callable[[aio.Server], None]:
    """Registers `handlers` as service `name` on a server."""

    def register(server: aio.Server) -> None:
        # Registered methods are matched by the gRPC core, without a Python lookup per call.
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
        server.add_registered_method_handlers(name, handlers)

    return register
