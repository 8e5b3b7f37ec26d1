"""Model formats of files and directories, and directories packed as deterministic tar archives.

`detect_format` follows ModelImportJob.format: a directory with an `MLmodel` file is MLFLOW,
one with `saved_model.pb` SAVED_MODEL; a file is recognised by its leading bytes, then by its
extension; anything else fails with INVALID_ARGUMENT, reason FORMAT_UNKNOWN (REG-054).
`pack_directory` writes a directory as the one uncompressed POSIX tar archive a multi-file
version holds (spec/registry.md, "Artifacts"), byte for byte the same for the same files.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lepton.type.v1 import model_format_pb2
from lepton_server.runtime.errors import InvalidArgument

ModelFormat = model_format_pb2.ModelFormat
TAR_MEDIA_TYPE = "application/x-tar"
ONNX_MEDIA_TYPE = "application/onnx"
OCTET_STREAM = "application/octet-stream"
MLMODEL = "MLmodel"
SAVED_MODEL_PB = "saved_model.pb"

EXTENSIONS = {
    ".onnx": ModelFormat.MODEL_FORMAT_ONNX,
    ".safetensors": ModelFormat.MODEL_FORMAT_SAFETENSORS,
    ".gguf": ModelFormat.MODEL_FORMAT_GGUF,
    ".tflite": ModelFormat.MODEL_FORMAT_TFLITE,
    ".skops": ModelFormat.MODEL_FORMAT_SKOPS,
    ".ubj": ModelFormat.MODEL_FORMAT_XGBOOST,
    ".json": ModelFormat.MODEL_FORMAT_XGBOOST,
    ".txt": ModelFormat.MODEL_FORMAT_LIGHTGBM,
    ".pt": ModelFormat.MODEL_FORMAT_TORCH_STATE_DICT,
    ".pth": ModelFormat.MODEL_FORMAT_TORCH_STATE_DICT,
    ".pt2": ModelFormat.MODEL_FORMAT_TORCH_EXPORT,
    ".pkl": ModelFormat.MODEL_FORMAT_PICKLE,
    ".pickle": ModelFormat.MODEL_FORMAT_PICKLE,
    ".joblib": ModelFormat.MODEL_FORMAT_PICKLE,
}
# Formats that are always a tar archive (spec/registry.md, the table of "Artifacts").
ARCHIVE_FORMATS = frozenset(
    {
        ModelFormat.MODEL_FORMAT_SAVED_MODEL,
        ModelFormat.MODEL_FORMAT_OPENVINO_IR,
        ModelFormat.MODEL_FORMAT_MLFLOW,
    }
)
_HEAD = 64
_SAFETENSORS_HEADER_MAX = 100 * 1024 * 1024
# A pickle opens with PROTO and its protocol number (2 to 5 for every Python 3 pickle).
_PICKLE_PROTOCOLS = {bytes([protocol]) for protocol in range(2, 6)}


def format_unknown(path: str, why: str) -> InvalidArgument:
    """The import failure of REG-054."""
    return InvalidArgument(reason="FORMAT_UNKNOWN", message=f"{path}: {why}")


def detect_format(path: Path) -> int:
    """The ModelFormat of a model file or directory, or FORMAT_UNKNOWN."""
    if path.is_dir():
        if (path / MLMODEL).is_file():
            return ModelFormat.MODEL_FORMAT_MLFLOW
        if (path / SAVED_MODEL_PB).is_file():
            return ModelFormat.MODEL_FORMAT_SAVED_MODEL
        raise format_unknown(path.name, f"a directory with neither {MLMODEL} nor {SAVED_MODEL_PB}")
    with path.open("rb") as file:
        head = file.read(_HEAD)
    size = path.stat().st_size
    found = format_of_bytes(head, size)
    if found == ModelFormat.MODEL_FORMAT_UNSPECIFIED and head.startswith(b"PK\x03\x04"):
        found = _format_of_zip(path)
    if found == ModelFormat.MODEL_FORMAT_UNSPECIFIED:
        found = EXTENSIONS.get(path.suffix.lower(), found)
    if found == ModelFormat.MODEL_FORMAT_UNSPECIFIED:
        raise format_unknown(path.name, "neither its leading bytes nor its name tell its format")
    return found


def format_of_bytes(head: bytes, size: int) -> int:
    """The format the leading bytes of a file of `size` bytes identify, or UNSPECIFIED."""
    header = int.from_bytes(head[:8], "little")
    signs = (
        (head.startswith(b"GGUF"), ModelFormat.MODEL_FORMAT_GGUF),
        (head[4:8] == b"TFL3", ModelFormat.MODEL_FORMAT_TFLITE),
        (head.startswith(b"tree\nversion="), ModelFormat.MODEL_FORMAT_LIGHTGBM),
        # XGBoost's JSON and UBJSON models both open with the "learner" object.
        (head[:1] == b"{" and b"learner" in head[:32], ModelFormat.MODEL_FORMAT_XGBOOST),
        # safetensors: an 8-byte little-endian header length, then the JSON header.
        (
            head[8:9] == b"{" and 8 + header <= size and header <= _SAFETENSORS_HEADER_MAX,
            ModelFormat.MODEL_FORMAT_SAFETENSORS,
        ),
        (head[:1] == b"\x80" and head[1:2] in _PICKLE_PROTOCOLS, ModelFormat.MODEL_FORMAT_PICKLE),
    )
    return next(
        (found for matches, found in signs if matches), ModelFormat.MODEL_FORMAT_UNSPECIFIED
    )


def _format_of_zip(path: Path) -> int:
    """skops, TorchScript, torch.export and torch.save all write zip files: their members tell."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return ModelFormat.MODEL_FORMAT_UNSPECIFIED
    if "schema.json" in names:
        return ModelFormat.MODEL_FORMAT_SKOPS
    parts = {part for name in names for part in name.split("/")[1:2]}
    if "code" in parts or "constants.pkl" in parts:
        return ModelFormat.MODEL_FORMAT_TORCHSCRIPT
    if any("serialized_exported_program" in name for name in names) or "models" in parts:
        return ModelFormat.MODEL_FORMAT_TORCH_EXPORT
    if "data.pkl" in parts:
        return ModelFormat.MODEL_FORMAT_TORCH_STATE_DICT
    return ModelFormat.MODEL_FORMAT_UNSPECIFIED


