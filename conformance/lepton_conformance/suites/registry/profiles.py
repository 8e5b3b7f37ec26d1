"""The profiles of the registry suite and when each applies to a target."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.inference import oip
from lepton_conformance.suites.registry.registry_client import SERVICE


def _serves_registry(info: TargetInfo) -> str | None:
    return None if info.serves(SERVICE) else f"the target does not serve {SERVICE}"


CORE = Profile(
    "registry-core",
    "Model registry core: models, versions, verified resumable transfers, aliases, events",
    applies=_serves_registry,
)


def _serves_registry_models(info: TargetInfo) -> str | None:
    missing = _serves_registry(info)
    if missing is None and not (info.serves(oip.OIP_SERVICE) or info.serves(oip.LEPTON_SERVICE)):
        missing = "the target serves no inference service"
    return missing


SERVING = Profile(
    "registry-serving",
    "Registry models served over the Open Inference Protocol: by number, alias and latest, "
    "and an alias move that fails no request",
    applies=_serves_registry_models,
)
