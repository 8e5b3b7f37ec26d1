"""The checks CreateRollout makes of a release (EDG-064, EDG-065, EDG-103, EDG-104, EDG-107),
called directly on the domain function with real Ed25519 keys."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import artifact_pb2, digest_pb2, model_format_pb2
from lepton_ai.edge.releases import release_digest, sign_release
from lepton_server.edge.releases import check_parameters, validate_release
from lepton_server.runtime.errors import LeptonError

SHA256 = digest_pb2.DigestAlgorithm.DIGEST_ALGORITHM_SHA256
VECTORS = release_pb2.ReleaseFileRole.RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS
CONFIGURATION = release_pb2.ReleaseFileRole.RELEASE_FILE_ROLE_CONFIGURATION
ONNX = model_format_pb2.ModelFormat.MODEL_FORMAT_ONNX
KEY = Ed25519PrivateKey.generate()


def descriptor(content: bytes, media_type: str = "application/octet-stream"):
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(content),
        digest=digest_pb2.Digest(algorithm=SHA256, hex=hashlib.sha256(content).hexdigest()),
        media_type=media_type,
    )


MODEL = descriptor(b"onnx bytes", "application/onnx")
VECTORS_FILE = descriptor(b"vectors")
LABELS_FILE = descriptor(b"cat\ndog\n")
REGISTRY_ARTIFACT = descriptor(b"registry archive", "application/x-tar")


def unsigned() -> release_pb2.ModelRelease:
    release = release_pb2.ModelRelease(
        model_version="models/defect-detector/versions/3",
        artifact=MODEL,
        runtime_config=release_pb2.RuntimeConfig(runtime="onnxruntime"),
        files=[
            release_pb2.ReleaseFile(path="vectors.pb", artifact=VECTORS_FILE, role=VECTORS),
            release_pb2.ReleaseFile(path="config/labels.txt", artifact=LABELS_FILE),
        ],
        parameters={"score_threshold": "0.6", "camera": "rtsp://camera"},
        overridable_parameters=["camera"],
    )
    release.health_check.vectors_path = "vectors.pb"
    return release


def signed(release: release_pb2.ModelRelease | None = None) -> release_pb2.ModelRelease:
    return sign_release(release if release is not None else unsigned(), KEY, "k1")


def every_artifact(_hex: str) -> bool:
    return True


def validate(release: release_pb2.ModelRelease, **kwargs) -> release_pb2.ModelRelease:
    return validate_release(release, kwargs.pop("has_artifact", every_artifact), **kwargs)


def rejected(release: release_pb2.ModelRelease, **kwargs) -> LeptonError:
    with pytest.raises(LeptonError) as caught:
        validate(release, **kwargs)
    return caught.value


def assert_invalid_field(release: release_pb2.ModelRelease, field: str, **kwargs) -> None:
    error = rejected(release, **kwargs)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    assert [v.field for v in error.violations] == [field]


def modified(change) -> release_pb2.ModelRelease:
    """A release changed by `change` and then signed, so that only the change is wrong; one
    without a canonical form (a Duration out of range) cannot be signed and stays unsigned."""
    release = unsigned()
    change(release)
    try:
        return signed(release)
    except ValueError:
        return release


# --------------------------------------------------------------------------- accepted


def test_a_valid_release_is_stored_with_its_digest():
    """EDG-103: the stored release carries the digest of its canonical form."""
    release = signed()
    release.ClearField("release_digest")  # a client need not send it
    stored = validate(release)
    assert stored.release_digest == release_digest(unsigned())
    assert list(stored.signatures) == list(release.signatures)
    assert not release.HasField("release_digest")  # the request is not changed


def test_a_matching_client_digest_is_accepted():
    assert validate(signed()).release_digest == release_digest(unsigned())


def test_skip_inference_test_needs_no_vectors():
    def change(release):
        release.health_check.Clear()
        release.health_check.skip_inference_test = True

    validate(modified(change))


@pytest.mark.parametrize("entry_path", ["model/model.onnx", "MLmodel", "."])
def test_an_archive_with_an_entry_path_is_accepted(entry_path):
    """ "." names the archive's root, as the registry's entry path of a SavedModel."""

    def change(release):
        release.artifact.CopyFrom(REGISTRY_ARTIFACT)
        release.entry_path = entry_path

    validate(modified(change))


def test_limits_are_inclusive():
    def change(release):
        release.parameters.clear()
        release.parameters.update({f"p{i}": "" for i in range(63)})
        release.parameters["k" * 63] = "v" * (64 * 1024 - 63 - sum(len(f"p{i}") for i in range(63)))
        release.overridable_parameters[:] = []
        release.health_check.timeout.FromSeconds(3600)
        release.health_check.stability_period.FromSeconds(24 * 3600)
        for index in range(62):
            release.files.add(path=f"f/{index}", artifact=LABELS_FILE)
        release.files[0].path = "v" * 255
        release.health_check.vectors_path = "v" * 255

    validate(modified(change))


# ----------------------------------------------------------------------- model version


@pytest.mark.parametrize(
    "name",
    ["", "models/x", "models/x/versions/0", "models/X/versions/1", "models/x/aliases/prod"],
)
def test_malformed_or_alias_model_version_without_a_registry(name):
    """EDG-064: INVALID_NAME; an alias needs a co-hosted registry."""
    error = rejected(modified(lambda r: setattr(r, "model_version", name)))
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_NAME")
    assert [v.field for v in error.violations] == ["rollout.release.model_version"]


def test_field_prefix_can_be_chosen():
    error = rejected(modified(lambda r: setattr(r, "model_version", "x")), field="release")
    assert [v.field for v in error.violations] == ["release.model_version"]


def test_missing_artifact_without_a_registry():
    """EDG-064: a server without a co-hosted registry needs the artifact."""
    assert_invalid_field(modified(lambda r: r.ClearField("artifact")), "rollout.release.artifact")


# ------------------------------------------------------------------------- field rules


def _archive_without_entry_path(release):
    release.artifact.media_type = "application/x-tar"


def _archive_entry_path(path):
    def change(release):
        release.artifact.media_type = "application/x-tar"
        release.entry_path = path

    return change


def _set_duration(which, seconds, nanos=0):
    def change(release):
        duration = getattr(release.health_check, which)
        duration.seconds, duration.nanos = seconds, nanos

    return change


def _files(count):
    def change(release):
        for index in range(count - len(release.files)):
            release.files.add(path=f"extra/{index}", artifact=LABELS_FILE)

    return change


def _file_path(path):
    return lambda r: setattr(r.files[1], "path", path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # artifact (EDG-064)
        (lambda r: setattr(r.artifact, "size_bytes", 0), "artifact.size_bytes"),
        (lambda r: setattr(r.artifact, "size_bytes", -1), "artifact.size_bytes"),
        (lambda r: setattr(r.artifact.digest, "algorithm", 0), "artifact.digest.algorithm"),
        (lambda r: setattr(r.artifact.digest, "hex", "AB" * 32), "artifact.digest.hex"),
        (lambda r: setattr(r.artifact.digest, "hex", "ab"), "artifact.digest.hex"),
        # entry_path
        (lambda r: setattr(r, "entry_path", "model.onnx"), "entry_path"),
        (_archive_without_entry_path, "entry_path"),
        (_archive_entry_path("/model.onnx"), "entry_path"),
        (_archive_entry_path("a/../model.onnx"), "entry_path"),
        (_archive_entry_path(".."), "entry_path"),
        (_archive_entry_path("./model"), "entry_path"),
        # runtime_config
        (lambda r: r.ClearField("runtime_config"), "runtime_config.runtime"),
        (lambda r: setattr(r.runtime_config, "runtime", ""), "runtime_config.runtime"),
        (
            lambda r: setattr(r.runtime_config, "intra_op_threads", -1),
            "runtime_config.intra_op_threads",
        ),
        (
            lambda r: r.runtime_config.options.update({f"o{i}": "" for i in range(65)}),
            "runtime_config.options",
        ),
        # health_check (EDG-064, EDG-107)
        (_set_duration("timeout", 0, 999_999_999), "health_check.timeout"),
        (_set_duration("timeout", 3600, 1), "health_check.timeout"),
        (_set_duration("timeout", -5), "health_check.timeout"),
        (_set_duration("timeout", 5, -1), "health_check.timeout"),
        (_set_duration("timeout", 5, 1_000_000_000), "health_check.timeout"),
        (_set_duration("stability_period", 24 * 3600, 1), "health_check.stability_period"),
        (_set_duration("stability_period", -1), "health_check.stability_period"),
        (lambda r: r.ClearField("health_check"), "health_check.vectors_path"),
        (
            lambda r: setattr(r.health_check, "vectors_path", "other.pb"),
            "health_check.vectors_path",
        ),
        (
            lambda r: setattr(r.health_check, "vectors_path", "config/labels.txt"),
            "health_check.vectors_path",
        ),
        (lambda r: setattr(r.files[0], "role", CONFIGURATION), "health_check.vectors_path"),
        # parameters
        (lambda r: r.parameters.update({f"p{i}": "" for i in range(63)}), "parameters"),
        (lambda r: r.parameters.update({"": "x"}), "parameters['']"),
        (lambda r: r.parameters.update({"k" * 64: "x"}), f"parameters[{'k' * 64!r}]"),
        (lambda r: r.parameters.update({"big": "x" * (64 * 1024)}), "parameters"),
        # files (EDG-107)
        (_files(65), "files"),
        (_file_path(""), "files[1].path"),
        (_file_path("x" * 256), "files[1].path"),
        (_file_path("/etc/passwd"), "files[1].path"),
        (_file_path("../escape"), "files[1].path"),
        (_file_path("a/../../escape"), "files[1].path"),
        (_file_path("a//b"), "files[1].path"),
        (_file_path("a/./b"), "files[1].path"),
        (_file_path("a\\b"), "files[1].path"),
        (_file_path("vectors.pb"), "files[1].path"),
        (_file_path("model"), "files[1].path"),
        (_file_path("model/weights.bin"), "files[1].path"),
        (lambda r: r.files[1].ClearField("artifact"), "files[1].artifact"),
        (lambda r: setattr(r.files[1].artifact, "size_bytes", 0), "files[1].artifact.size_bytes"),
        (
            lambda r: setattr(r.files[1].artifact.digest, "algorithm", 0),
            "files[1].artifact.digest.algorithm",
        ),
        # overridable_parameters (EDG-107)
        (lambda r: r.overridable_parameters.append("missing"), "overridable_parameters[1]"),
        (lambda r: r.overridable_parameters.append("camera"), "overridable_parameters[1]"),
    ],
)
def test_field_rules(change, field):
    """Every rule of release.proto: INVALID_ARGUMENT / INVALID_FIELD naming the field."""
    assert_invalid_field(modified(change), f"rollout.release.{field}")


def test_check_parameters_for_deployment_overrides():
    """EDG-110 reuses the parameter rules."""
    check_parameters({"camera": "rtsp://x"}, "deployment.parameter_overrides")
    with pytest.raises(LeptonError) as caught:
        check_parameters({"": "x"}, "deployment.parameter_overrides")
    assert caught.value.violations[0].field == "deployment.parameter_overrides['']"


# ------------------------------------------------------------------------------ digest


def test_a_client_digest_that_differs_is_invalid():
    """EDG-103: INVALID_FIELD naming rollout.release.release_digest."""
    release = signed()
    release.release_digest.hex = "0" * 64
    assert_invalid_field(release, "rollout.release.release_digest")
    release.release_digest.hex = release_digest(unsigned()).hex
    release.release_digest.algorithm = 0
    assert_invalid_field(release, "rollout.release.release_digest")


# -------------------------------------------------------------------------- signatures


def assert_signature_invalid(release, field: str, key_id: str | None) -> None:
    error = rejected(release)
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "RELEASE_SIGNATURE_INVALID",
    )
    assert [v.field for v in error.violations] == [field]
    assert dict(error.metadata) == ({"key_id": key_id} if key_id else {})


def test_a_release_without_signature_is_refused():
    """EDG-104: at least one signature."""
    assert_signature_invalid(unsigned(), "rollout.release.signatures", None)


def test_a_tampered_release_is_refused():
    release = signed()
    release.parameters["score_threshold"] = "0.1"
    release.ClearField("release_digest")
    assert_signature_invalid(release, "rollout.release.signatures[0].signature", "k1")


def test_a_tampered_signature_is_refused():
    release = signed()
    release.signatures[0].signature = b"\0" * 64
    assert_signature_invalid(release, "rollout.release.signatures[0].signature", "k1")


def test_a_key_id_with_another_public_key_is_refused():
    release = signed()
    other = Ed25519PrivateKey.generate()
    release.signatures[0].public_key = signed_with(other).signatures[0].public_key
    assert_signature_invalid(release, "rollout.release.signatures[0].signature", "k1")


def signed_with(key: Ed25519PrivateKey) -> release_pb2.ModelRelease:
    return sign_release(unsigned(), key, "other")


@pytest.mark.parametrize(
    ("change", "field", "key_id"),
    [
        (lambda s: setattr(s, "scheme", 0), "scheme", "k1"),
        (lambda s: setattr(s, "key_id", ""), "key_id", None),
        (lambda s: setattr(s, "key_id", "k" * 257), "key_id", "k" * 257),
        (lambda s: setattr(s, "public_key", b"\0" * 33), "public_key", "k1"),
        (lambda s: setattr(s, "signature", b"\0" * 65), "signature", "k1"),
    ],
)
def test_malformed_signatures_are_refused(change, field, key_id):
    """EDG-104: scheme, key ID, key and signature size."""
    release = signed()
    change(release.signatures[0])
    assert_signature_invalid(release, f"rollout.release.signatures[0].{field}", key_id)


def test_one_bad_signature_among_good_ones_is_refused():
    """EDG-104: every signature must verify, not just one."""
    release = sign_release(signed(), Ed25519PrivateKey.generate(), "k2")
    release.signatures[1].signature = b"\0" * 64
    assert_signature_invalid(release, "rollout.release.signatures[1].signature", "k2")


def test_an_untrusted_but_valid_signature_is_accepted():
    """EDG-104: the server decides no trust; any key that verifies will do."""
    validate(sign_release(unsigned(), Ed25519PrivateKey.generate(), "anyone"))


def test_a_sigstore_bundle_is_not_supported():
    release = signed()
    release.signatures.add(key_id="keyless", scheme=2, signature=b"bundle")
    error = rejected(release)
    assert (error.code, error.reason) == (
        grpc.StatusCode.UNIMPLEMENTED,
        "FEATURE_NOT_SUPPORTED",
    )


# ------------------------------------------------------------------------ availability


@pytest.mark.parametrize("missing", [MODEL, VECTORS_FILE, LABELS_FILE])
def test_an_artifact_the_server_cannot_serve(missing):
    """EDG-065, EDG-107: FAILED_PRECONDITION ARTIFACT_NOT_AVAILABLE with the digest."""
    asked: list[str] = []

    def has_artifact(hex_digest: str) -> bool:
        asked.append(hex_digest)
        return hex_digest != missing.digest.hex

    error = rejected(signed(), has_artifact=has_artifact)
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ARTIFACT_NOT_AVAILABLE",
    )
    assert dict(error.metadata) == {"digest": missing.digest.hex}
    assert asked[-1] == missing.digest.hex


def test_availability_is_checked_after_the_fields():
    """A malformed release is INVALID_ARGUMENT whatever the server stores."""
    release = modified(lambda r: setattr(r.runtime_config, "runtime", ""))
    error = rejected(release, has_artifact=lambda _hex: False)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
