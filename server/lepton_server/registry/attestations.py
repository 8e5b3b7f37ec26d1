"""The checks AttestModelVersion makes before it attaches an attestation (REG-050).

The payload type, the in-toto Statement v1, each signature's fields, the subject naming the
version's artifact SHA-256, and every Ed25519 signature over PAE(payload_type, payload) with
the public key sent beside it. The format itself, signing and the offline check of a trusted
key are in `dsse_envelopes`.
"""

from __future__ import annotations

from lepton.type.v1 import attestation_pb2
from lepton_ai.registry.dsse_envelopes import (
    IN_TOTO_PAYLOAD_TYPE,
    ed25519_verifies,
    names_digest,
    pae,
    parse_statement,
)
from lepton_server.runtime.errors import Unimplemented, invalid_argument, invalid_field

SignatureScheme = attestation_pb2.SignatureScheme
MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_KEY_ID = 256
ED25519_KEY_BYTES = 32


def verify_attestation(
    attestation: attestation_pb2.Attestation, artifact_sha256: str, field: str = "attestation"
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
    try:
        statement = parse_statement(attestation.payload)
    except ValueError as error:
        raise invalid_field(f"{field}.payload", str(error)) from error
    if not attestation.signatures:
        raise invalid_field(f"{field}.signatures", "at least one signature")
    for index, signature in enumerate(attestation.signatures):
        _check_signature_fields(signature, f"{field}.signatures[{index}]")
    if not names_digest(statement, artifact_sha256):
        raise invalid_argument(
            "ATTESTATION_SUBJECT_MISMATCH",
            f"{field}.payload",
            f"no subject of the statement has the artifact's sha256 {artifact_sha256}",
        )
    signed = pae(attestation.payload_type, attestation.payload)
    for index, signature in enumerate(attestation.signatures):
        if not ed25519_verifies(signature.public_key, signature.signature, signed):
            raise invalid_argument(
                "SIGNATURE_INVALID",
                f"{field}.signatures[{index}].signature",
                f"the Ed25519 signature of key {signature.key_id!r} does not verify",
            )
    return statement["predicateType"]


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
