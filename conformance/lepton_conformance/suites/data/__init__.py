"""The data suite: datasets, versions, jobs and Flight (data-core) and pipelines
(data-processing), spec/data.md, with its clients, Arrow samples, digest and vectors."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.data import (
    commits,
    dataset_tables,
    datasets,
    discovery,
    exports,
    flight,
    imports,
    job_errors,
    jobs,
    listing,
    pipeline_runs,
    pipeline_validation,
    random_steps,
    reads,
    run_outcomes,
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
        discovery.CASES,
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
        pipeline_validation.CASES,
        pipeline_runs.CASES,
        run_outcomes.CASES,
        random_steps.CASES,
    ),
)
