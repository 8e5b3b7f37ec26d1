"""What an import job registers for a local file or directory (spec/registry.md, "Import").

`describe_import` decides the version's format (the job's, or the detected one), whether the
artifact is the file itself or a tar archive of the directory, the entry path inside the
archive, and the framework and signature an MLflow model's `MLmodel` states (REG-053). It
reads names, leading bytes and `MLmodel` only: the registry never loads a model to import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lepton.type.v1 import model_format_pb2, model_signature_pb2
from lepton_server.registry import mlflow_models, model_formats
from lepton_server.runtime.errors import invalid_argument, invalid_field

ModelFormat = model_format_pb2.ModelFormat
FIELD = "model_import_job"

# The framework a format implies, where it implies one (ModelVersion.framework).
FRAMEWORKS = {
    ModelFormat.MODEL_FORMAT_SKOPS: "sklearn",
    ModelFormat.MODEL_FORMAT_XGBOOST: "xgboost",
    ModelFormat.MODEL_FORMAT_LIGHTGBM: "lightgbm",
    ModelFormat.MODEL_FORMAT_TORCHSCRIPT: "pytorch",
    ModelFormat.MODEL_FORMAT_TORCH_EXPORT: "pytorch",
    ModelFormat.MODEL_FORMAT_TORCH_STATE_DICT: "pytorch",
    ModelFormat.MODEL_FORMAT_SAVED_MODEL: "tensorflow",
    ModelFormat.MODEL_FORMAT_TFLITE: "tensorflow",
    ModelFormat.MODEL_FORMAT_OPENVINO_IR: "openvino",
}
# For a directory of these formats without an entry path: the suffix of its one entry file.
ENTRY_SUFFIXES = {
    ModelFormat.MODEL_FORMAT_ONNX: ".onnx",
    ModelFormat.MODEL_FORMAT_OPENVINO_IR: ".xml",
    ModelFormat.MODEL_FORMAT_GGUF: ".gguf",
    ModelFormat.MODEL_FORMAT_PICKLE: ".pkl",
}


@dataclass(frozen=True)
class ImportedModel:
    """The artifact and metadata of the version an import registers.

    `archive` means the artifact is `pack_directory` of the source (media type
    application/x-tar) and `entry_path` names the entry inside it; otherwise the artifact is
    the file's bytes and `entry_path` is empty.
    """

    model_format: int
    archive: bool
    entry_path: str
    media_type: str
    framework: str = ""
    framework_version: str = ""
    signature: model_signature_pb2.ModelSignature | None = None


def describe_import(
    path: Path, model_format: int = ModelFormat.MODEL_FORMAT_UNSPECIFIED, entry_path: str = ""
) -> ImportedModel:
    """The version an import of `path` registers, given the job's `format` and `entry_path`.

    Raises INVALID_ARGUMENT FORMAT_UNKNOWN (undetectable), INVALID_FIELD (an entry path for a
    single file or an MLflow model, a directory format for a file) or INVALID_ARCHIVE (an
    entry path that is not in the directory, or none that can be chosen).
    """
    found = model_format or model_formats.detect_format(path)
    if not path.is_dir():
        if entry_path:
            raise invalid_field(f"{FIELD}.entry_path", "empty when the source is one file")
        if found in model_formats.ARCHIVE_FORMATS:
            raise invalid_field(f"{FIELD}.format", "this format is a directory, not one file")
        return ImportedModel(
            found,
            archive=False,
            entry_path="",
            media_type=model_formats.media_type(found, archive=False),
            framework=FRAMEWORKS.get(found, ""),
        )
    media_type = model_formats.TAR_MEDIA_TYPE
    if found == ModelFormat.MODEL_FORMAT_MLFLOW:
        if entry_path not in ("", model_formats.MLMODEL):
            raise invalid_field(f"{FIELD}.entry_path", "empty for an MLflow model")
        mlflow = mlflow_models.read_mlflow_model(path)
        return ImportedModel(
            found,
            archive=True,
            entry_path=mlflow.entry_path,
            media_type=media_type,
            framework=mlflow.framework,
            framework_version=mlflow.framework_version,
            signature=mlflow.signature,
        )
    entry = entry_path or model_formats.default_entry_path(found) or _only_entry(path, found)
    _check_entry(path, entry, found)
    return ImportedModel(
        found,
        archive=True,
        entry_path=entry,
        media_type=media_type,
        framework=FRAMEWORKS.get(found, ""),
    )


def _only_entry(directory: Path, model_format: int) -> str:
    suffix = ENTRY_SUFFIXES.get(model_format)
    candidates = sorted(directory.rglob(f"*{suffix}")) if suffix else []
    if len(candidates) != 1:
        raise invalid_argument(
            "INVALID_ARCHIVE",
            f"{FIELD}.entry_path",
            f"name the entry: the directory has {len(candidates)} candidate files",
        )
    return candidates[0].relative_to(directory).as_posix()


def _check_entry(directory: Path, entry: str, model_format: int) -> None:
    """The archive rule for entry_path: relative, no "..", present (spec "Artifacts")."""
    relative = PurePosixPath(entry)
    target = directory / relative
    wants_directory = model_format == ModelFormat.MODEL_FORMAT_SAVED_MODEL
    present = target.is_dir() if wants_directory else target.is_file()
    if relative.is_absolute() or ".." in relative.parts or not present or target.is_symlink():
        kind = "directory" if wants_directory else "regular file"
        raise invalid_argument(
            "INVALID_ARCHIVE", f"{FIELD}.entry_path", f"{entry!r} is not a {kind} of the source"
        )
