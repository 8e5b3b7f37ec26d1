"""Feature `registry.format_validation` (REG-028): before a version becomes READY its content
is checked against its declared format, from leading bytes and file lists only; nothing is
loaded or executed. PICKLE and OTHER are never checked, nor are formats REG-028 does not name.

The checks catch a mislabelled upload (weights declared as ONNX, a zip declared as GGUF)
when it is registered, not when an inference server or an edge device first loads it."""

from __future__ import annotations

import json
from functools import cache
from typing import BinaryIO

from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import model_artifact_pb2
from lepton.type.v1 import model_format_pb2 as formats
from lepton_server.registry.archives import file_ranges
from lepton_server.registry.model_formats import SAVED_MODEL_PB

# Enough of an ONNX file to see its first fields; the graph follows and may be gigabytes.
_ONNX_HEAD = 64 * 1024
_SAFETENSORS_HEADER_MAX = 100 * 1024 * 1024
# Protobuf wire types; ModelProto's fields are all varints or length-delimited.
_VARINT, _LEN = 0, 2


class FormatMismatchError(Exception):
    """The content is not what its format says; the message says why."""


def check_content(
    source: BinaryIO,
    size: int,
    artifact: model_artifact_pb2.ModelArtifact,
    files: list[mv.ArtifactFile],
) -> None:
    """FormatMismatchError unless the artifact in `source` (`size` bytes; an archive when
    `files` lists its files) looks like its declared format."""
    model_format, entry = artifact.format, artifact.entry_path
    paths = {file.path for file in files}
    if model_format == formats.MODEL_FORMAT_SAVED_MODEL:
        wanted = SAVED_MODEL_PB if entry in ("", ".") else f"{entry}/{SAVED_MODEL_PB}"
        if wanted not in paths:
            raise FormatMismatchError(f"the SavedModel directory {entry!r} has no {SAVED_MODEL_PB}")
        return
    if model_format == formats.MODEL_FORMAT_OPENVINO_IR:
        weights = entry.removesuffix(".xml") + ".bin"
        if not entry.endswith(".xml") or weights not in paths:
            raise FormatMismatchError(f"the OpenVINO IR {entry!r} is not an .xml beside {weights}")
        return
    check = _CHECKS.get(model_format)
    if check is None:
        return
    start, length = file_ranges(_rewound(source))[entry] if files else (0, size)
    check(_Content(source, start, length))


class _Content:
    """Random reads within one file: the whole artifact, or one member of an archive."""

    def __init__(self, source: BinaryIO, start: int, length: int) -> None:
        self.source, self.start, self.length = source, start, length

    def read(self, offset: int, count: int) -> bytes:
        count = max(0, min(count, self.length - offset))
        self.source.seek(self.start + offset)
        return self.source.read(count)


def _rewound(source: BinaryIO) -> BinaryIO:
    source.seek(0)
    return source


def _onnx(content: _Content) -> None:
    """A ModelProto: its leading bytes are well-formed protobuf fields of ModelProto with the
    right wire types, and `ir_version`, which every ONNX model sets, is among them."""
    head = content.read(0, _ONNX_HEAD)
    wire_types = _model_proto_wire_types()
    position, seen = 0, set()
    cut = len(head) < content.length  # the head ends before the file does
    while position < len(head):
        tag, position = _varint(head, position)
        if tag is None or wire_types.get(tag >> 3) != tag & 7:
            if tag is None and cut:
                break
            raise FormatMismatchError("the content is not an ONNX ModelProto")
        seen.add(tag >> 3)
        value, position = _varint(head, position)
        if value is None:
            if cut:
                break
            raise FormatMismatchError("the content ends inside an ONNX field")
        if tag & 7 == _LEN:
            if position + value > content.length:
                raise FormatMismatchError("an ONNX field runs past the end of the file")
            position += value
    if 1 not in seen:
        raise FormatMismatchError("the content is not an ONNX ModelProto (no ir_version)")


@cache
def _model_proto_wire_types() -> dict[int, int]:
    """ModelProto's field numbers and their wire types, from onnx's own descriptor."""
    import onnx  # noqa: PLC0415  (heavy: only when an ONNX upload is checked)
    from google.protobuf.descriptor import FieldDescriptor  # noqa: PLC0415

    length_delimited = {
        FieldDescriptor.TYPE_MESSAGE,
        FieldDescriptor.TYPE_STRING,
        FieldDescriptor.TYPE_BYTES,
    }
    return {
        field.number: _LEN if field.type in length_delimited else _VARINT
        for field in onnx.ModelProto.DESCRIPTOR.fields
    }


def _varint(data: bytes, position: int) -> tuple[int | None, int]:
    """The varint at `position` and the position after it; None when `data` ends first."""
    value = shift = 0
    while position < len(data) and shift < 64:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    return None, position


def _safetensors(content: _Content) -> None:
    """An 8-byte little-endian header length, then that many bytes of a JSON object."""
    header = int.from_bytes(content.read(0, 8), "little")
    if content.length < 8 or header > min(_SAFETENSORS_HEADER_MAX, content.length - 8):
        raise FormatMismatchError("the content has no safetensors header")
    try:
        parsed = json.loads(content.read(8, header))
    except (UnicodeDecodeError, ValueError):
        parsed = None
    if not isinstance(parsed, dict):
        raise FormatMismatchError("the safetensors header is not a JSON object")


def _magic(offset: int, magic: bytes, what: str):
    def check(content: _Content) -> None:
        if content.read(offset, len(magic)) != magic:
            raise FormatMismatchError(f"the content is not {what} (no {magic!r} at byte {offset})")

    return check


_ZIP = _magic(0, b"PK\x03\x04", "a zip archive, as torch writes")
_CHECKS = {
    formats.MODEL_FORMAT_ONNX: _onnx,
    formats.MODEL_FORMAT_SAFETENSORS: _safetensors,
    formats.MODEL_FORMAT_GGUF: _magic(0, b"GGUF", "a GGUF file"),
    formats.MODEL_FORMAT_TFLITE: _magic(4, b"TFL3", "a TFLite flatbuffer"),
    formats.MODEL_FORMAT_TORCHSCRIPT: _ZIP,
    formats.MODEL_FORMAT_TORCH_EXPORT: _ZIP,
}
