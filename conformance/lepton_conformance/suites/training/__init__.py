"""The training suite: trainers, job creation and validation, the job lifecycle, logs,
metrics, checkpoints, output and registration with the lepton.conformance trainer
(training-core), spec/training.md, with its client and error table."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.training import (
    checkpoints,
    discovery,
    entrypoint,
    feature_probes,
    jobs,
    lifecycle,
    pause,
    registration,
    streams,
    training_tables,
)
from lepton_conformance.suites.training.profiles import CORE

SUITE = Suite(
    "training",
    profiles=(CORE,),
    case_lists=(
        training_tables.CASES,
        discovery.CASES,
        jobs.CASES,
        lifecycle.CASES,
        pause.CASES,
        streams.CASES,
        checkpoints.CASES,
        registration.CASES,
        entrypoint.CASES,
    ),
    probes=feature_probes.SERVICE_PROBES,
    probe_features=feature_probes.probe_features,
)
