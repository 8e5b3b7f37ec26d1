"""The inference suite: the Open Inference Protocol as written, Lepton's core contract on top
of it, and the extensions (spec/inference.md), with its client, vectors and the conformance
model set."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.inference import (
    core_rpcs,
    extensions,
    feature_probes,
    infer_wire,
    inference_tables,
    protocol_level,
)
from lepton_conformance.suites.inference.profiles import CORE, EXTENDED, OIP

SUITE = Suite(
    "inference",
    profiles=(OIP, CORE, EXTENDED),
    case_lists=(
        protocol_level.CASES,
        inference_tables.CASES,
        core_rpcs.CASES,
        extensions.CASES,
        infer_wire.CASES,
    ),
    probes=feature_probes.SERVICE_PROBES,
    probe_features=feature_probes.probe_features,
)
