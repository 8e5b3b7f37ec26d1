"""How discovery finds TrainingService and the optional features it can probe without a job
(spec/training.md, "Discovery features"): a first page of trainers for the service; for
`training.pause` and `training.late_registration` a call of their RPC about a job no server
holds. UNIMPLEMENTED means the feature is absent; any other answer (NOT_FOUND first of all)
that it is there. The features that need a job's spec are probed by the discovery case."""

from __future__ import annotations

import grpc

from lepton.training.v1 import training_service_pb2 as pb
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import answer_of
from lepton_conformance.harness.suite import ServiceProbe
from lepton_conformance.harness.target import FeatureFinding
from lepton_conformance.suites.training.training_client import SERVICE, TrainingClient

SERVICE_PROBES = (
    ServiceProbe(
        SERVICE, "ListTrainers", pb.ListTrainersRequest(page_size=1), pb.ListTrainersResponse
    ),
)
# A job no server holds: a probe must not create or touch anything.
ABSENT = "trainingJobs/lepton-conformance-feature-probe"
PAUSE = "training.pause"
LATE_REGISTRATION = "training.late_registration"
FEATURE_PROBES = {
    PAUSE: ("PauseTrainingJob", pb.PauseTrainingJobRequest(name=ABSENT)),
    LATE_REGISTRATION: (
        "RegisterTrainingJobOutput",
        pb.RegisterTrainingJobOutputRequest(name=ABSENT),
    ),
}


def probe_features(ctx: CaseContext) -> None:
    """Record, for each feature with a probe, whether it is listed and whether it answers."""
    if not ctx.info.serves(SERVICE):
        return
    client = TrainingClient(ctx)
    listed = ctx.info.features.get(SERVICE, frozenset())
    for feature, (rpc, request) in FEATURE_PROBES.items():
        code = answer_of(lambda rpc=rpc, request=request: client.call(rpc, request))
        ctx.info.optional_features[feature] = FeatureFinding(
            feature,
            SERVICE,
            feature in listed,
            code != grpc.StatusCode.UNIMPLEMENTED,
            f"{rpc}: {code.name}",
        )
