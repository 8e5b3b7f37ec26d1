"""Whether a release may be installed (EDG-105): its recomputed release digest equals the
one it carries, and at least one of its signatures verifies with a key of the device's
trust roots (same key ID and public key), checked offline before anything is downloaded.

The canonical form is that of spec/edge.md 2.9: RFC 8785 canonical JSON of the proto3 JSON
mapping without `release_digest` and `signatures`; signatures cover DSSE PAE over it. The
trust-roots file is JSON: {"keys": [{"key_id": "...", "public_key": "<base64, 32 bytes>"}]}.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import rfc8785
from google.protobuf import json_format

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import attestation_pb2
from lepton_ai.registry.dsse_envelopes import ed25519_verifies, pae

RELEASE_PAYLOAD_TYPE = "application/vnd.lepton.edge.release.v1+json"
TrustRoots = dict[str, bytes]  # key_id -> raw Ed25519 public key


class UntrustedRelease(Exception):
    """The release's digest does not match, or no signature verifies with a trusted key."""


def canonical_form(release: release_pb2.ModelRelease) -> bytes:
    unsigned = release_pb2.ModelRelease()
    unsigned.CopyFrom(release)
    unsigned.ClearField("release_digest")
    unsigned.ClearField("signatures")
    return rfc8785.dumps(json_format.MessageToDict(unsigned))


def release_digest_hex(release: release_pb2.ModelRelease) -> str:
    return hashlib.sha256(canonical_form(release)).hexdigest()


def load_trust_roots(path: Path) -> TrustRoots:
    """The trusted keys of a trust-roots file; ValueError saying what is wrong."""
    try:
        document = json.loads(path.read_text())
        roots = {
            str(key["key_id"]): base64.b64decode(key["public_key"], validate=True)
            for key in document["keys"]
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a trust-roots file: {error}") from error
    if any(len(key) != 32 for key in roots.values()):
        raise ValueError(f"{path}: every public_key is a raw 32-byte Ed25519 key")
    return roots


def check_trusted(release: release_pb2.ModelRelease, roots: TrustRoots) -> str:
    """The key ID of a trusted signature of `release`; UntrustedRelease otherwise."""
    canonical = canonical_form(release)
    digest = hashlib.sha256(canonical).hexdigest()
    if release.release_digest.hex.lower() != digest:
        raise UntrustedRelease(f"release_digest is not sha256:{digest}")
    signed = pae(RELEASE_PAYLOAD_TYPE, canonical)
    for signature in release.signatures:
        trusted = roots.get(signature.key_id)
        if (
            signature.scheme == attestation_pb2.SIGNATURE_SCHEME_ED25519
            and trusted is not None
            and trusted == signature.public_key
            and ed25519_verifies(trusted, signature.signature, signed)
        ):
            return signature.key_id
    raise UntrustedRelease("no signature verifies with a key of the trust roots")
