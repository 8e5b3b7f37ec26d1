"""Edge releases: their canonical form and digest, signing, and the checks of signatures.

A `lepton.edge.v1.ModelRelease` is identified by its release digest, the SHA-256 of its
canonical form: the RFC 8785 (JCS) canonical JSON of its proto3 JSON mapping with
`release_digest` and `signatures` cleared (EDG-103). Each signature is an Ed25519 signature
over the DSSE pre-authentication encoding of that form with payload type
`RELEASE_PAYLOAD_TYPE` (EDG-104).

Two checks use it: `verify_release_signatures`, which a server runs to refuse a signature
that does not verify with the public key beside it (it decides no trust), and
`trusted_signer`, the offline check of an edge agent against its own trust roots (EDG-105),
which trusts a key only by key ID and equal public key. Trust roots are kept in a JSON file
(`load_trust_roots`, `write_trust_roots`):

    {"keys": [{"key_id": "release-2026-q4", "public_key": "<base64 of the raw 32 bytes>"}]}

Publishers, the reference server and the agent share this code so that all three compute
the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf import json_format

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import attestation_pb2, digest_pb2
from lepton_ai.registry.dsse_envelopes import ed25519_verifies, pae

ModelRelease = release_pb2.ModelRelease
SignatureScheme = attestation_pb2.SignatureScheme
RELEASE_PAYLOAD_TYPE = "application/vnd.lepton.edge.release.v1+json"
ED25519_PUBLIC_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
MAX_KEY_ID = 256


def canonical_form(release: ModelRelease) -> bytes:
    """The bytes a release's digest and signatures cover (EDG-103): JCS canonical JSON of
    the proto3 JSON mapping of a copy without `release_digest` and `signatures` (default
    values omitted, lowerCamelCase names, enums by name, int64 as strings). ValueError for
    a release the JSON mapping cannot express (a Duration out of range)."""
    unsigned = ModelRelease()
    unsigned.CopyFrom(release)
    unsigned.ClearField("release_digest")
    unsigned.ClearField("signatures")
    try:
        mapped = json_format.MessageToDict(unsigned)
    except json_format.Error as error:
        raise ValueError(f"the release has no canonical form: {error}") from error
    return rfc8785.dumps(mapped)


def release_digest(release: ModelRelease) -> digest_pb2.Digest:
    """The release digest: SHA-256 of `canonical_form(release)`."""
    return digest_pb2.Digest(
        algorithm=digest_pb2.DigestAlgorithm.DIGEST_ALGORITHM_SHA256,
        hex=hashlib.sha256(canonical_form(release)).hexdigest(),
    )


def signed_bytes(release: ModelRelease) -> bytes:
    """What each release signature covers: PAE(RELEASE_PAYLOAD_TYPE, canonical form)."""
    return pae(RELEASE_PAYLOAD_TYPE, canonical_form(release))


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key of `private_key`, as signatures and trust roots hold it."""
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_release(
    release: ModelRelease, private_key: Ed25519PrivateKey, key_id: str
) -> ModelRelease:
    """A copy of `release` with its release digest set and one more signature, by
    `private_key` under `key_id`, appended. Signatures already present stay: they cover
    the same canonical form, which neither the digest nor a signature changes."""
    if not 1 <= len(key_id) <= MAX_KEY_ID:
        raise ValueError(f"a key ID has 1 to {MAX_KEY_ID} characters")
    signed = ModelRelease()
    signed.CopyFrom(release)
    signed.release_digest.CopyFrom(release_digest(release))
    signed.signatures.append(
        attestation_pb2.AttestationSignature(
            key_id=key_id,
            scheme=SignatureScheme.SIGNATURE_SCHEME_ED25519,
            public_key=raw_public_key(private_key),
            signature=private_key.sign(signed_bytes(release)),
        )
    )
    return signed


@dataclass(frozen=True)
class SignatureProblem:
    """Why a release's signature is not acceptable: which one (`index` into signatures; None
    when the release has none), its key ID as given, the field at fault ("signatures",
    "key_id", "scheme", "public_key" or "signature"), a description, and whether the
    signature is of a scheme this code cannot verify (a sigstore bundle) rather than
    malformed or wrong."""

    index: int | None
    key_id: str
    field: str
    description: str
    unsupported: bool = False


def verify_release_signatures(release: ModelRelease) -> list[SignatureProblem]:
    """The problems of a release's signatures (EDG-104); empty when it has at least one and
    every one is an Ed25519 signature (1-256 character key ID, 32-byte public key, 64-byte
    signature) that verifies over `signed_bytes(release)` with its own public key. Says
    nothing about trust: see `trusted_signer`. ValueError for a release without a canonical
    form (see `canonical_form`)."""
    if not release.signatures:
        return [SignatureProblem(None, "", "signatures", "a release needs a signature")]
    signed = signed_bytes(release)
    problems = []
    for index, signature in enumerate(release.signatures):
        problem = _signature_problem(signature, signed)
        if problem is not None:
            problems.append(SignatureProblem(index, signature.key_id, *problem))
    return problems


