"""Every contract parses, and every element of it carries a doc comment."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
PROTO_FILES = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
LAYERS = {"type", "discovery", "audit", "data", "training", "registry", "inference", "edge"}

# Field numbers of FileDescriptorProto / DescriptorProto / ... used in SourceCodeInfo paths.
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE = 4, 5, 6
MESSAGE_FIELD, MESSAGE_NESTED, MESSAGE_ENUM, MESSAGE_ONEOF = 2, 3, 4, 8
ENUM_VALUE, SERVICE_METHOD = 2, 2


@pytest.fixture(scope="module")
def file_set(tmp_path_factory) -> descriptor_pb2.FileDescriptorSet:
    out = tmp_path_factory.mktemp("descriptors") / "contracts.pb"
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        "--include_source_info",
        f"--descriptor_set_out={out}",
        *PROTO_FILES,
    ]
    assert protoc.main(args) == 0, "protoc could not parse the contracts"
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _elements(proto: descriptor_pb2.FileDescriptorProto):
    """(path, kind, full name) of every service, rpc, message, field, oneof, enum and value."""
    package = proto.package

    def enum(e, path, scope):
        yield path, "enum", f"{scope}.{e.name}"
        for i, value in enumerate(e.value):
            yield (*path, ENUM_VALUE, i), "enum value", f"{scope}.{e.name}.{value.name}"

    def message(m, path, scope):
        name = f"{scope}.{m.name}"
        if m.options.map_entry:
            return
        yield path, "message", name
        for i, f in enumerate(m.field):
            yield (*path, MESSAGE_FIELD, i), "field", f"{name}.{f.name}"
        for i, o in enumerate(m.oneof_decl):
            # proto3 `optional` creates a synthetic oneof that has no comment of its own.
            if not o.name.startswith("_"):
                yield (*path, MESSAGE_ONEOF, i), "oneof", f"{name}.{o.name}"
        for i, nested in enumerate(m.nested_type):
            yield from message(nested, (*path, MESSAGE_NESTED, i), name)
        for i, e in enumerate(m.enum_type):
            yield from enum(e, (*path, MESSAGE_ENUM, i), name)

    for i, m in enumerate(proto.message_type):
        yield from message(m, (FILE_MESSAGE, i), package)
    for i, e in enumerate(proto.enum_type):
        yield from enum(e, (FILE_ENUM, i), package)
    for i, s in enumerate(proto.service):
        yield (FILE_SERVICE, i), "service", f"{package}.{s.name}"
        for j, method in enumerate(s.method):
            yield (FILE_SERVICE, i, SERVICE_METHOD, j), "rpc", f"{package}.{s.name}.{method.name}"


def _ours(file_set):
    return [f for f in file_set.file if f.name.startswith("lepton/")]


def test_every_layer_has_contracts(file_set):
    layers = {f.package.split(".")[1] for f in _ours(file_set)}
    assert layers == LAYERS


def test_packages_match_directories(file_set):
    for proto in _ours(file_set):
        layer, version = proto.name.split("/")[1:3]
        assert proto.package == f"lepton.{layer}.{version}", proto.name


def test_every_element_has_a_doc_comment(file_set):
    undocumented = []
    for proto in _ours(file_set):
        comments = {
            tuple(loc.path): loc.leading_comments.strip() for loc in proto.source_code_info.location
        }
        undocumented += [
            f"{kind} {name} ({proto.name})"
            for path, kind, name in _elements(proto)
            if not comments.get(path)
        ]
    assert undocumented == []


def test_no_contract_imports_outside_the_well_known_types(file_set):
    for proto in _ours(file_set):
        for dependency in proto.dependency:
            assert dependency.startswith(("google/protobuf/", "lepton/")), (
                proto.name,
                dependency,
            )
