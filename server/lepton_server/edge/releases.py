"""The checks CreateRollout makes of a release before it stores it (EDG-064, EDG-065,
EDG-103, EDG-104, EDG-107), and the release it then stores.

`validate_release` checks every field rule of release.proto in this order: the model version
name (INVALID_NAME; a concrete version, since a server with a registry has resolved an alias
before, registry_releases.py); the fields (INVALID_FIELD); a client-supplied release digest
against the canonical one (INVALID_FIELD); the signatures (RELEASE_SIGNATURE_INVALID, or
FEATURE_NOT_SUPPORTED for a sigstore bundle); and last whether the server can serve every
artifact (FAILED_PRECONDITION ARTIFACT_NOT_AVAILABLE). It returns a copy with
`release_digest` set. Trust is not decided here; agents decide it (EDG-105).

The canonical form, the digest and signature verification are the SDK's
(`lepton_ai.edge.releases`), so server, publishers and agents compute the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from google.protobuf import duration_pb2

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import artifact_pb2, digest_pb2
from lepton_ai.edge.releases import release_digest, verify_release_signatures
from lepton_server.registry.model_names import parse_version
from lepton_server.runtime.errors import (
    FailedPrecondition,
    Unimplemented,
    invalid_argument,
    invalid_field,
)

ModelRelease = release_pb2.ModelRelease
ReleaseFileRole = release_pb2.ReleaseFileRole
ARCHIVE_MEDIA_TYPE = "application/x-tar"
# The name a single-file model artifact is installed under in a release's directory
# (spec/edge.md, "INSTALLING"), so no release file may take it.
MODEL_FILE_NAME = "model"
MAX_FILES = 64
MAX_PATH = 255
MAX_PARAMETERS = 64
MAX_PARAMETER_KEY = 63
MAX_PARAMETER_BYTES = 64 * 1024
MAX_RUNTIME_OPTIONS = 64
MIN_HEALTH_CHECK_TIMEOUT = 1.0
MAX_HEALTH_CHECK_TIMEOUT = 3600.0
MAX_STABILITY_PERIOD = 24 * 3600.0
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_MAX_NANOS = 999_999_999


# Whether the server can serve the artifact with this SHA-256 (lowercase hex) to devices.
HasArtifact = Callable[[str], bool]


def validate_release(
    release: ModelRelease,
    has_artifact: HasArtifact,
    field: str = "rollout.release",
) -> ModelRelease:
    """The release CreateRollout stores: a copy of `release` with its release digest set;
    or the LeptonError of the first rule it breaks (see the module docstring). `field` is
    the release's path in the request, the prefix of every field violation."""
    checked = ModelRelease()
    checked.CopyFrom(release)
    parse_version(checked.model_version, f"{field}.model_version")
    _check_fields(checked, field)
    digest = release_digest(checked)
    if checked.HasField("release_digest") and checked.release_digest != digest:
        raise invalid_field(
            f"{field}.release_digest",
            f"differs from the release's canonical digest sha256:{digest.hex}",
        )
    checked.release_digest.CopyFrom(digest)
    _check_signatures(checked, field)
    for descriptor in (checked.artifact, *(file.artifact for file in checked.files)):
        if not has_artifact(descriptor.digest.hex):
            raise FailedPrecondition(
                reason="ARTIFACT_NOT_AVAILABLE",
                message=f"this server cannot serve the artifact sha256:{descriptor.digest.hex}",
                metadata={"digest": descriptor.digest.hex},
            )
    return checked


def _check_fields(release: ModelRelease, field: str) -> None:
    if not release.HasField("artifact"):
        raise invalid_field(
            f"{field}.artifact", "required on a server without a co-hosted registry"
        )
    check_artifact(release.artifact, f"{field}.artifact")
    _check_entry_path(release, field)
    _check_runtime_config(release, field)
    _check_health_check(release, field)
    check_parameters(release.parameters, f"{field}.parameters")
    _check_files(release, field)
    _check_overridable_parameters(release, field)


def check_artifact(artifact: artifact_pb2.ArtifactDescriptor, field: str) -> None:
    """INVALID_FIELD unless `artifact` has size_bytes > 0 and a SHA-256 digest of 64
    lowercase hexadecimal characters."""
    if artifact.size_bytes <= 0:
        raise invalid_field(f"{field}.size_bytes", "must be > 0")
    if artifact.digest.algorithm != digest_pb2.DigestAlgorithm.DIGEST_ALGORITHM_SHA256:
        raise invalid_field(f"{field}.digest.algorithm", "must be DIGEST_ALGORITHM_SHA256")
    if not _SHA256_HEX.match(artifact.digest.hex):
        raise invalid_field(f"{field}.digest.hex", "64 lowercase hexadecimal characters")


def is_archive(artifact: artifact_pb2.ArtifactDescriptor) -> bool:
    """Whether the artifact is an uncompressed tar archive the agent unpacks."""
    return artifact.media_type.split(";")[0].strip().lower() == ARCHIVE_MEDIA_TYPE


def _check_entry_path(release: ModelRelease, field: str) -> None:
    path_field = f"{field}.entry_path"
    if not is_archive(release.artifact):
        if release.entry_path:
            raise invalid_field(path_field, "must be empty for a single-file artifact")
        return
    if not release.entry_path:
        raise invalid_field(path_field, f"required for an archive ({ARCHIVE_MEDIA_TYPE})")
    if release.entry_path == ".":  # the archive's root directory, e.g. a SavedModel's
        return
    problem = relative_path_problem(release.entry_path)
    if problem:
        raise invalid_field(path_field, problem)


