"""The model a successful attempt leaves in LEPTON_OUTPUT_DIR made into the job's output
(spec/training.md, "Output and registration", TRN-052): one file, or the directory as a tar
archive with the entry path; its format and signature from the trainer's `output` line; its
content checked against the format the way the registry checks it (REG-028); and, for a
native trainer asked for ONNX, converted in the job with the registry's converter, the native
model kept as `source_artifact` (feature `training.conversion`). A failure is
MODEL_EXPORT_FAILED with the cause. Runs in a thread: it reads, converts and hashes files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from google.protobuf import json_format

from lepton.training.v1 import training_job_pb2 as tj
from lepton.type.v1 import model_artifact_pb2, model_signature_pb2
from lepton.type.v1.model_format_pb2 import ModelFormat
from lepton_server.registry import conversion, format_checks
from lepton_server.registry.model_formats import media_type
from lepton_server.runtime.errors import FailedPrecondition, LeptonError
from lepton_server.training.report_lines import OutputReport
from lepton_server.training.training_blobs import TrainingBlobs

ONNX = ModelFormat.MODEL_FORMAT_ONNX


@dataclass(frozen=True)
class ExportedModel:
    """The job's output and the blob keys that hold its model (and the native source)."""

    output: tj.TrainingJobOutput
    key: str
    source_key: str = ""


def export_failed(cause: str, message: str, model_format: int) -> FailedPrecondition:
    """MODEL_EXPORT_FAILED (code 9) with the cause and the requested format."""
    return FailedPrecondition(
        reason="MODEL_EXPORT_FAILED",
        message=message,
        metadata={"cause": cause, "model_format": ModelFormat.Name(model_format)},
    )


def format_of(name: str) -> int:
    """The ModelFormat of a value name without its prefix ("ONNX"); 0 when unknown or empty."""
    try:
        return ModelFormat.Value(f"MODEL_FORMAT_{name.upper()}") if name else 0
    except ValueError:
        return 0


def signature_of(json_object: dict) -> model_signature_pb2.ModelSignature:
    """A ModelSignature from its proto3 JSON (an empty one when it does not parse)."""
    signature = model_signature_pb2.ModelSignature()
    try:
        json_format.ParseDict(json_object, signature, ignore_unknown_fields=True)
    except json_format.ParseError:
        signature.Clear()
    return signature


def export(
    blobs: TrainingBlobs,
    report: OutputReport,
    output_dir: Path,
    *,
    requested: int,
    convert_to_onnx: bool,
    tolerance: object | None,
    scratch: Path,
) -> ExportedModel:
    """The job's output from what the trainer wrote (see the module docstring)."""
    model_format = format_of(report.format) or requested or ModelFormat.MODEL_FORMAT_OTHER
    wanted = ONNX if convert_to_onnx else requested
    if requested and model_format != requested:
        raise export_failed(
            "FORMAT_MISMATCH",
            f"the trainer wrote {ModelFormat.Name(model_format)}, not the requested "
            f"{ModelFormat.Name(requested)}",
            wanted,
        )
    signature = signature_of(report.signature)
    files = [path for path in output_dir.rglob("*") if path.is_file()]
    single = len(files) == 1 and files[0] == output_dir / report.entry_path
    content = output_dir / report.entry_path if single else output_dir
    artifact = _artifact(blobs, content, model_format, "" if single else report.entry_path)
    native_key = artifact[1]
    if single:
        _check_format(content, artifact[0], wanted)
    output = tj.TrainingJobOutput(
        artifact=artifact[0],
        signature=signature,
        framework=report.framework,
        framework_version=report.framework_version,
    )
    if not convert_to_onnx:
        return ExportedModel(output, native_key)
    if not single:
        raise export_failed(
            "CONVERSION_UNSUPPORTED", "only a single-file model converts to ONNX", ONNX
        )
    try:
        converted = conversion.convert_to_onnx(
            content.read_bytes(), model_format, signature, tolerance=tolerance
        )
    except LeptonError as error:
        raise export_failed(
            error.reason, f"the conversion to ONNX failed: {error.message}", ONNX
        ) from None
    scratch.mkdir(parents=True, exist_ok=True)
    onnx_path = scratch / "model.onnx"
    onnx_path.write_bytes(converted.onnx_model)
    onnx_artifact, key = _artifact(blobs, onnx_path, ONNX, "")
    output.source_artifact.CopyFrom(output.artifact)
    output.artifact.CopyFrom(onnx_artifact)
    output.signature.CopyFrom(converted.signature)
    output.equivalence.CopyFrom(converted.report)
    return ExportedModel(output, key, native_key)


def _artifact(
    blobs: TrainingBlobs, content: Path, model_format: int, entry_path: str
) -> tuple[model_artifact_pb2.ModelArtifact, str]:
    descriptor, key = blobs.put(content, media_type=media_type(model_format, content.is_dir()))
    artifact = model_artifact_pb2.ModelArtifact(
        descriptor=descriptor, format=model_format, entry_path=entry_path
    )
    return artifact, key


def _check_format(path: Path, artifact: model_artifact_pb2.ModelArtifact, wanted: int) -> None:
    with path.open("rb") as source:
        try:
            format_checks.check_content(source, path.stat().st_size, artifact, [])
        except format_checks.FormatMismatchError as error:
            raise export_failed("FORMAT_MISMATCH", str(error), wanted) from None
