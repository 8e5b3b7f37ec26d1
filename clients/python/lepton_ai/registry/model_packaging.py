"""What the SDK registers: a fitted model object or files on disk turned into one artifact
(bytes or a file) with its format, media type and entry path (spec/registry.md,
"Artifacts"). Directories travel as one uncompressed tar archive, built deterministically
(sorted paths, fixed times and owners) so that the same files always give the same SHA-256
and the registry can deduplicate them."""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lepton.type.v1 import model_format_pb2 as formats
from lepton.type.v1 import model_signature_pb2, tensor_pb2

TAR = "application/x-tar"
OCTET_STREAM = "application/octet-stream"
# File extension -> format, for single files (the server's import job detects the same way).
EXTENSIONS = {
    ".onnx": formats.MODEL_FORMAT_ONNX,
    ".safetensors": formats.MODEL_FORMAT_SAFETENSORS,
    ".gguf": formats.MODEL_FORMAT_GGUF,
    ".tflite": formats.MODEL_FORMAT_TFLITE,
    ".skops": formats.MODEL_FORMAT_SKOPS,
    ".ubj": formats.MODEL_FORMAT_XGBOOST,
    ".pt2": formats.MODEL_FORMAT_TORCH_EXPORT,
    ".pt": formats.MODEL_FORMAT_TORCH_STATE_DICT,
    ".pth": formats.MODEL_FORMAT_TORCH_STATE_DICT,
    ".pkl": formats.MODEL_FORMAT_PICKLE,
    ".pickle": formats.MODEL_FORMAT_PICKLE,
    ".joblib": formats.MODEL_FORMAT_PICKLE,
}


@dataclass(frozen=True)
class Package:
    """One artifact ready to upload: its bytes, or the file that holds them."""

    data: bytes | None
    path: Path | None
    format: int
    media_type: str
    entry_path: str = ""
    framework: str = ""
    framework_version: str = ""

    def open(self) -> io.BufferedIOBase:
        """A binary stream of the artifact's bytes."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")


def package(source: Any, model_format: int | None = None) -> Package:
    """The artifact of `source`: a path (file or directory) or a fitted scikit-learn
    estimator (saved with skops when it is installed, else pickled)."""
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            return _directory(path, model_format)
        if not path.is_file():
            raise FileNotFoundError(path)
        guessed = model_format or EXTENSIONS.get(path.suffix.lower(), formats.MODEL_FORMAT_OTHER)
        media = "application/onnx" if guessed == formats.MODEL_FORMAT_ONNX else OCTET_STREAM
        return Package(None, path, guessed, media)
    return _estimator(source, model_format)


def _directory(path: Path, model_format: int | None) -> Package:
    if (path / "MLmodel").is_file():
        found, entry = formats.MODEL_FORMAT_MLFLOW, "MLmodel"
    elif (path / "saved_model.pb").is_file():
        found, entry = formats.MODEL_FORMAT_SAVED_MODEL, "."
    else:
        found, entry = formats.MODEL_FORMAT_OTHER, ""
    chosen = model_format or found
    if not entry:
        raise ValueError(
            f"{path} is a directory of no known layout (an MLflow model or a SavedModel): "
            "pack it yourself and register the archive"
        )
    return Package(tar_directory(path), None, chosen, TAR, entry_path=entry)


def tar_directory(path: Path) -> bytes:
    """Every regular file below `path` as an uncompressed POSIX tar, deterministically."""
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
            info = tarfile.TarInfo(file.relative_to(path).as_posix())
            info.size = file.stat().st_size
            info.mode, info.mtime, info.uid, info.gid = 0o644, 0, 0, 0
            with file.open("rb") as content:
                archive.addfile(info, content)
    return sink.getvalue()


def _estimator(model: Any, model_format: int | None) -> Package:
    module = type(model).__module__.split(".")[0]
    versions = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm"}
    framework = "sklearn" if module == "sklearn" else module
    framework_version = _version(versions.get(module, module))
    if model_format in (None, formats.MODEL_FORMAT_SKOPS) and module == "sklearn":
        try:
            import skops.io  # noqa: PLC0415  (optional: the safer format when installed)
        except ImportError:
            pass
        else:
            data = skops.io.dumps(model)
            return Package(
                data,
                None,
                formats.MODEL_FORMAT_SKOPS,
                OCTET_STREAM,
                "",
                framework,
                framework_version,
            )
    if model_format not in (None, formats.MODEL_FORMAT_PICKLE):
        raise ValueError(
            "a model object is registered as SKOPS or PICKLE; save other formats to a file first"
        )
    data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return Package(
        data, None, formats.MODEL_FORMAT_PICKLE, OCTET_STREAM, "", framework, framework_version
    )


def _version(distribution: str) -> str:
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""


def estimator_signature(model: Any) -> model_signature_pb2.ModelSignature | None:
    """The signature of a fitted scikit-learn estimator, in the names ONNX converters give
    its outputs (spec/registry.md, "Conversion"): one FP32 input `input` of `[-1, features]`
    with the fitted feature names; a classifier's `label` `[-1]` and `probabilities`
    `[-1, classes]` with its classes as `class_labels`, a regressor's `variable` `[-1]`.
    None for anything else."""
    features = getattr(model, "n_features_in_", None)
    if type(model).__module__.split(".")[0] != "sklearn" or not isinstance(features, int):
        return None
    types = tensor_pb2.DataType
    signature = model_signature_pb2.ModelSignature(
        inputs=[
            tensor_pb2.TensorSpec(
                name="input", data_type=types.DATA_TYPE_FP32, shape=[-1, features]
            )
        ],
        feature_names=[str(n) for n in getattr(model, "feature_names_in_", [])],
    )
    classes = getattr(model, "classes_", None)
    if classes is None:
        signature.outputs.add(name="variable", data_type=types.DATA_TYPE_FP32, shape=[-1])
        return signature
    text = any(isinstance(c, str | bytes) for c in classes)
    label = types.DATA_TYPE_BYTES if text else types.DATA_TYPE_INT64
    signature.class_labels.extend(str(c) for c in classes)
    signature.outputs.add(name="label", data_type=label, shape=[-1])
    if hasattr(model, "predict_proba"):
        signature.outputs.add(
            name="probabilities", data_type=types.DATA_TYPE_FP32, shape=[-1, len(classes)]
        )
    return signature
