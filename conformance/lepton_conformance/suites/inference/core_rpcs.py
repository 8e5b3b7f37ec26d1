"""inference-core cases of the Open Inference Protocol RPCs: service names, liveness and
readiness, extensions, model metadata and the semantics of ModelInfer (spec/inference.md)."""

from __future__ import annotations

import contextlib
from concurrent import futures
from typing import Any

import grpc

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.inference import feature_probes, oip
from lepton_conformance.suites.inference.profiles import CORE
from lepton_conformance.suites.inference.tensor_vectors import (
    DATA,
    GOLDEN,
    changed_request,
    check_golden,
    golden_io,
    golden_request,
)

CASES = CaseList()


# --- core RPCs ----------------------------------------------------------------------------


@CASES.case(CORE, "server.oip-service-name", "INF-001")
def oip_name(ctx: CaseContext) -> None:
    """The inference service answers under inference.GRPCInferenceService."""
    client = oip.InferenceClient(ctx, oip.OIP_SERVICE)
    live = expect.succeeds(
        lambda: client.call("ServerLive", pb.ServerLiveRequest()),
        "ServerLive under inference.GRPCInferenceService",
    )
    expect.equal(live.live, True, "live")


@CASES.case(CORE, "server.both-names-agree", "INF-002")
def both_names(ctx: CaseContext) -> None:
    """The Lepton and OIP service names give the same ServerMetadata and model answers."""
    answers = []
    for name in (oip.OIP_SERVICE, oip.LEPTON_SERVICE):
        client = oip.InferenceClient(ctx, name)
        answers.append(
            expect.succeeds(
                lambda client=client: (
                    client.call("ServerMetadata", pb.ServerMetadataRequest()),
                    client.call("ModelMetadata", pb.ModelMetadataRequest(name="add_sub_fp32")),
                ),
                f"ServerMetadata and ModelMetadata under {name}",
            )
        )
    expect.equal(answers[1], answers[0], "answers under lepton.inference.v1.InferenceService")


@CASES.case(CORE, "server.live-and-ready", "INF-003")
def live_and_ready(ctx: CaseContext) -> None:
    """ServerLive and ServerReady answer true once the model set has loaded."""
    client = oip.client(ctx)
    live = expect.succeeds(lambda: client.call("ServerLive", pb.ServerLiveRequest()))
    ready = expect.succeeds(lambda: client.call("ServerReady", pb.ServerReadyRequest()))
    expect.equal((live.live, ready.ready), (True, True), "(live, ready)")


@CASES.case(CORE, "server.extensions-are-honest", "INF-004")
def extensions_honest(ctx: CaseContext) -> None:
    """ServerMetadata names the server; every probed extension of §8 it lists answers, and the
    RPCs of those it does not list answer UNIMPLEMENTED. Names §8 does not define (a vendor's
    own extensions) are allowed."""
    client = oip.client(ctx)
    metadata = expect.succeeds(lambda: client.call("ServerMetadata", pb.ServerMetadataRequest()))
    expect.holds(bool(metadata.name), "a server name", "empty")
    # Discovery probed every extension once (feature_probes); the case judges its findings.
    findings = [ctx.info.optional_features.get(e) for e in feature_probes.EXTENSION_PROBES]
    expect.holds(None not in findings, "every extension probed", "a probe that never ran")
    for finding in findings:
        if finding.listed:
            expect.holds(
                finding.implemented,
                f"the listed {finding.name!r} extension implemented",
                finding.evidence,
            )
        else:
            expect.holds(
                not finding.implemented,
                f"UNIMPLEMENTED for the unlisted {finding.name!r} extension",
                finding.evidence,
            )


@CASES.case(CORE, "model.ready", "INF-011", "INF-010")
def model_ready(ctx: CaseContext) -> None:
    """ModelReady is true for a loaded model and version, NOT_FOUND for unknown ones."""
    client = oip.client(ctx)
    for name, version in (("add_sub_fp32", ""), ("scale_versions", "1"), ("scale_versions", "2")):
        answer = expect.succeeds(
            lambda name=name, version=version: client.call(
                "ModelReady", pb.ModelReadyRequest(name=name, version=version)
            ),
            f"ModelReady({name}, {version!r})",
        )
        expect.equal(answer.ready, True, f"ready of {name} {version}")
    expect.fails_with(
        lambda: client.call("ModelReady", pb.ModelReadyRequest(name="no_such_model")),
        grpc.StatusCode.NOT_FOUND,
        "MODEL_NOT_FOUND",
    )
    expect.fails_with(
        lambda: client.call("ModelReady", pb.ModelReadyRequest(name="scale_versions", version="7")),
        grpc.StatusCode.NOT_FOUND,
        "MODEL_VERSION_NOT_FOUND",
    )


