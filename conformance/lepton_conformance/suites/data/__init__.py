"""The data suite: datasets, versions, jobs and Flight (data-core) and pipelines
(data-processing), spec/data.md, with its clients, Arrow samples, digest and vectors."""

from __future__ import annotations

from lepton.data.v1 import dataset_service_pb2 as dataset_pb
from lepton.data.v1 import processing_service_pb2 as processing_pb
from lepton_conformance.harness.suite import ServiceProbe, Suite
from lepton_conformance.suites.data import (
    commits,
    dataset_tables,
    datasets,
    discovery,
    exports,
    feature_probes,
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
from lepton_conformance.suites.data.dataset_client import SERVICE as DATASETS
from lepton_conformance.suites.data.processing_client import SERVICE as PROCESSING_SERVICE
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
    # A first page of one item: cheap, and it needs no resource to exist.
    probes=(
        ServiceProbe(
            DATASETS,
            "ListDatasets",
            dataset_pb.ListDatasetsRequest(page_size=1),
            dataset_pb.ListDatasetsResponse,
        ),
        ServiceProbe(
            PROCESSING_SERVICE,
            "ListPipelineRuns",
            processing_pb.ListPipelineRunsRequest(page_size=1),
            processing_pb.ListPipelineRunsResponse,
        ),
    ),
    probe_features=feature_probes.probe_features,
)
