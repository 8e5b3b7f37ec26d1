"""Attestations of model versions: real Ed25519 keys, in-toto statements, DSSE envelopes."""

from __future__ import annotations

import hashlib
import json

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lepton.type.v1 import attestation_pb2, model_format_pb2
from lepton_ai.registry import dsse_envelopes
from lepton_server.registry import attestations
from lepton_server.runtime.errors import LeptonError

ARTIFACT = hashlib.sha256(b"model bytes").hexdigest()
OTHER_ARTIFACT = hashlib.sha256(b"other bytes").hexdigest()
VERSION = "models/churn/versions/3"
ONNX = model_format_pb2.MODEL_FORMAT_ONNX


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def rejected(attestation: attestation_pb2.Attestation, sha256: str = ARTIFACT) -> LeptonError:
    with pytest.raises(LeptonError) as caught:
        attestations.verify_attestation(attestation, sha256)
    return caught.value


def test_pae_matches_the_dsse_specification():
    encoded = dsse_envelopes.pae("http://example.com/HelloWorld", b"hello world")
    assert encoded == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_a_signed_release_verifies_and_names_its_predicate(key):
    attestation = dsse_envelopes.sign_release(key, "release-2026-q4", ARTIFACT, VERSION, ONNX)
    assert (
        attestations.verify_attestation(attestation, ARTIFACT) == dsse_envelopes.RELEASE_PREDICATE
    )
    statement = json.loads(attestation.payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"][0]["digest"] == {"sha256": ARTIFACT}
    assert statement["predicate"] == {"model_version": VERSION, "format": "MODEL_FORMAT_ONNX"}
    (signature,) = attestation.signatures
    assert signature.public_key == raw_public(key)
    assert len(signature.signature) == 64


def test_the_artifact_digest_is_compared_without_case(key):
    attestation = dsse_envelopes.sign_release(key, "k", ARTIFACT.upper(), VERSION, ONNX)
    assert (
        attestations.verify_attestation(attestation, ARTIFACT) == dsse_envelopes.RELEASE_PREDICATE
    )


def test_provenance_with_several_subjects_and_signatures_verifies(key):
    statement = json.dumps(
        {
            "_type": dsse_envelopes.STATEMENT_TYPE,
            "subject": [
                {"name": "tokenizer.json", "digest": {"sha256": OTHER_ARTIFACT}},
                {"name": "model.onnx", "digest": {"sha256": ARTIFACT, "sha512": "00"}},
            ],
            "predicateType": dsse_envelopes.PROVENANCE_PREDICATE,
            "predicate": {"buildDefinition": {"buildType": "https://lepton.ai/training/v1"}},
        }
    ).encode()
    attestation = dsse_envelopes.sign_statement(statement, key, "builder")
    second = dsse_envelopes.sign_statement(statement, Ed25519PrivateKey.generate(), "ci")
    attestation.signatures.extend(second.signatures)
    assert attestations.verify_attestation(attestation, ARTIFACT) == (
        dsse_envelopes.PROVENANCE_PREDICATE
    )


def test_a_statement_about_another_artifact_is_a_subject_mismatch(key):
    attestation = dsse_envelopes.sign_release(key, "k", OTHER_ARTIFACT, VERSION, ONNX)
    error = rejected(attestation)
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "ATTESTATION_SUBJECT_MISMATCH",
    )


def test_a_tampered_payload_does_not_verify(key):
    attestation = dsse_envelopes.sign_release(key, "k", ARTIFACT, VERSION, ONNX)
    attestation.payload = attestation.payload.replace(b"versions/3", b"versions/4")
    error = rejected(attestation)
    assert (error.reason, error.violations[0].field) == (
        "SIGNATURE_INVALID",
        "attestation.signatures[0].signature",
    )


def test_a_signature_by_another_key_does_not_verify(key):
    attestation = dsse_envelopes.sign_release(key, "k", ARTIFACT, VERSION, ONNX)
    attestation.signatures[0].public_key = raw_public(Ed25519PrivateKey.generate())
    assert rejected(attestation).reason == "SIGNATURE_INVALID"


