"""Attestations of model versions: in-toto statements in DSSE envelopes, signed with Ed25519.

`verify_attestation` is what AttestModelVersion checks before it attaches anything (REG-050):
the payload type, the in-toto Statement v1, the subject naming the artifact's SHA-256, and
every Ed25519 signature over PAE(payload_type, payload) with the public key sent beside it.
Whether a key is trusted is the verifier's decision, by key ID; `verify_trusted` is that
offline check (spec/registry.md, "Signatures and attestations"). `sign_release` builds the
release attestation a publisher attaches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lepton.type.v1 import attestation_pb2, model_format_pb2
from lepton_server.runtime.errors import (
    InvalidArgument,
    Unimplemented,
    invalid_argument,
    invalid_field,
)

Attestation = attestation_pb2.Attestation
SignatureScheme = attestation_pb2.SignatureScheme
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
RELEASE_PREDICATE = "https://lepton.ai/attestation/release/v1"
PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v1"
MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_KEY_ID = 256
ED25519_KEY_BYTES = 32


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what each signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def verify_attestation(
    attestation: Attestation, artifact_sha256: str, field: str = "attestation"
) -> str:
    """Checks an attestation against an artifact; returns the statement's predicate type.

    Checks in this order: INVALID_ARGUMENT INVALID_FIELD (payload type, statement, each
    signature's key ID, scheme and key), UNIMPLEMENTED FEATURE_NOT_SUPPORTED for a sigstore
    bundle (checked with the scheme), INVALID_ARGUMENT ATTESTATION_SUBJECT_MISMATCH, then
    INVALID_ARGUMENT SIGNATURE_INVALID for the first signature that does not verify.
    """
    if attestation.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise invalid_field(f"{field}.payload_type", f"must be {IN_TOTO_PAYLOAD_TYPE}")
    if len(attestation.payload) > MAX_PAYLOAD_BYTES:
        raise invalid_field(f"{field}.payload", f"at most {MAX_PAYLOAD_BYTES} bytes")
    statement = _statement(attestation.payload, f"{field}.payload")
    if not attestation.signatures:
        raise invalid_field(f"{field}.signatures", "at least one signature")
    for index, signature in enumerate(attestation.signatures):
        _check_signature_fields(signature, f"{field}.signatures[{index}]")
    if not _names_digest(statement["subject"], artifact_sha256):
        raise invalid_argument(
            "ATTESTATION_SUBJECT_MISMATCH",
            f"{field}.payload",
            f"no subject of the statement has the artifact's sha256 {artifact_sha256}",
        )
    signed = pae(attestation.payload_type, attestation.payload)
    for index, signature in enumerate(attestation.signatures):
        if not _verifies(signature.public_key, signature.signature, signed):
            raise invalid_argument(
                "SIGNATURE_INVALID",
                f"{field}.signatures[{index}].signature",
                f"the Ed25519 signature of key {signature.key_id!r} does not verify",
            )
    return statement["predicateType"]


def _statement(payload: bytes, field: str) -> dict[str, Any]:
    """The in-toto Statement v1 the payload holds, or INVALID_FIELD."""
    try:
        statement = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as error:
        raise invalid_field(field, f"not JSON: {error}") from error
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise invalid_field(field, f"an in-toto statement has _type {STATEMENT_TYPE}")
    subjects = statement.get("subject")
    if (
        not isinstance(subjects, list)
        or not subjects
        or not all(isinstance(subject, dict) for subject in subjects)
    ):
        raise invalid_field(field, "subject is a non-empty list of resource descriptors")
    for subject in subjects:
        digest = subject.get("digest", {})
        if not isinstance(digest, dict) or not all(
            isinstance(value, str) for value in digest.values()
        ):
            raise invalid_field(field, "a subject digest maps algorithms to hex strings")
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise invalid_field(field, "predicateType is a non-empty string")
    if not isinstance(statement.get("predicate", {}), dict):
        raise invalid_field(field, "predicate is a JSON object")
    return statement


def _check_signature_fields(signature: attestation_pb2.AttestationSignature, field: str) -> None:
    if not 1 <= len(signature.key_id) <= MAX_KEY_ID:
        raise invalid_field(f"{field}.key_id", f"1 to {MAX_KEY_ID} characters")
    if signature.scheme == SignatureScheme.SIGNATURE_SCHEME_SIGSTORE_BUNDLE:
        raise Unimplemented(
            reason="FEATURE_NOT_SUPPORTED",
            message=f"{field}.scheme: this server does not verify sigstore bundles",
        )
    if signature.scheme != SignatureScheme.SIGNATURE_SCHEME_ED25519:
        raise invalid_field(f"{field}.scheme", "SIGNATURE_SCHEME_ED25519")
    if len(signature.public_key) != ED25519_KEY_BYTES:
        raise invalid_field(f"{field}.public_key", "a raw 32-byte Ed25519 public key")


def _names_digest(subjects: list[dict[str, Any]], artifact_sha256: str) -> bool:
    wanted = artifact_sha256.lower()
    return any(
        subject.get("digest", {}).get("sha256", "").lower() == wanted for subject in subjects
    )


def _verifies(public_key: bytes, signature: bytes, signed: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, signed)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_trusted(
    attestations: list[Attestation],
    artifact_sha256: str,
    trusted_keys: Mapping[str, bytes],
    predicate_type: str = RELEASE_PREDICATE,
) -> Attestation | None:
    """The offline check of an edge agent: the first attestation of `predicate_type` whose
    subject holds the artifact's SHA-256 and that a trusted key (by key ID, raw 32 bytes)
    signed; None when there is none. The keys the attestations carry are never trusted."""
    for attestation in attestations:
        if attestation.payload_type != IN_TOTO_PAYLOAD_TYPE:
            continue
        try:
            statement = _statement(attestation.payload, "payload")
        except InvalidArgument:
            continue
        if statement["predicateType"] != predicate_type or not _names_digest(
            statement["subject"], artifact_sha256
        ):
            continue
        signed = pae(attestation.payload_type, attestation.payload)
        for signature in attestation.signatures:
            key = trusted_keys.get(signature.key_id)
            if key is not None and _verifies(key, signature.signature, signed):
                return attestation
    return None


def release_statement(artifact_sha256: str, model_version: str, model_format: int) -> bytes:
    """The in-toto statement of a release signature of one version's artifact."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": model_version, "digest": {"sha256": artifact_sha256.lower()}}],
        "predicateType": RELEASE_PREDICATE,
        "predicate": {
            "model_version": model_version,
            "format": model_format_pb2.ModelFormat.Name(model_format),
        },
    }
    return json.dumps(statement, separators=(",", ":"), sort_keys=True).encode()


def sign_statement(statement: bytes, private_key: Ed25519PrivateKey, key_id: str) -> Attestation:
    """An attestation of `statement` signed with `private_key` (its public key beside it)."""
    signature = private_key.sign(pae(IN_TOTO_PAYLOAD_TYPE, statement))
    public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Attestation(
        payload_type=IN_TOTO_PAYLOAD_TYPE,
        payload=statement,
        signatures=[
            attestation_pb2.AttestationSignature(
                key_id=key_id,
                scheme=SignatureScheme.SIGNATURE_SCHEME_ED25519,
                public_key=public_key,
                signature=signature,
            )
        ],
    )


def sign_release(
    private_key: Ed25519PrivateKey,
    key_id: str,
    artifact_sha256: str,
    model_version: str,
    model_format: int,
) -> Attestation:
    """The release attestation of a version: `release_statement` signed with `private_key`."""
    statement = release_statement(artifact_sha256, model_version, model_format)
    return sign_statement(statement, private_key, key_id)
