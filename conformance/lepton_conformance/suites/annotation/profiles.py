"""The profile of the annotation suite and when it applies to a target."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.annotation.annotation_client import SERVICE


def _serves_annotation(info: TargetInfo) -> str | None:
    return None if info.serves(SERVICE) else f"the target does not serve {SERVICE}"


CORE = Profile(
    "annotation-core",
    "Annotation core: projects and label schemas, tasks and their states, annotations and "
    "predictions kept apart, leases, accepting predictions, reviews and agreement",
    applies=_serves_annotation,
)
