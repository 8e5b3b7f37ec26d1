"""How discovery finds the registry and its optional features without trusting a list
(spec/registry.md, "Discovery features"): a first page of models for the service, and for
`registry.watch` a WatchModelEvents request the contract forbids (a negative
start_sequence): UNIMPLEMENTED means the feature is absent, INVALID_ARGUMENT that it is there
and validates, at once and without opening a live stream."""

from __future__ import annotations

import grpc

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import answer_of
from lepton_conformance.harness.suite import ServiceProbe
from lepton_conformance.harness.target import FeatureFinding
from lepton_conformance.suites.registry.registry_client import SERVICE, RegistryClient

SERVICE_PROBES = (
    ServiceProbe(SERVICE, "ListModels", pb.ListModelsRequest(page_size=1), pb.ListModelsResponse),
)
WATCH = "registry.watch"


def probe_features(ctx: CaseContext) -> None:
    """Record whether `registry.watch` is listed and whether its RPC answers."""
    if not ctx.info.serves(SERVICE):
        return
    client = RegistryClient(ctx)
    request = pb.WatchModelEventsRequest(start_sequence=-1)
    code = answer_of(lambda: list(client.stream("WatchModelEvents", request)))
    ctx.info.optional_features[WATCH] = FeatureFinding(
        WATCH,
        SERVICE,
        WATCH in ctx.info.features.get(SERVICE, frozenset()),
        code != grpc.StatusCode.UNIMPLEMENTED,
        f"WatchModelEvents: {code.name}",
    )
