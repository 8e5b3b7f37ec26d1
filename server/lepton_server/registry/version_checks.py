"""What CreateModelVersion accepts (REG-013, REG-047): the declared artifact, signature,
lineage, labels, metrics and metadata, each violation an INVALID_ARGUMENT naming its field
path."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from urllib.parse import urlparse

from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import digest_pb2, model_format_pb2, model_signature_pb2, tensor_pb2
from lepton_server.aip import resource_names
from lepton_server.aip.labels import KEY as LABEL_KEY
from lepton_server.aip.labels import check_labels
from lepton_server.aip.standard_fields import MAX_DESCRIPTION, check_text
from lepton_server.registry import model_names
from lepton_server.runtime.errors import ResourceExhausted, invalid_field

ARCHIVE_MEDIA_TYPE = "application/x-tar"
_HEX = re.compile(r"^[0-9a-f]{64}$")
_MAX_METADATA = 64
_MAX_METADATA_KEY = 256
_MAX_METADATA_VALUE = 4096
MAX_METRICS = 64


def check_new_version(version: mv.ModelVersion, max_artifact_bytes: int) -> None:
    """Raise the first violation of REG-013 in `version` (a CreateModelVersion's
    `model_version`)."""
    check_text(version.description, "model_version.description", MAX_DESCRIPTION)
    check_labels(version.labels, "model_version.labels")
    _check_artifact(version, max_artifact_bytes)
    if version.HasField("signature"):
        _check_signature(version.signature)
    _check_lineage(version.lineage)
    _check_metadata(version.metadata)
    check_metrics(version.metrics, "model_version.metrics")


def check_metrics(metrics: Mapping[str, float], field: str) -> None:
    """At most 64 finite values under label-key names (REG-047)."""
    if len(metrics) > MAX_METRICS:
        raise invalid_field(field, f"at most {MAX_METRICS} metrics, got {len(metrics)}")
    for name, value in metrics.items():
        if not LABEL_KEY.match(name):
            raise invalid_field(
                f"{field}.{name}",
                "a metric name is 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter",
            )
        if not math.isfinite(value):
            raise invalid_field(f"{field}.{name}", f"{value} is not a finite number")


def _check_artifact(version: mv.ModelVersion, max_artifact_bytes: int) -> None:
    field = "model_version.artifact"
    if not version.HasField("artifact"):
        raise invalid_field(field, "is required")
    artifact = version.artifact
    if not artifact.HasField("descriptor"):
        raise invalid_field(f"{field}.descriptor", "is required")
    descriptor = artifact.descriptor
    if descriptor.size_bytes < 1:
        raise invalid_field(f"{field}.descriptor.size_bytes", "must be at least 1")
    if descriptor.size_bytes > max_artifact_bytes:
        raise ResourceExhausted(
            reason="QUOTA_EXCEEDED",
            message=f"{descriptor.size_bytes} bytes exceed this server's artifact limit "
            f"of {max_artifact_bytes}",
        )
    check_digest(descriptor.digest, f"{field}.descriptor.digest")
    if artifact.format == model_format_pb2.MODEL_FORMAT_UNSPECIFIED:
        raise invalid_field(f"{field}.format", "MODEL_FORMAT_UNSPECIFIED is not a format")
    if descriptor.media_type == ARCHIVE_MEDIA_TYPE:
        if not artifact.entry_path:
            raise invalid_field(f"{field}.entry_path", "an archive needs its entry path")
        if not entry_path_ok(artifact.entry_path):
            raise invalid_field(
                f"{field}.entry_path", "must be relative, with '/' separators and no '..'"
            )
    elif artifact.entry_path:
        raise invalid_field(f"{field}.entry_path", "a single file has no entry path")


def check_digest(digest: digest_pb2.Digest, field: str) -> None:
    if digest.algorithm != digest_pb2.DIGEST_ALGORITHM_SHA256:
        raise invalid_field(f"{field}.algorithm", "must be DIGEST_ALGORITHM_SHA256")
    if not _HEX.match(digest.hex):
        raise invalid_field(f"{field}.hex", "must be 64 lowercase hexadecimal characters")


def entry_path_ok(path: str) -> bool:
    """Relative, '/'-separated, without a '..' segment or an empty one ('.' is the root)."""
    if path == ".":
        return True
    parts = path.split("/")
    return not path.startswith("/") and "\\" not in path and all(p not in ("", "..") for p in parts)


def _check_signature(signature: model_signature_pb2.ModelSignature) -> None:
    for side in ("inputs", "outputs"):
        seen: set[str] = set()
        for i, tensor in enumerate(getattr(signature, side)):
            field = f"model_version.signature.{side}[{i}]"
            if not tensor.name:
                raise invalid_field(f"{field}.name", "a tensor needs a name")
            if tensor.name in seen:
                raise invalid_field(f"{field}.name", f"{tensor.name!r} is named twice")
            seen.add(tensor.name)
            if tensor.data_type == tensor_pb2.DATA_TYPE_UNSPECIFIED:
                raise invalid_field(f"{field}.data_type", "a tensor needs a data type")


def _check_lineage(lineage: mv.ModelLineage) -> None:
    for i, dataset in enumerate(lineage.datasets):
        field = f"model_version.lineage.datasets[{i}]"
        source = dataset.WhichOneof("source")
        if source is None or not getattr(dataset, source):
            raise invalid_field(field, "needs a dataset_version or a uri")
        if source == "dataset_version":
            resource_names.parse(
                dataset.dataset_version, ("datasets", "versions"), f"{field}.dataset_version"
            )
    if lineage.source_uri:
        parsed = urlparse(lineage.source_uri)
        if "@" in parsed.netloc or parsed.query:
            # Requests are recorded and listed: a URI must not carry credentials or a token.
            raise invalid_field(
                "model_version.lineage.source_uri",
                "a source URI holds no user information and no query string",
            )
    if lineage.training_job:
        resource_names.parse(
            lineage.training_job, ("trainingJobs",), "model_version.lineage.training_job"
        )
    if lineage.parent_model_version:
        model_names.parse_version(
            lineage.parent_model_version, "model_version.lineage.parent_model_version"
        )


def _check_metadata(metadata: dict[str, str] | object) -> None:
    entries = dict(metadata)  # type: ignore[call-overload]
    if len(entries) > _MAX_METADATA:
        raise invalid_field("model_version.metadata", f"at most {_MAX_METADATA} entries")
    for key, value in entries.items():
        if not 1 <= len(key) <= _MAX_METADATA_KEY:
            raise invalid_field("model_version.metadata", "keys are 1-256 characters")
        if len(value.encode()) > _MAX_METADATA_VALUE:
            raise invalid_field(f"model_version.metadata.{key}", "values are at most 4 KiB")
