"""How discovery finds the inference service and its optional extensions without trusting a
list: a ServerLive call under each service name, and one cheap call of each extension's RPC
(INF-004): UNIMPLEMENTED means the extension is absent, any other answer that it is there."""

from __future__ import annotations

from collections.abc import Callable, Collection

import grpc

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import answer_of
from lepton_conformance.harness.suite import ServiceProbe
from lepton_conformance.harness.target import STATED, FeatureFinding
from lepton_conformance.suites.inference import oip
from lepton_conformance.suites.inference.tensor_vectors import GOLDEN, golden_request

SERVICE_PROBES = tuple(
    ServiceProbe(name, "ServerLive", pb.ServerLiveRequest(), pb.ServerLiveResponse)
    for name in (oip.OIP_SERVICE, oip.LEPTON_SERVICE)
)


def _stream_one(client: oip.InferenceClient) -> None:
    """Open ModelStreamInfer, send one good request of the conformance model set, and read
    the first answer."""
    message = golden_request(GOLDEN["add-sub-fp32"], raw=True, request_id="probe")
    responses = client.stream(iter([message]))
    try:
        next(responses, None)
    finally:
        responses.cancel()


# extension -> (the RPC its probe calls, the call)
EXTENSION_PROBES: dict[str, tuple[str, Callable[[oip.InferenceClient], object]]] = {
    "streaming": ("ModelStreamInfer", _stream_one),
    "statistics": (
        "ModelStatistics",
        lambda client: client.call("ModelStatistics", pb.ModelStatisticsRequest()),
    ),
    "model_repository": (
        "RepositoryIndex",
        lambda client: client.call("RepositoryIndex", pb.RepositoryIndexRequest()),
    ),
}


def probe_extensions(client: oip.InferenceClient, listed: Collection[str]) -> list[FeatureFinding]:
    """Each probed extension: whether `listed` names it and whether its RPC answers."""
    findings = []
    for extension, (rpc, probe) in EXTENSION_PROBES.items():
        code = answer_of(lambda probe=probe: probe(client))
        findings.append(
            FeatureFinding(
                extension,
                client.service,
                extension in listed,
                code != grpc.StatusCode.UNIMPLEMENTED,
                f"{rpc}: {code.name}",
            )
        )
    return findings


def probe_features(ctx: CaseContext) -> None:
    """Record the inference service `--inference-service` states, then what each extension's
    probe finds under the name the run calls."""
    if ctx.options.inference_service:
        ctx.info.record(oip.SERVICE_NAMES[ctx.options.inference_service], STATED)
    try:
        client = oip.client(ctx)
    except Skipped:
        return
    for finding in probe_extensions(client, oip.server_extensions(ctx)):
        ctx.info.optional_features[finding.name] = finding
