"""The data suite: datasets, versions, jobs and Flight (data-core) and pipelines
(data-processing), spec/data.md, with its clients, Arrow samples, digest and vectors."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.data import (
    commits,
    dataset_tables,
    datasets,
    exports,
    flight,
    imports,
    job_errors,
    jobs,
    listing,
    processing,
    reads,
    versions,
    writes,
)
from lepton_conformance.suites.data.profiles import CORE, PROCESSING

SUITE = Suite(
    "data",
    profiles=(CORE, PROCESSING),
    case_lists=(
        # data-core
        dataset_tables.CASES,
        datasets.CASES,
        listing.CASES,
        writes.CASES,
        commits.CASES,
        versions.CASES,
        reads.CASES,
        job_errors.CASES,
        imports.CASES,
        exports.CASES,
        jobs.CASES,
        flight.CASES,
        # data-processing
        processing.CASES,
    ),
)
