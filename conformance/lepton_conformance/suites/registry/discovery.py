"""registry-core case of discovery: the registry lists only the optional features of
spec/registry.md, and `registry.watch` is listed exactly when it is implemented (REG-001)."""

from __future__ import annotations

from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry.feature_probes import WATCH
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import SERVICE

CASES = CaseList()
FEATURES = {WATCH, "registry.format_validation", "registry.conversion", "registry.import"}


@CASES.case(CORE, "discovery.features-are-exactly-the-implemented-ones", "REG-001", "GEN-033")
def features_honest(ctx: CaseContext) -> None:
    """GetServerInfo lists ModelRegistryService with features of spec/registry.md only, and
    lists registry.watch exactly when WatchModelEvents is implemented."""
    expect.holds(
        SERVICE in ctx.info.features,
        f"GetServerInfo to list {SERVICE}",
        f"services {sorted(ctx.info.features)} ({ctx.info.discovery_error or 'no error'})",
    )
    unknown = sorted(ctx.info.features[SERVICE] - FEATURES)
    expect.holds(not unknown, "only features of spec/registry.md", f"unknown {unknown}")
    watch = ctx.info.optional_features.get(WATCH)
    expect.holds(watch is not None, "the registry.watch probe to have run", "no finding")
    expect.equal(watch.listed, watch.implemented, f"listed = implemented ({watch.evidence})")
