"""The profiles of the inference suite and when they apply to a target."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.inference import oip


def _serves_inference(info: TargetInfo) -> str | None:
    if info.serves(oip.OIP_SERVICE) or info.serves(oip.LEPTON_SERVICE):
        return None
    return "the target serves no inference service"


CORE = Profile(
    "inference-core",
    "Open Inference Protocol core: health, metadata, inference, tensors, errors",
    applies=_serves_inference,
)
EXTENDED = Profile(
    "inference-extended",
    "Inference extensions: streaming, statistics, model repository, dynamic batching",
    applies=_serves_inference,
)