def media_type(model_format: int, archive: bool) -> str:
    """The recommended media type of an artifact (ModelVersion.artifact)."""
    if archive:
        return TAR_MEDIA_TYPE
    return ONNX_MEDIA_TYPE if model_format == ModelFormat.MODEL_FORMAT_ONNX else OCTET_STREAM


def default_entry_path(model_format: int) -> str:
    """The entry path of a directory of this format when the import names none ("" unknown)."""
    if model_format == ModelFormat.MODEL_FORMAT_MLFLOW:
        return MLMODEL
    if model_format == ModelFormat.MODEL_FORMAT_SAVED_MODEL:
        return "."
    return ""


@dataclass(frozen=True)
class PackedArchive:
    """What `pack_directory` wrote: its size, SHA-256 (lowercase hex) and regular files."""

    size_bytes: int
    sha256: str
    files: list[str]


class _Hashing:
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.sink.write(data)


def pack_directory(directory: Path, destination: BinaryIO) -> PackedArchive:
    """Writes `directory` to `destination` as an uncompressed POSIX (pax) tar archive.

    Entries are the directory's subdirectories and regular files in sorted path order, with
    fixed times, owners and modes (0755 and 0644), so the same files always give the same
    bytes and the same digest. Symbolic links and other special files are left out: an
    artifact holds regular files only, and a link could reach outside the directory.
    """
    hashing = _Hashing(destination)
    files: list[str] = []
    with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for relative, absolute, is_dir in _walk(directory):
            info = tarfile.TarInfo(relative)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if is_dir:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
                continue
            info.mode = 0o644
            info.size = absolute.stat().st_size
            with absolute.open("rb") as content:
                archive.addfile(info, content)
            files.append(relative)
    return PackedArchive(hashing.size, hashing.digest.hexdigest(), files)


def _walk(directory: Path) -> list[tuple[str, Path, bool]]:
    """(archive path, file, is a directory) of every directory and regular file, sorted."""
    entries: list[tuple[str, Path, bool]] = []
    for root, dirs, names in os.walk(directory):
        base = Path(root)
        # os.walk lists symbolic links to directories in `dirs` without following them.
        for name in [*dirs, *names]:
            absolute = base / name
            mode = absolute.lstat().st_mode
            if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                relative = absolute.relative_to(directory).as_posix()
                entries.append((relative, absolute, stat.S_ISDIR(mode)))
    return sorted(entries)
