"""The annotation suite: projects and label schemas, tasks and their states, annotations and
predictions kept apart, leases, accepting predictions, reviews and agreement (annotation-core),
spec/annotation.md, with its client, datasets, images and vectors. Prediction and export jobs
(ANN-041 to ANN-053) have no cases yet."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.annotation import (
    accepting,
    agreement,
    annotating,
    conventions,
    discovery,
    feature_probes,
    geometry,
    label_schemas,
    leases,
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
        leases.CASES,
        accepting.CASES,
        reviews.CASES,
        agreement.CASES,
    ),
    probes=feature_probes.SERVICE_PROBES,
    probe_features=feature_probes.probe_features,
)
