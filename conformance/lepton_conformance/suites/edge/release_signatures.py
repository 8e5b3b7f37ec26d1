"""Release digests, release signatures and trust-root files as spec/edge.md section 2.9
defines them, written from the spec alone so that the agent harness checks an agent's
implementation rather than sharing it: the canonical form is the RFC 8785 canonical JSON of
the proto3 JSON mapping of the release without `release_digest` and `signatures`, the digest
its SHA-256, and a signature an Ed25519 signature over the DSSE pre-authentication encoding
of that form with the release payload type."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import json_format

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import attestation_pb2, digest_pb2
from lepton_conformance.suites.registry.attestation_envelopes import pae, raw_public_key

RELEASE_PAYLOAD_TYPE = "application/vnd.lepton.edge.release.v1+json"


def canonical_form(release: release_pb2.ModelRelease) -> bytes:
    unsigned = release_pb2.ModelRelease()
    unsigned.CopyFrom(release)
    unsigned.ClearField("release_digest")
    unsigned.ClearField("signatures")
    return rfc8785.dumps(json_format.MessageToDict(unsigned))


def release_digest(release: release_pb2.ModelRelease) -> digest_pb2.Digest:
    return digest_pb2.Digest(
        algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256,
        hex=hashlib.sha256(canonical_form(release)).hexdigest(),
    )


def sign(
    release: release_pb2.ModelRelease, key: Ed25519PrivateKey, key_id: str
) -> release_pb2.ModelRelease:
    """A copy of `release` with its digest set and `key`'s signature under `key_id`, with
    `key`'s public key beside it."""
    signed = release_pb2.ModelRelease()
    signed.CopyFrom(release)
    signed.release_digest.CopyFrom(release_digest(release))
    signed.signatures.append(
        attestation_pb2.AttestationSignature(
            key_id=key_id,
            scheme=attestation_pb2.SIGNATURE_SCHEME_ED25519,
            public_key=raw_public_key(key),
            signature=key.sign(pae(RELEASE_PAYLOAD_TYPE, canonical_form(release))),
        )
    )
    return signed


def write_trust_roots(path: Path, keys: Mapping[str, Ed25519PrivateKey]) -> None:
    """A trust-root file trusting the public key of each of `keys` under its key ID:
    {"keys": [{"key_id": ..., "public_key": base64 of the raw 32 bytes}]}."""
    entries = [
        {"key_id": key_id, "public_key": base64.b64encode(raw_public_key(key)).decode()}
        for key_id, key in sorted(keys.items())
    ]
    path.write_text(json.dumps({"keys": entries}, indent=2) + "\n", encoding="utf-8")
