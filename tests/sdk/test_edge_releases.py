"""Edge releases in the SDK: the canonical form and digest (EDG-103), signing and the
server's signature check (EDG-104), the agent's offline trust check (EDG-105) and
trust-root files."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import json_format

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import artifact_pb2, attestation_pb2, digest_pb2
from lepton_ai.edge import releases
from lepton_ai.edge.releases import (
    canonical_form,
    load_trust_roots,
    raw_public_key,
    release_digest,
    sign_release,
    trusted_signer,
    verify_release_signatures,
    write_trust_roots,
)

SHA256 = digest_pb2.DigestAlgorithm.DIGEST_ALGORITHM_SHA256
ED25519 = attestation_pb2.SignatureScheme.SIGNATURE_SCHEME_ED25519
VECTORS = release_pb2.ReleaseFileRole.RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS


def descriptor(content: bytes, media_type: str = "application/octet-stream"):
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(content),
        digest=digest_pb2.Digest(algorithm=SHA256, hex=hashlib.sha256(content).hexdigest()),
        media_type=media_type,
    )


def make_release(parameters: dict[str, str] | None = None) -> release_pb2.ModelRelease:
    release = release_pb2.ModelRelease(
        model_version="models/defect-detector/versions/3",
        artifact=descriptor(b"onnx bytes", "application/onnx"),
        runtime_config=release_pb2.RuntimeConfig(
            runtime="onnxruntime", execution_providers=["CPUExecutionProvider"]
        ),
        files=[
            release_pb2.ReleaseFile(path="vectors.pb", artifact=descriptor(b"v"), role=VECTORS),
            release_pb2.ReleaseFile(path="labels.txt", artifact=descriptor(b"cat\ndog\n")),
        ],
        parameters=parameters if parameters is not None else {"a": "1", "b": "2", "c": "3"},
        overridable_parameters=["a"],
    )
    release.health_check.vectors_path = "vectors.pb"
    release.health_check.timeout.FromSeconds(30)
    return release


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


# ------------------------------------------------------------------ canonical form and digest


def test_canonical_form_is_jcs_of_the_proto3_json_mapping():
    """EDG-103: sorted keys, no spaces, lowerCamelCase, enums by name, int64 and durations
    as strings."""
    form = canonical_form(make_release())
    document = json.loads(form)
    assert form == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert document["modelVersion"] == "models/defect-detector/versions/3"
    assert document["artifact"]["sizeBytes"] == "10"
    assert document["artifact"]["digest"]["algorithm"] == "DIGEST_ALGORITHM_SHA256"
    assert document["healthCheck"] == {"timeout": "30s", "vectorsPath": "vectors.pb"}
    assert document["files"][0]["role"] == "RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS"
    assert "format" not in document  # default values are omitted


def test_digest_is_sha256_of_the_canonical_form():
    release = make_release()
    digest = release_digest(release)
    assert digest.algorithm == SHA256
    assert digest.hex == hashlib.sha256(canonical_form(release)).hexdigest()


def test_digest_leaves_out_release_digest_and_signatures(key):
    """EDG-103: neither the digest field nor the signatures are part of the canonical form."""
    release = make_release()
    signed = sign_release(release, key, "k1")
    assert canonical_form(signed) == canonical_form(release)
    assert release_digest(signed) == release_digest(release)


def test_digest_is_stable_across_field_and_map_insertion_order():
    """EDG-103: the JSON form, not the wire bytes, is hashed: the order in which fields and
    map entries were set does not matter."""
    forward = make_release(parameters={"a": "1", "b": "2", "c": "3"})
    backward = make_release(parameters={"c": "3", "b": "2", "a": "1"})
    assert release_digest(forward) == release_digest(backward)
    # Fields set in another order, through the JSON mapping with reversed keys.
    document = json_format.MessageToDict(forward)
    reordered = json_format.ParseDict(
        dict(reversed(list(document.items()))), release_pb2.ModelRelease()
    )
    assert release_digest(reordered) == release_digest(forward)
    options = {"x": "1", "y": "2"}
    one = make_release()
    one.runtime_config.options.update(options)
    two = make_release()
    for name in reversed(options):
        two.runtime_config.options[name] = options[name]
    assert release_digest(one) == release_digest(two)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.parameters.__setitem__("b", "20"),
        lambda r: r.parameters.__setitem__("d", "4"),
        lambda r: r.overridable_parameters.append("b"),
        lambda r: r.health_check.timeout.FromSeconds(31),
        lambda r: setattr(r.health_check, "skip_inference_test", True),
        lambda r: setattr(r.health_check, "vectors_path", "other.pb"),
        lambda r: setattr(r.files[1], "path", "labels.json"),
        lambda r: r.files[1].artifact.CopyFrom(descriptor(b"cat\n")),
        lambda r: r.files.add(path="extra.json", artifact=descriptor(b"{}")),
        lambda r: r.files.pop(),
        lambda r: setattr(r.artifact, "media_type", "application/octet-stream"),
        lambda r: setattr(r, "model_version", "models/defect-detector/versions/4"),
        lambda r: setattr(r.runtime_config, "intra_op_threads", 2),
        lambda r: setattr(r, "format", 1),
    ],
)
def test_digest_changes_with_any_field(change):
    """EDG-103: every field a release holds is covered by its digest."""
    release = make_release()
    changed = make_release()
    change(changed)
    assert release_digest(changed) != release_digest(release)


# -------------------------------------------------------------------- signing, server check


def test_sign_release_sets_digest_and_appends_a_verifying_signature(key):
    """EDG-104: an Ed25519 signature over PAE(payload type, canonical form)."""
    release = make_release()
    signed = sign_release(release, key, "release-2026-q4")
    assert not release.signatures and not release.HasField("release_digest")  # a copy
    assert signed.release_digest == release_digest(release)
    (signature,) = signed.signatures
    assert signature.key_id == "release-2026-q4"
    assert signature.scheme == ED25519
    assert signature.public_key == raw_public_key(key)
    form = canonical_form(release)
    payload_type = b"application/vnd.lepton.edge.release.v1+json"
    signed_bytes = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type, len(form), form)
    key.public_key().verify(signature.signature, signed_bytes)
    assert verify_release_signatures(signed) == []


def test_a_second_signature_keeps_the_first(key):
    other = Ed25519PrivateKey.generate()
    twice = sign_release(sign_release(make_release(), key, "k1"), other, "k2")
    assert [s.key_id for s in twice.signatures] == ["k1", "k2"]
    assert verify_release_signatures(twice) == []


def test_sign_release_refuses_a_bad_key_id(key):
    with pytest.raises(ValueError):
        sign_release(make_release(), key, "")
    with pytest.raises(ValueError):
        sign_release(make_release(), key, "k" * 257)


def test_no_signature_is_a_problem():
    (problem,) = verify_release_signatures(make_release())
    assert problem.index is None and problem.field == "signatures"


def test_tampered_release_fails_the_signature_check(key):
    """EDG-104: a change after signing breaks every signature."""
    signed = sign_release(make_release(), key, "k1")
    signed.parameters["b"] = "tampered"
    (problem,) = verify_release_signatures(signed)
    assert (problem.index, problem.key_id, problem.field) == (0, "k1", "signature")


def test_tampered_signature_fails(key):
    signed = sign_release(make_release(), key, "k1")
    signature = signed.signatures[0]
    signature.signature = bytes([signature.signature[0] ^ 1]) + signature.signature[1:]
    (problem,) = verify_release_signatures(signed)
    assert problem.field == "signature"


@pytest.mark.parametrize(
    ("change", "field", "unsupported"),
    [
        (lambda s: setattr(s, "scheme", 0), "scheme", False),
        (lambda s: setattr(s, "scheme", 2), "scheme", True),
        (lambda s: setattr(s, "key_id", ""), "key_id", False),
        (lambda s: setattr(s, "key_id", "k" * 257), "key_id", False),
        (lambda s: setattr(s, "public_key", b"\0" * 31), "public_key", False),
        (lambda s: setattr(s, "signature", b"\0" * 63), "signature", False),
        (lambda s: setattr(s, "signature", b"\0" * 64), "signature", False),
    ],
)
def test_malformed_signature_fields_are_problems(key, change, field, unsupported):
    """EDG-104: scheme, key ID, key and signature sizes; a sigstore bundle is unsupported."""
    signed = sign_release(make_release(), key, "k1")
    change(signed.signatures[0])
    (problem,) = verify_release_signatures(signed)
    assert (problem.index, problem.field, problem.unsupported) == (0, field, unsupported)


def test_a_signature_with_another_public_key_fails(key):
    """The server checks each signature with the key beside it, whoever claims the key ID."""
    signed = sign_release(make_release(), key, "k1")
    signed.signatures[0].public_key = raw_public_key(Ed25519PrivateKey.generate())
    (problem,) = verify_release_signatures(signed)
    assert problem.field == "signature"


def test_every_signature_must_verify(key):
    signed = sign_release(sign_release(make_release(), key, "k1"), key, "k2")
    signed.signatures[1].signature = b"\0" * 64
    (problem,) = verify_release_signatures(signed)
    assert (problem.index, problem.key_id) == (1, "k2")


# ------------------------------------------------------------------ agent's offline check


def test_trusted_signer_names_the_trusted_key(key):
    """EDG-105: trusted by key ID and equal public key, verified with the trusted key."""
    other = Ed25519PrivateKey.generate()
    signed = sign_release(sign_release(make_release(), other, "stranger"), key, "k1")
    assert trusted_signer(signed, {"k1": raw_public_key(key)}) == "k1"
    assert trusted_signer(signed, {"k1": raw_public_key(key), "stranger": b"\1" * 32}) == "k1"


def test_untrusted_key_is_refused(key):
    """EDG-105: a signature that verifies, by a key the agent does not trust."""
    signed = sign_release(make_release(), key, "k1")
    assert trusted_signer(signed, {}) is None
    assert trusted_signer(signed, {"k2": raw_public_key(key)}) is None


def test_key_id_of_a_trusted_key_with_another_public_key_is_refused(key):
    """EDG-105: a signer that reuses a trusted key ID with its own key is not trusted."""
    impostor = Ed25519PrivateKey.generate()
    signed = sign_release(make_release(), impostor, "k1")
    assert verify_release_signatures(signed) == []  # the server accepts it...
    assert trusted_signer(signed, {"k1": raw_public_key(key)}) is None  # ...no agent does


def test_trusted_key_id_with_public_key_that_differs_from_the_root_is_refused(key):
    """The key beside a signature must equal the trusted one, even if the signature
    itself verifies with the trusted key."""
    signed = sign_release(make_release(), key, "k1")
    signed.signatures[0].public_key = raw_public_key(Ed25519PrivateKey.generate())
    assert trusted_signer(signed, {"k1": raw_public_key(key)}) is None


def test_tampered_release_is_refused_by_the_agent(key):
    signed = sign_release(make_release(), key, "k1")
    roots = {"k1": raw_public_key(key)}
    tampered = release_pb2.ModelRelease()
    tampered.CopyFrom(signed)
    tampered.files[0].artifact.CopyFrom(descriptor(b"other vectors"))
    assert trusted_signer(tampered, roots) is None
    # Even with its digest recomputed, the signature no longer covers it.
    tampered.release_digest.CopyFrom(release_digest(tampered))
    assert trusted_signer(tampered, roots) is None


def test_wrong_or_missing_digest_is_refused_by_the_agent(key):
    """EDG-105: the agent recomputes the digest and refuses a mismatch."""
    signed = sign_release(make_release(), key, "k1")
    roots = {"k1": raw_public_key(key)}
    signed.release_digest.hex = "0" * 64
    assert trusted_signer(signed, roots) is None
    signed.ClearField("release_digest")
    assert trusted_signer(signed, roots) is None


def test_tampered_signature_is_refused_by_the_agent(key):
    signed = sign_release(make_release(), key, "k1")
    signed.signatures[0].signature = b"\0" * 64
    assert trusted_signer(signed, {"k1": raw_public_key(key)}) is None


# ------------------------------------------------------------------------ trust-root files


def test_trust_roots_round_trip(tmp_path, key):
    path = tmp_path / "trust-roots.json"
    roots = {"k1": raw_public_key(key), "k0": b"\2" * 32}
    write_trust_roots(path, roots)
    document = json.loads(path.read_text())
    assert document["keys"][0] == {
        "key_id": "k0",
        "public_key": base64.b64encode(b"\2" * 32).decode(),
    }
    assert load_trust_roots(path) == roots


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        '{"keys": {}}',
        '{"keys": ["k1"]}',
        '{"keys": [{"public_key": "AAAA"}]}',
        '{"keys": [{"key_id": "", "public_key": "AAAA"}]}',
        '{"keys": [{"key_id": "k1", "public_key": "not base64!"}]}',
        '{"keys": [{"key_id": "k1", "public_key": "AAAA"}]}',
        json.dumps(
            {"keys": [{"key_id": "k1", "public_key": base64.b64encode(b"\0" * 32).decode()}] * 2}
        ),
    ],
)
def test_malformed_trust_roots_are_refused(tmp_path, document):
    path = tmp_path / "trust-roots.json"
    path.write_text(document)
    with pytest.raises(ValueError):
        load_trust_roots(path)


def test_writing_a_bad_trust_root_writes_nothing(tmp_path):
    path = tmp_path / "trust-roots.json"
    with pytest.raises(ValueError):
        write_trust_roots(path, {"k1": b"short"})
    assert not path.exists()


def test_payload_type_is_the_edge_release_type():
    assert releases.RELEASE_PAYLOAD_TYPE == "application/vnd.lepton.edge.release.v1+json"


def test_a_release_without_a_json_mapping_has_no_canonical_form(key):
    """A Duration out of range cannot be expressed in the proto3 JSON mapping."""
    signed = sign_release(make_release(), key, "k1")
    signed.health_check.timeout.nanos = 1_000_000_000
    with pytest.raises(ValueError):
        canonical_form(signed)
    assert trusted_signer(signed, {"k1": raw_public_key(key)}) is None