def test_one_bad_signature_among_good_ones_is_refused(key):
    attestation = dsse_envelopes.sign_release(key, "k", ARTIFACT, VERSION, ONNX)
    bad = attestation_pb2.AttestationSignature()
    bad.CopyFrom(attestation.signatures[0])
    bad.signature = bytes(64)
    attestation.signatures.append(bad)
    error = rejected(attestation)
    assert (error.reason, error.violations[0].field) == (
        "SIGNATURE_INVALID",
        "attestation.signatures[1].signature",
    )


def test_a_truncated_signature_does_not_verify(key):
    attestation = dsse_envelopes.sign_release(key, "k", ARTIFACT, VERSION, ONNX)
    attestation.signatures[0].signature = attestation.signatures[0].signature[:63]
    assert rejected(attestation).reason == "SIGNATURE_INVALID"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda a: setattr(a, "payload_type", "application/json"), "attestation.payload_type"),
        (lambda a: setattr(a, "payload", b"not json"), "attestation.payload"),
        (lambda a: setattr(a, "payload", b'{"_type": "x"}'), "attestation.payload"),
        (lambda a: setattr(a, "payload", b"x" * (1024 * 1024 + 1)), "attestation.payload"),
        (lambda a: a.ClearField("signatures"), "attestation.signatures"),
        (
            lambda a: setattr(a.signatures[0], "scheme", 0),
            "attestation.signatures[0].scheme",
        ),
        (
            lambda a: setattr(a.signatures[0], "public_key", b"short"),
            "attestation.signatures[0].public_key",
        ),
        (lambda a: setattr(a.signatures[0], "key_id", ""), "attestation.signatures[0].key_id"),
    ],
)
def test_malformed_attestations_are_invalid_fields(key, change, field):
    attestation = dsse_envelopes.sign_release(key, "k", ARTIFACT, VERSION, ONNX)
    change(attestation)
    error = rejected(attestation)
    assert (error.code, error.reason, error.violations[0].field) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
        field,
    )


@pytest.mark.parametrize(
    "statement",
    [
        {"_type": dsse_envelopes.STATEMENT_TYPE, "subject": [], "predicateType": "p"},
        {"_type": dsse_envelopes.STATEMENT_TYPE, "subject": ["x"], "predicateType": "p"},
        {"_type": dsse_envelopes.STATEMENT_TYPE, "subject": [{"digest": {"sha256": 1}}]},
        {"_type": dsse_envelopes.STATEMENT_TYPE, "subject": [{"digest": {}}], "predicateType": ""},
        {
            "_type": dsse_envelopes.STATEMENT_TYPE,
            "subject": [{"digest": {"sha256": ARTIFACT}}],
            "predicateType": "p",
            "predicate": [],
        },
    ],
)
def test_statements_that_break_in_toto_v1_are_invalid_fields(key, statement):
    attestation = dsse_envelopes.sign_statement(json.dumps(statement).encode(), key, "k")
    assert rejected(attestation).reason == "INVALID_FIELD"


def test_a_sigstore_bundle_is_not_supported(key):
    attestation = dsse_envelopes.sign_release(key, "k", ARTIFACT, VERSION, ONNX)
    attestation.signatures[0].scheme = attestation_pb2.SIGNATURE_SCHEME_SIGSTORE_BUNDLE
    error = rejected(attestation)
    assert (error.code, error.reason) == (
        grpc.StatusCode.UNIMPLEMENTED,
        "FEATURE_NOT_SUPPORTED",
    )


def test_an_offline_verifier_trusts_keys_by_id_only(key):
    release = dsse_envelopes.sign_release(key, "release", ARTIFACT, VERSION, ONNX)
    impostor_key = Ed25519PrivateKey.generate()
    impostor = dsse_envelopes.sign_release(impostor_key, "release", ARTIFACT, VERSION, ONNX)
    trusted = {"release": raw_public(key)}
    assert dsse_envelopes.verify_trusted([impostor, release], ARTIFACT, trusted) == release
    # The impostor carries a public key that verifies its own signature: never trusted.
    assert dsse_envelopes.verify_trusted([impostor], ARTIFACT, trusted) is None
    assert dsse_envelopes.verify_trusted([release], OTHER_ARTIFACT, trusted) is None
    assert dsse_envelopes.verify_trusted([release], ARTIFACT, {"other": raw_public(key)}) is None
    provenance = dsse_envelopes.PROVENANCE_PREDICATE
    assert dsse_envelopes.verify_trusted([release], ARTIFACT, trusted, provenance) is None
