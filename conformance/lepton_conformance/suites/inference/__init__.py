"""The inference suite: the Open Inference Protocol core and its extensions
(spec/inference.md), with its client, vectors and the conformance model set."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.inference import (
    core_rpcs,
    extensions,
    feature_probes,
    infer_wire,
    inference_tables,
)
from lepton_conformance.suites.inference.profiles import CORE, EXTENDED

SUITE = Suite(
    "inference",
    profiles=(CORE, EXTENDED),
    case_lists=(
        inference_tables.CASES,
        core_rpcs.CASES,
        extensions.CASES,
        infer_wire.CASES,
    ),
    probes=feature_probes.SERVICE_PROBES,
    probe_features=feature_probes.probe_features,
)
