"""The annotation suite: projects and label schemas, tasks and their states, annotations and
predictions kept apart, leases, accepting predictions, reviews and agreement, prediction jobs
and annotation export jobs (each when the target has its feature) and imports
(annotation-core), spec/annotation.md, with its client, datasets, images and vectors."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.annotation import (
    accepting,
    agreement,
    annotating,
    conventions,
    discovery,
    export_jobs,
    exports,
    feature_probes,
    geometry,
    import_refusals,
    imports,
    label_schemas,
    leases,
    prediction_job_lifecycle,
    prediction_job_refusals,
    prediction_jobs,
    predictions,
    projects,
    results,
    reviews,
    task_batches,
    task_listing,
    task_states,
    tasks,
)
from lepton_conformance.suites.annotation.profiles import CORE

SUITE = Suite(
    "annotation",
    profiles=(CORE,),
    case_lists=(
        discovery.CASES,
        conventions.CASES,
        projects.CASES,
        label_schemas.CASES,
        tasks.CASES,
        task_batches.CASES,
        task_listing.CASES,
        task_states.CASES,
        geometry.CASES,
        annotating.CASES,
        results.CASES,
        predictions.CASES,
        prediction_jobs.CASES,
        prediction_job_refusals.CASES,
        prediction_job_lifecycle.CASES,
        leases.CASES,
        accepting.CASES,
        reviews.CASES,
        agreement.CASES,
        exports.CASES,
        export_jobs.CASES,
        imports.CASES,
        import_refusals.CASES,
    ),
    probes=feature_probes.SERVICE_PROBES,
    probe_features=feature_probes.probe_features,
)
