"""The registry suite: models, versions, verified resumable transfers, aliases and events
(registry-core) and registry models served over the Open Inference Protocol
(registry-serving), spec/registry.md, with its client and error table."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.registry import (
    aliases,
    attestations,
    conversions,
    discovery,
    events,
    feature_probes,
    format_checks,
    imports,
    models,
    registry_tables,
    serving,
    transfers,
    versions,
)
from lepton_conformance.suites.registry.profiles import CORE, SERVING

SUITE = Suite(
    "registry",
    profiles=(CORE, SERVING),
    case_lists=(
        registry_tables.CASES,
        discovery.CASES,
        models.CASES,
        versions.CASES,
        transfers.CASES,
        aliases.CASES,
        events.CASES,
        serving.CASES,
        attestations.CASES,
        conversions.CASES,
        imports.CASES,
        format_checks.CASES,
    ),
    probes=feature_probes.SERVICE_PROBES,
    probe_features=feature_probes.probe_features,
)
