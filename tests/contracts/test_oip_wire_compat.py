"""The inference core is the Open Inference Protocol on the wire.

Every message and RPC of lepton.inference.v1 is compared with tritonclient's own `inference`
classes: same field numbers, names, types and cardinality, and fully populated messages
encoded by one side decode on the other with nothing unknown and nothing lost.
"""

from __future__ import annotations

import itertools

import pytest
from google.protobuf import json_format, message_factory, unknown_fields
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from tritonclient.grpc import service_pb2 as triton

from lepton.inference.v1 import (
    infer_tensor_pb2,
    inference_service_pb2,
    model_statistics_pb2,
)

OUR_FILES = [infer_tensor_pb2, model_statistics_pb2, inference_service_pb2]


def _all_messages(descriptor: Descriptor):
    yield descriptor
    for nested in descriptor.nested_types:
        if not nested.GetOptions().map_entry:
            yield from _all_messages(nested)


OUR_MESSAGES = [
    m
    for module in OUR_FILES
    for top in module.DESCRIPTOR.message_types_by_name.values()
    for m in _all_messages(top)
]


def _triton_descriptor(ours: Descriptor) -> Descriptor:
    relative = ours.full_name.removeprefix("lepton.inference.v1.")
    return triton.DESCRIPTOR.pool.FindMessageTypeByName(f"inference.{relative}")


def _field_signature(field: FieldDescriptor) -> tuple:
    nested = field.message_type
    if nested is not None and nested.GetOptions().map_entry:
        key, value = nested.fields_by_name["key"], nested.fields_by_name["value"]
        kind = ("map", key.type, value.type, value.message_type and value.message_type.name)
    else:
        kind = (field.type, nested and nested.name)
    oneof = field.containing_oneof.name if field.containing_oneof else None
    return field.number, field.name, kind, field.is_repeated, oneof


@pytest.mark.parametrize("ours", OUR_MESSAGES, ids=lambda m: m.full_name)
def test_message_has_the_fields_of_the_open_inference_protocol(ours):
    theirs = _triton_descriptor(ours)
    assert sorted(map(_field_signature, ours.fields)) == sorted(
        map(_field_signature, theirs.fields)
    )


def test_every_rpc_matches_the_protocol():
    ours = inference_service_pb2.DESCRIPTOR.services_by_name["InferenceService"]
    theirs = triton.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    for method in ours.methods:
        other = theirs.methods_by_name[method.name]
        assert method.input_type.name == other.input_type.name, method.name
        assert method.output_type.name == other.output_type.name, method.name
        assert method.client_streaming == other.client_streaming, method.name
        assert method.server_streaming == other.server_streaming, method.name


def _populate(message, depth: int = 0, choice: int = 0) -> None:
    """Set every field (oneofs: the member at index `choice`) to a distinctive value."""
    counter = itertools.count(1)
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.fields[choice % len(oneof.fields)] is not field:
            continue
        _set(message, field, next(counter) + depth * 100, depth)


def _scalar(field: FieldDescriptor, seed: int):
    t = field.type
    if t == FieldDescriptor.TYPE_BOOL:
        return True
    if t in (FieldDescriptor.TYPE_STRING,):
        return f"{field.name}-{seed}"
    if t == FieldDescriptor.TYPE_BYTES:
        return bytes([seed % 256]) * 3 + b"\x00\xff"
    if t in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return seed + 0.5
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64):
        return -seed
    return seed


def _set(message, field: FieldDescriptor, seed: int, depth: int) -> None:
    nested = field.message_type
    if nested is not None and nested.GetOptions().map_entry:
        value_field = nested.fields_by_name["value"]
        target = getattr(message, field.name)
        for key in ("alpha", "beta"):
            if value_field.message_type is None:
                target[key] = _scalar(value_field, seed)
            elif depth < 3:
                _populate(target[key], depth + 1, choice=len(key))
        return
    if nested is not None:
        if depth >= 3:
            return
        if field.is_repeated:
            for i in range(2):
                _populate(getattr(message, field.name).add(), depth + 1, choice=i)
        else:
            _populate(getattr(message, field.name), depth + 1)
        return
    if field.is_repeated:
        getattr(message, field.name).extend([_scalar(field, seed), _scalar(field, seed + 1)])
    else:
        setattr(message, field.name, _scalar(field, seed))


def _oneof_variants(descriptor: Descriptor) -> int:
    sizes = [len(o.fields) for o in descriptor.oneofs]
    return max(sizes, default=1)


ROUND_TRIPS = [(m, choice) for m in OUR_MESSAGES for choice in range(_oneof_variants(m))]


@pytest.mark.parametrize(
    ("ours", "choice"), ROUND_TRIPS, ids=lambda v: v.full_name if hasattr(v, "full_name") else v
)
def test_populated_message_decodes_identically_on_both_sides(ours, choice):
    our_class = message_factory.GetMessageClass(ours)
    their_class = message_factory.GetMessageClass(_triton_descriptor(ours))
    original = our_class()
    _populate(original, choice=choice)
    assert original.ByteSize() > 0 or not ours.fields

    theirs = their_class.FromString(original.SerializeToString())
    assert len(unknown_fields.UnknownFieldSet(theirs)) == 0
    assert json_format.MessageToDict(theirs) == json_format.MessageToDict(original)

    back = our_class.FromString(theirs.SerializeToString())
    assert len(unknown_fields.UnknownFieldSet(back)) == 0
    assert back == original
