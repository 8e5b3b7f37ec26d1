"""The general profile: it applies to every target."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile

GENERAL = Profile(
    "general",
    "General rules: health, reflection, discovery, errors, auth, pagination, deadlines",
    applies=lambda _info: None,
)