def relative_path_problem(path: str) -> str | None:
    """What makes `path` unusable as a path inside a release directory, or None: it must be
    1-255 characters of '/'-separated names, none of them empty, "." or "..", without a
    leading '/', a backslash or a NUL character."""
    if not 1 <= len(path) <= MAX_PATH:
        return f"1 to {MAX_PATH} characters"
    if path.startswith("/"):
        return "must be relative (no leading '/')"
    if "\\" in path or "\0" in path:
        return "'/' separates names; no backslash or NUL character"
    segments = path.split("/")
    if ".." in segments:
        return "must not contain a '..' segment"
    if "" in segments or "." in segments:
        return "no empty or '.' segments"
    return None


def _check_runtime_config(release: ModelRelease, field: str) -> None:
    config = release.runtime_config
    if not config.runtime:
        raise invalid_field(f"{field}.runtime_config.runtime", "required, e.g. onnxruntime")
    if config.intra_op_threads < 0:
        raise invalid_field(f"{field}.runtime_config.intra_op_threads", "must be >= 0")
    if len(config.options) > MAX_RUNTIME_OPTIONS:
        raise invalid_field(
            f"{field}.runtime_config.options", f"at most {MAX_RUNTIME_OPTIONS} entries"
        )


def _check_health_check(release: ModelRelease, field: str) -> None:
    health = release.health_check
    timeout = _seconds(health.timeout, f"{field}.health_check.timeout")
    if timeout != 0 and not MIN_HEALTH_CHECK_TIMEOUT <= timeout <= MAX_HEALTH_CHECK_TIMEOUT:
        raise invalid_field(
            f"{field}.health_check.timeout", "between 1 second and 1 hour (0: 120 seconds)"
        )
    stability = _seconds(health.stability_period, f"{field}.health_check.stability_period")
    if not 0 <= stability <= MAX_STABILITY_PERIOD:
        raise invalid_field(f"{field}.health_check.stability_period", "between 0 and 24 hours")
    path_field = f"{field}.health_check.vectors_path"
    if not health.vectors_path:
        if not health.skip_inference_test:
            raise invalid_field(
                path_field, "required unless health_check.skip_inference_test is true"
            )
        return
    role = ReleaseFileRole.RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS
    if not any(f.path == health.vectors_path and f.role == role for f in release.files):
        raise invalid_field(
            path_field,
            f"{health.vectors_path!r} is not the path of a file of role "
            "RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS",
        )


def _seconds(duration: duration_pb2.Duration, field: str) -> float:
    nanos_ok = -_MAX_NANOS <= duration.nanos <= _MAX_NANOS
    if not nanos_ok or duration.seconds * duration.nanos < 0:
        raise invalid_field(field, "not a valid duration")
    return duration.seconds + duration.nanos / 1e9


def check_parameters(parameters: Mapping[str, str], field: str) -> None:
    """INVALID_FIELD unless `parameters` has at most 64 entries, keys of 1-63 characters and
    at most 64 KiB of keys and values (UTF-8). Deployment.parameter_overrides follows the
    same rules (EDG-110)."""
    if len(parameters) > MAX_PARAMETERS:
        raise invalid_field(field, f"at most {MAX_PARAMETERS} entries")
    size = 0
    for key, value in parameters.items():
        if not 1 <= len(key) <= MAX_PARAMETER_KEY:
            raise invalid_field(
                f"{field}[{key!r}]", f"keys have 1 to {MAX_PARAMETER_KEY} characters"
            )
        size += len(key.encode()) + len(value.encode())
    if size > MAX_PARAMETER_BYTES:
        raise invalid_field(field, f"at most {MAX_PARAMETER_BYTES} bytes of keys and values")


def _check_files(release: ModelRelease, field: str) -> None:
    if len(release.files) > MAX_FILES:
        raise invalid_field(f"{field}.files", f"at most {MAX_FILES} files")
    seen: set[str] = set()
    for index, file in enumerate(release.files):
        path_field = f"{field}.files[{index}].path"
        problem = relative_path_problem(file.path)
        if problem:
            raise invalid_field(path_field, problem)
        # A single-file model is installed as "model": no file may be it or lie under it.
        if file.path == MODEL_FILE_NAME or file.path.startswith(MODEL_FILE_NAME + "/"):
            raise invalid_field(path_field, f"{MODEL_FILE_NAME!r} is the model's own path")
        if file.path in seen:
            raise invalid_field(path_field, f"{file.path!r} is the path of an earlier file")
        seen.add(file.path)
        if not file.HasField("artifact"):
            raise invalid_field(f"{field}.files[{index}].artifact", "required")
        check_artifact(file.artifact, f"{field}.files[{index}].artifact")


def _check_overridable_parameters(release: ModelRelease, field: str) -> None:
    seen: set[str] = set()
    for index, key in enumerate(release.overridable_parameters):
        key_field = f"{field}.overridable_parameters[{index}]"
        if key not in release.parameters:
            raise invalid_field(key_field, f"{key!r} is not a key of parameters")
        if key in seen:
            raise invalid_field(key_field, f"{key!r} is listed twice")
        seen.add(key)


def _check_signatures(release: ModelRelease, field: str) -> None:
    problems = verify_release_signatures(release)
    for problem in problems:
        if problem.unsupported:
            raise Unimplemented(
                reason="FEATURE_NOT_SUPPORTED",
                message=f"{field}.signatures[{problem.index}].scheme: this server does not "
                "verify sigstore bundles",
            )
    if not problems:
        return
    problem = problems[0]
    if problem.index is None:
        path = f"{field}.signatures"
    else:
        path = f"{field}.signatures[{problem.index}].{problem.field}"
    metadata = {"key_id": problem.key_id} if problem.key_id else {}
    raise invalid_argument("RELEASE_SIGNATURE_INVALID", path, problem.description, **metadata)