def _signature_problem(
    signature: attestation_pb2.AttestationSignature, signed: bytes
) -> tuple[str, str, bool] | None:
    """(field, description, unsupported) of what is wrong with one signature, or None."""
    if signature.scheme == SignatureScheme.SIGNATURE_SCHEME_SIGSTORE_BUNDLE:
        return "scheme", "sigstore bundles are not verified here", True
    checks = (
        (
            signature.scheme == SignatureScheme.SIGNATURE_SCHEME_ED25519,
            "scheme",
            "must be SIGNATURE_SCHEME_ED25519",
        ),
        (1 <= len(signature.key_id) <= MAX_KEY_ID, "key_id", f"1 to {MAX_KEY_ID} characters"),
        (
            len(signature.public_key) == ED25519_PUBLIC_KEY_BYTES,
            "public_key",
            f"a raw {ED25519_PUBLIC_KEY_BYTES}-byte Ed25519 public key",
        ),
        (
            len(signature.signature) == ED25519_SIGNATURE_BYTES,
            "signature",
            f"an Ed25519 signature has {ED25519_SIGNATURE_BYTES} bytes",
        ),
    )
    for passed, field, description in checks:
        if not passed:
            return field, description, False
    if not ed25519_verifies(signature.public_key, signature.signature, signed):
        return "signature", f"does not verify with the public key of {signature.key_id!r}", False
    return None


def trusted_signer(release: ModelRelease, trust_roots: Mapping[str, bytes]) -> str | None:
    """The key ID of the first signature made by a trusted key, or None (EDG-105). Offline:
    a signature counts only when its key ID is in `trust_roots` (key ID -> raw 32-byte
    public key), its public key equals the trusted one and it verifies with that key. A
    release whose release_digest is unset or differs from `release_digest(release)` has no
    trusted signer, and so has one without a canonical form."""
    try:
        if release.release_digest != release_digest(release):
            return None
    except ValueError:
        return None
    signed = signed_bytes(release)
    for signature in release.signatures:
        trusted = trust_roots.get(signature.key_id)
        if (
            trusted is not None
            and signature.scheme == SignatureScheme.SIGNATURE_SCHEME_ED25519
            and signature.public_key == trusted
            and ed25519_verifies(trusted, signature.signature, signed)
        ):
            return signature.key_id
    return None


def load_trust_roots(path: str | Path) -> dict[str, bytes]:
    """The trusted keys of a trust-root file (key ID -> raw 32-byte public key); ValueError
    saying what is wrong with a file that is not of the form in the module docstring (a
    duplicate key ID included)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path}: not JSON: {error}") from error
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f'{path}: a trust-root file is an object with a "keys" list')
    roots: dict[str, bytes] = {}
    for index, entry in enumerate(entries):
        key_id, public_key = _trust_root(entry, f"{path}: keys[{index}]")
        if key_id in roots:
            raise ValueError(f"{path}: keys[{index}]: key ID {key_id!r} appears twice")
        roots[key_id] = public_key
    return roots


def _trust_root(entry: object, where: str) -> tuple[str, bytes]:
    if not isinstance(entry, dict):
        raise ValueError(f'{where}: an object with "key_id" and "public_key"')
    key_id = entry.get("key_id")
    if not isinstance(key_id, str) or not 1 <= len(key_id) <= MAX_KEY_ID:
        raise ValueError(f"{where}: key_id is a string of 1 to {MAX_KEY_ID} characters")
    encoded = entry.get("public_key")
    try:
        public_key = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
    except binascii.Error:
        public_key = b""
    if len(public_key) != ED25519_PUBLIC_KEY_BYTES:
        raise ValueError(
            f"{where}: public_key is the base64 of a raw {ED25519_PUBLIC_KEY_BYTES}-byte "
            "Ed25519 public key"
        )
    return key_id, public_key


def write_trust_roots(path: str | Path, trust_roots: Mapping[str, bytes]) -> None:
    """Write a trust-root file holding `trust_roots` (key ID -> raw 32-byte public key);
    ValueError, and nothing written, for an entry `load_trust_roots` would refuse."""
    keys = [
        {"key_id": key_id, "public_key": base64.b64encode(public_key).decode()}
        for key_id, public_key in sorted(trust_roots.items())
    ]
    for index, entry in enumerate(keys):
        _trust_root(entry, f"keys[{index}]")
    Path(path).write_text(json.dumps({"keys": keys}, indent=2) + "\n", encoding="utf-8")
