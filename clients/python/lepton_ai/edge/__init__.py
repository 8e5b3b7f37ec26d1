"""The edge layer in the SDK (spec/edge.md): `EdgeFleet`, the client of a fleet server
(devices, deployments, signed releases and their artifacts, rollouts, telemetry);
`releases` (the canonical form and digest of a release, signing it, checking its
signatures and an agent's trust roots); `health_vectors` (the golden vectors of a release's
health check, built with onnxruntime, and their comparison)."""

from lepton_ai.edge.fleet import EdgeFleet, ReleaseFileSource
from lepton_ai.edge.health_vectors import build_vectors, check_vectors
from lepton_ai.edge.releases import (
    load_trust_roots,
    release_digest,
    sign_release,
    trusted_signer,
    verify_release_signatures,
    write_trust_roots,
)

__all__ = [
    "EdgeFleet",
    "ReleaseFileSource",
    "build_vectors",
    "check_vectors",
    "load_trust_roots",
    "release_digest",
    "sign_release",
    "trusted_signer",
    "verify_release_signatures",
    "write_trust_roots",
]
