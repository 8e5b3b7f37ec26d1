"""Whether a release may be installed (EDG-105): its recomputed release digest equals the
one it carries, and at least one of its signatures verifies with a key of the device's
trust roots (same key ID and public key), checked offline before anything is downloaded.
The canonical form, signatures and trust-root files are those of lepton_ai.edge.releases,
which publishers and the fleet server share, so all three compute the same bytes."""

from __future__ import annotations

from lepton.edge.v1 import release_pb2
from lepton_ai.edge.releases import release_digest, trusted_signer

TrustRoots = dict[str, bytes]  # key_id -> raw Ed25519 public key


class UntrustedRelease(Exception):
    """The release's digest does not match, or no signature verifies with a trusted key."""


def check_trusted(release: release_pb2.ModelRelease, roots: TrustRoots) -> str:
    """The key ID of a trusted signature of `release`; UntrustedRelease otherwise."""
    signer = trusted_signer(release, roots)
    if signer is not None:
        return signer
    try:
        expected = release_digest(release).hex
    except ValueError as error:
        raise UntrustedRelease(str(error)) from error
    if release.release_digest.hex.lower() != expected:
        raise UntrustedRelease(f"release_digest is not sha256:{expected}")
    raise UntrustedRelease("no signature verifies with a key of the trust roots")
