"""The profiles of the inference suite and when they apply to a target (spec/inference.md
§11: the protocol level, Lepton's contract on top of it, and the extensions)."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.inference import oip


def _serves_inference(info: TargetInfo) -> str | None:
    if info.serves(oip.OIP_SERVICE) or info.serves(oip.LEPTON_SERVICE):
        return None
    return "the target serves no inference service"


OIP = Profile(
    "oip",
    "Open Inference Protocol as written: health, metadata, bit-exact tensors, refusals",
    applies=_serves_inference,
)
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
