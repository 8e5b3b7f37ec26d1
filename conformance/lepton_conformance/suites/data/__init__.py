"""The data suite: datasets, versions, jobs and Flight (data-core) and pipelines
(data-processing), spec/data.md, with its clients, Arrow samples, digest and vectors."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.data import core, flight, jobs, processing
from lepton_conformance.suites.data.profiles import CORE, PROCESSING

SUITE = Suite(
    "data",
    profiles=(CORE, PROCESSING),
    case_lists=(core.CASES, jobs.CASES, flight.CASES, processing.CASES),
)
