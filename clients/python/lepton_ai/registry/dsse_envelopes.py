"""in-toto statements in DSSE envelopes signed with Ed25519: encoding, signing, offline checks.

The format of `lepton.type.v1.Attestation` (spec/registry.md, "Signatures and attestations"):
`pae` is what a signature covers, `sign_release` builds the release attestation a publisher
attaches to a version, and `verify_trusted` is the offline check of an edge agent, which
trusts keys by key ID only. It lives in the SDK so that publishers, edge agents and the
reference server (whose own checks are in `lepton_server.registry.attestations`) read and
write envelopes with the same code.
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

Attestation = attestation_pb2.Attestation
SignatureScheme = attestation_pb2.SignatureScheme
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
RELEASE_PREDICATE = "https://lepton.ai/attestation/release/v1"
PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v1"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what each signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def parse_statement(payload: bytes) -> dict[str, Any]:
    """The in-toto Statement v1 a payload holds; ValueError saying what is wrong otherwise."""
    try:
        statement = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"not JSON: {error}") from error
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise ValueError(f"an in-toto statement has _type {STATEMENT_TYPE}")
    subjects = statement.get("subject")
    if (
        not isinstance(subjects, list)
        or not subjects
        or not all(isinstance(subject, dict) for subject in subjects)
    ):
        raise ValueError("subject is a non-empty list of resource descriptors")
    for subject in subjects:
        digest = subject.get("digest", {})
        if not isinstance(digest, dict) or not all(
            isinstance(value, str) for value in digest.values()
        ):
            raise ValueError("a subject digest maps algorithms to hex strings")
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise ValueError("predicateType is a non-empty string")
    if not isinstance(statement.get("predicate", {}), dict):
        raise ValueError("predicate is a JSON object")
    return statement


def names_digest(statement: dict[str, Any], artifact_sha256: str) -> bool:
    """Whether a parsed statement has a subject with this SHA-256 (any case)."""
    wanted = artifact_sha256.lower()
    return any(
        subject.get("digest", {}).get("sha256", "").lower() == wanted
        for subject in statement["subject"]
    )


def ed25519_verifies(public_key: bytes, signature: bytes, signed: bytes) -> bool:
    """Whether `signature` is `public_key`'s (raw 32 bytes) Ed25519 signature of `signed`."""
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
            statement = parse_statement(attestation.payload)
        except ValueError:
            continue
        if statement["predicateType"] != predicate_type or not names_digest(
            statement, artifact_sha256
        ):
            continue
        signed = pae(attestation.payload_type, attestation.payload)
        for signature in attestation.signatures:
            key = trusted_keys.get(signature.key_id)
            if key is not None and ed25519_verifies(key, signature.signature, signed):
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
