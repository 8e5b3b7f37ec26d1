"""The edge layer in the SDK (spec/edge.md): `releases` (the canonical form and digest of a
release, signing it, checking its signatures and an agent's trust roots) and
`health_vectors` (the golden vectors of a release's health check, built with onnxruntime)."""
