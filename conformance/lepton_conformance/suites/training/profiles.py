"""The profile of the training suite and when it applies to a target."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.training.training_client import SERVICE


def _serves_training(info: TargetInfo) -> str | None:
    return None if info.serves(SERVICE) else f"the target does not serve {SERVICE}"


CORE = Profile(
    "training-core",
    "Training core: trainers, job creation and validation, lifecycle, logs, metrics, "
    "checkpoints, output and registration, with the lepton.conformance trainer",
    applies=_serves_training,
)