def _metadata(ctx: CaseContext, name: str, version: str = "") -> pb.ModelMetadataResponse:
    client = oip.client(ctx)
    return expect.succeeds(
        lambda: client.call("ModelMetadata", pb.ModelMetadataRequest(name=name, version=version)),
        f"ModelMetadata({name})",
    )


@CASES.case(CORE, "model.metadata", "INF-012")
def model_metadata(ctx: CaseContext) -> None:
    """ModelMetadata lists the loaded versions and each tensor's name, datatype and shape."""
    metadata = _metadata(ctx, "add_sub_fp32")
    expect.equal(metadata.name, "add_sub_fp32", "name")
    signature = [(t.name, t.datatype, list(t.shape)) for t in metadata.inputs]
    expect.equal(signature, [("INPUT0", "FP32", [-1, 16]), ("INPUT1", "FP32", [-1, 16])], "inputs")
    signature = [(t.name, t.datatype, list(t.shape)) for t in metadata.outputs]
    expect.equal(
        signature, [("OUTPUT0", "FP32", [-1, 16]), ("OUTPUT1", "FP32", [-1, 16])], "outputs"
    )
    expect.equal(
        list(_metadata(ctx, "scale_versions").versions), ["1", "2"], "scale_versions versions"
    )
    identity = _metadata(ctx, "identity_bytes")
    expect.equal(
        [(t.datatype, list(t.shape)) for t in identity.inputs],
        [("BYTES", [-1, -1])],
        "identity_bytes input",
    )
    expect.fails_with(
        lambda: oip.client(ctx).call(
            "ModelMetadata", pb.ModelMetadataRequest(name="no_such_model")
        ),
        grpc.StatusCode.NOT_FOUND,
        "MODEL_NOT_FOUND",
    )


@CASES.case(CORE, "infer.requested-outputs-subset-and-order", "INF-033")
def outputs_subset(ctx: CaseContext) -> None:
    """Named outputs come back exactly and in the order named; none named means all."""
    vector = GOLDEN["add-sub-fp32"]
    client = oip.client(ctx)
    _, expected = golden_io(vector)
    inputs, _ = golden_io(vector)
    for names in (["OUTPUT1"], ["OUTPUT1", "OUTPUT0"], []):
        message = oip.request("add_sub_fp32", inputs, outputs=names)
        response = expect.succeeds(lambda message=message: client.infer(message))
        got = [o.name for o in response.outputs]
        expect.equal(got, names or ["OUTPUT0", "OUTPUT1"], f"outputs for request {names}")
        decoded = oip.decode_outputs(response)
        oip.assert_tensors_equal(decoded, {n: expected[n] for n in got})


@CASES.case(CORE, "infer.unknown-parameters-ignored", "INF-036")
def unknown_parameters(ctx: CaseContext) -> None:
    """Parameters the server does not know are ignored; sequence parameters need the
    'sequence' extension."""
    vector = GOLDEN["add-sub-fp32"]
    client = oip.client(ctx)
    message = golden_request(vector, raw=True)
    message.parameters["lepton_conformance_unknown"].string_param = "ignore me"
    response = expect.succeeds(lambda: client.infer(message), "a request with an unknown parameter")
    oip.assert_tensors_equal(oip.decode_outputs(response), golden_io(vector)[1])
    if "sequence" not in oip.server_extensions(ctx):
        message = golden_request(vector, raw=True)
        message.parameters["sequence_id"].int64_param = 7
        expect.fails_with(
            lambda: client.infer(message), grpc.StatusCode.UNIMPLEMENTED, "FEATURE_NOT_SUPPORTED"
        )


@CASES.case(CORE, "infer.bad-requests-change-nothing", "INF-038", "GEN-007")
def bad_requests_change_nothing(ctx: CaseContext) -> None:
    """After every row of the error table, sent concurrently, valid requests still give
    exact results."""
    client = oip.client(ctx)

    def send(row: dict[str, Any]) -> None:
        with contextlib.suppress(grpc.RpcError):
            client.infer(changed_request(row))

    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, DATA["errors"] * 2))
    for vector_id in ("add-sub-fp32", "identity-bytes", "identity-bool"):
        check_golden(ctx, GOLDEN[vector_id], raw=True)


@CASES.case(CORE, "infer.model-version-and-id-echoed", "INF-013")
def version_and_id(ctx: CaseContext) -> None:
    """The response names the version that ran, never empty, and echoes the request id."""
    client = oip.client(ctx)
    message = golden_request(GOLDEN["add-sub-fp32"], raw=True, request_id="conformance-42")
    response = expect.succeeds(lambda: client.infer(message))
    expect.equal(
        (response.id, response.model_version), ("conformance-42", "1"), "(id, model_version)"
    )
