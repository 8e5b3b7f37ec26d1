"""The profiles of the registry suite and when each applies to a target."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.registry.registry_client import SERVICE


def _serves_registry(info: TargetInfo) -> str | None:
    return None if info.serves(SERVICE) else f"the target does not serve {SERVICE}"


CORE = Profile(
    "registry-core",
    "Model registry core: models, versions, verified resumable transfers, aliases, events",
    applies=_serves_registry,
)
