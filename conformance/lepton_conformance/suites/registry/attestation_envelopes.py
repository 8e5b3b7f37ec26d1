"""Signed attestations as spec/registry.md ("Signatures and attestations") and
lepton.type.v1.Attestation define them, written from the in-toto Statement v1 and DSSE
specifications alone: the statement naming an artifact by its SHA-256, the pre-authentication
encoding PAE(type, body) every signature covers, and Ed25519 signatures (RFC 8032) with the raw
public key beside each."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lepton.type.v1 import attestation_pb2

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
RELEASE_PREDICATE = "https://lepton.ai/attestation/release/v1"
ED25519 = attestation_pb2.SIGNATURE_SCHEME_ED25519


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in decimal bytes."""
    kind = payload_type.encode("utf-8")
    return b" ".join(
        [b"DSSEv1", str(len(kind)).encode(), kind, str(len(payload)).encode(), payload]
    )


def release_statement(sha256: str, model_version: str, model_format: str) -> bytes:
    """An in-toto Statement v1 whose subject is the artifact `sha256`, with the release
    predicate of spec/registry.md."""
    statement: dict[str, Any] = {
        "_type": STATEMENT_V1,
        "subject": [{"name": model_version, "digest": {"sha256": sha256}}],
        "predicateType": RELEASE_PREDICATE,
        "predicate": {"model_version": model_version, "format": model_format},
    }
    return json.dumps(statement).encode("utf-8")


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def signature(
    key: Ed25519PrivateKey,
    payload: bytes,
    payload_type: str = PAYLOAD_TYPE,
    key_id: str = "conformance-key",
    public_key: bytes | None = None,
) -> attestation_pb2.AttestationSignature:
    """`key`'s Ed25519 signature over PAE(payload_type, payload), with `public_key` (by
    default `key`'s own) beside it."""
    return attestation_pb2.AttestationSignature(
        key_id=key_id,
        scheme=ED25519,
        public_key=raw_public_key(key) if public_key is None else public_key,
        signature=key.sign(pae(payload_type, payload)),
    )


def signed(
    payload: bytes,
    key: Ed25519PrivateKey | None = None,
    payload_type: str = PAYLOAD_TYPE,
) -> attestation_pb2.Attestation:
    """An attestation of `payload` signed by `key` (a fresh key when None)."""
    key = key or Ed25519PrivateKey.generate()
    return attestation_pb2.Attestation(
        payload_type=payload_type,
        payload=payload,
        signatures=[signature(key, payload, payload_type)],
    )
