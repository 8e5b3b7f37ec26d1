"""The profiles of the data suite and when each applies to a target."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.data.dataset_client import SERVICE as DATASETS
from lepton_conformance.suites.data.processing_client import FEATURE, SERVICE


def _serves_datasets(info: TargetInfo) -> str | None:
    return None if info.serves(DATASETS) else f"the target does not serve {DATASETS}"


def _processes_data(info: TargetInfo) -> str | None:
    if not info.serves(SERVICE):
        return f"the target does not serve {SERVICE}"
    if not info.has_feature(SERVICE, FEATURE):
        return f"the target neither lists the feature {FEATURE} on {SERVICE} nor implements it"
    if not info.serves(DATASETS):
        return f"the target does not serve {DATASETS}, which holds the versions pipelines read"
    return None


CORE = Profile(
    "data-core",
    "Data layer core: datasets, versions, tags, Arrow writes and reads",
    applies=_serves_datasets,
)
PROCESSING = Profile(
    "data-processing",
    "Data processing: pipeline validation, runs, reuse and the semantics of every step",
    applies=_processes_data,
)
