"""gRPC server reflection under both `grpc.reflection.v1` and `grpc.reflection.v1alpha`.

grpcio-reflection ships only the v1alpha service. The v1 messages are the same messages with
the same field numbers under a new package, so the v1alpha handler is mounted a second time
under the v1 name: the bytes on the wire are identical.

A service mounted under a second name (reflection v1 itself, and the inference service as the
Open Inference Protocol's `inference.GRPCInferenceService`) has no descriptor in the process.
Reflection gets one from a synthesized file that declares the service under its other name
with the original request and response types. The file lives in a pool used only by
reflection, so the real `inference` package never enters the process and cannot clash with
another OIP library's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool
from grpc import aio
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as pb

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE_NAME = reflection.SERVICE_NAME


def _alias_file(
    alias: str, original: descriptor.ServiceDescriptor
) -> descriptor_pb2.FileDescriptorProto:
    """A file declaring service `alias` with the methods and types of `original`."""
    package, _, name = alias.rpartition(".")
    file = descriptor_pb2.FileDescriptorProto(
        name=f"{alias.replace('.', '/')}.mirror.proto",
        package=package,
        dependency=[original.file.name],
        syntax="proto3",
    )
    declared = file.service.add(name=name)
    for method in original.methods:
        declared.method.add(
            name=method.name,
            input_type=f".{method.input_type.full_name}",
            output_type=f".{method.output_type.full_name}",
            client_streaming=method.client_streaming,
            server_streaming=method.server_streaming,
        )
    return file


def _reflection_pool(
    service_names: Sequence[str], mirrors: Mapping[str, str]
) -> descriptor_pool.DescriptorPool:
    """The descriptors of every hosted service, mirrors included."""
    default = descriptor_pool.Default()
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file: descriptor.FileDescriptor) -> None:
        if file.name in added:
            return
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        pool.Add(proto)
        added.add(file.name)

    for name in service_names:
        try:
            original = default.FindServiceByName(mirrors.get(name, name))
        except KeyError:
            continue  # a generic handler without a descriptor: listed, not described
        add(original.file)
        if name in mirrors:
            pool.Add(_alias_file(name, original))
    return pool


def enable_reflection(
    server: aio.Server, service_names: Sequence[str], mirrors: Mapping[str, str] | None = None
) -> None:
    """Serve reflection for `service_names` plus both reflection services themselves.

    `mirrors` maps a service mounted under a second name to the service it mirrors."""
    names = [*service_names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME]
    mirrors = {**(mirrors or {}), V1_SERVICE_NAME: V1ALPHA_SERVICE_NAME}
    pool = _reflection_pool(names, mirrors)
    reflection.enable_server_reflection(names, server, pool=pool)
    servicer = reflection.aio.ReflectionServicer(names, pool=pool)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=pb.ServerReflectionRequest.FromString,
        response_serializer=pb.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, {"ServerReflectionInfo": handler}),)
    )
