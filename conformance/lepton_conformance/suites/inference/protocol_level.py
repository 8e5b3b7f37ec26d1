"""The `oip` profile: the Open Inference Protocol as its text states it, with Triton's
documented behaviour where the text is silent (spec/inference.md §11). Lepton's additions
(ErrorInfo, reasons, exact codes, validation order) are left to inference-core; a wrong code
for a refused request is a SHOULD failure here, reported as a warning."""

from __future__ import annotations

from typing import Any

import grpc

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.inference import feature_probes, oip
from lepton_conformance.suites.inference.profiles import OIP
from lepton_conformance.suites.inference.tensor_vectors import (
    DATA,
    GOLDEN,
    changed_request,
    golden_io,
    golden_request,
    register_golden,
)

CASES = CaseList()

# The error-table rows whose rule the protocol text states or Triton enforces (INF-082).
PROTOCOL_ROWS = tuple(row for row in DATA["errors"] if row["origin"] in ("oip", "triton"))
# Codes that say the server failed, never the client (INF-083).
SERVER_FAULTS = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)


@CASES.case(OIP, "server.live-and-ready", "INF-001", "INF-003")
def live_and_ready(ctx: CaseContext) -> None:
    """ServerLive and ServerReady answer true under inference.GRPCInferenceService."""
    client = oip.InferenceClient(ctx, oip.OIP_SERVICE)
    live = expect.succeeds(
        lambda: client.call("ServerLive", pb.ServerLiveRequest()),
        "ServerLive under inference.GRPCInferenceService",
    )
    ready = expect.succeeds(lambda: client.call("ServerReady", pb.ServerReadyRequest()))
    expect.equal((live.live, ready.ready), (True, True), "(live, ready)")


@CASES.case(OIP, "server.listed-extensions-implemented", "INF-081")
def listed_extensions(ctx: CaseContext) -> None:
    """Every extension ServerMetadata lists answers its probe; unlisted ones may answer too."""
    expect.succeeds(lambda: oip.client(ctx).call("ServerMetadata", pb.ServerMetadataRequest()))
    for extension in feature_probes.EXTENSION_PROBES:
        finding = ctx.info.optional_features.get(extension)
        expect.holds(finding is not None, f"the {extension!r} probe to have run", "no finding")
        if finding.listed:
            expect.holds(
                finding.implemented,
                f"the listed {extension!r} extension implemented",
                finding.evidence,
            )


def _absent(call: Any, what: str) -> None:
    """`call` answers a model the server does not hold: a non-OK status or `ready: false`."""
    try:
        answer = call()
    except grpc.RpcError:
        return
    expect.equal(answer.ready, False, f"ready of {what}")


@CASES.case(OIP, "model.ready", "INF-080")
def model_ready(ctx: CaseContext) -> None:
    """ModelReady is true for every loaded model and version; for an unknown model or version
    it is a non-OK status or false."""
    client = oip.client(ctx)
    for name, version in (("add_sub_fp32", ""), ("scale_versions", "1"), ("scale_versions", "2")):
        answer = expect.succeeds(
            lambda name=name, version=version: client.call(
                "ModelReady", pb.ModelReadyRequest(name=name, version=version)
            ),
            f"ModelReady({name}, {version!r})",
        )
        expect.equal(answer.ready, True, f"ready of {name} {version}")
    for name, version in (("no_such_model", ""), ("scale_versions", "7")):
        _absent(
            lambda name=name, version=version: client.call(
                "ModelReady", pb.ModelReadyRequest(name=name, version=version)
            ),
            f"ModelReady({name}, {version!r})",
        )


@CASES.case(OIP, "model.metadata", "INF-080")
def model_metadata(ctx: CaseContext) -> None:
    """ModelMetadata gives the name, the versions held and each tensor's name, datatype and
    shape with -1 for variable dimensions; an unknown model is a non-OK status."""
    client = oip.client(ctx)

    def metadata(name: str) -> pb.ModelMetadataResponse:
        return expect.succeeds(
            lambda: client.call("ModelMetadata", pb.ModelMetadataRequest(name=name)),
            f"ModelMetadata({name})",
        )

    add_sub = metadata("add_sub_fp32")
    expect.equal(add_sub.name, "add_sub_fp32", "name")
    for kind, tensors in (("inputs", add_sub.inputs), ("outputs", add_sub.outputs)):
        got = sorted((t.name, t.datatype, list(t.shape)) for t in tensors)
        names = ("INPUT0", "INPUT1") if kind == "inputs" else ("OUTPUT0", "OUTPUT1")
        expect.equal(got, [(n, "FP32", [-1, 16]) for n in names], kind)
    expect.equal(sorted(metadata("scale_versions").versions), ["1", "2"], "versions")
    identity = metadata("identity_bytes")
    expect.equal(
        [(t.datatype, list(t.shape)) for t in identity.inputs],
        [("BYTES", [-1, -1])],
        "identity_bytes input",
    )
    expect.fails(
        lambda: client.call("ModelMetadata", pb.ModelMetadataRequest(name="no_such_model")),
        "ModelMetadata of an unknown model",
    )


register_golden(CASES, OIP, lambda _vector: ("INF-034", "INF-084"))


@CASES.case(OIP, "infer.requested-outputs", "INF-084")
def requested_outputs(ctx: CaseContext) -> None:
    """A request that names outputs receives exactly those; one naming none receives all."""
    vector = GOLDEN["add-sub-fp32"]
    client = oip.client(ctx)
    inputs, expected = golden_io(vector)
    for names in (["OUTPUT1"], ["OUTPUT1", "OUTPUT0"], []):
        message = oip.request("add_sub_fp32", inputs, outputs=names)
        response = expect.succeeds(lambda message=message: client.infer(message))
        decoded = oip.decode_outputs(response)
        wanted = names or ["OUTPUT0", "OUTPUT1"]
        expect.equal(sorted(decoded), sorted(wanted), f"outputs for request {names}")
        oip.assert_tensors_equal(decoded, {n: expected[n] for n in wanted})


def _register_refusals() -> None:
    for row in PROTOCOL_ROWS:

        def body(ctx: CaseContext, row=row) -> None:
            client = oip.client(ctx)
            expect.fails(lambda: client.infer(changed_request(row)), row["id"])

        body.__doc__ = f"{row['id']}: refused with a non-OK status ({row['origin']} rule)"
        CASES.case(OIP, f"errors.{row['id']}", "INF-082")(body)


_register_refusals()


def _refusal_codes(ctx: CaseContext) -> list[tuple[dict[str, Any], grpc.StatusCode | None]]:
    """The code each protocol row is refused with (None when it was accepted), sent once per
    run and shared by the two INF-083 cases."""
    cached = ctx.cache.get("oip-refusal-codes")
    if cached is None:
        client = oip.client(ctx)
        cached = []
        for row in PROTOCOL_ROWS:
            try:
                client.infer(changed_request(row))
                cached.append((row, None))
            except grpc.RpcError as error:
                cached.append((row, error.code()))
        ctx.cache["oip-refusal-codes"] = cached
    return cached


@CASES.case(OIP, "errors.codes-as-the-spec-names", "INF-083")
def codes_as_named(ctx: CaseContext) -> None:
    """Each refused request gets the status code spec/inference.md names for it."""
    wrong = [
        f"{row['id']}: {code.name}"
        for row, code in _refusal_codes(ctx)
        if code is not None and code.name != row["code"]
    ]
    if wrong:
        raise Failed("the codes of the error table", "; ".join(wrong))


@CASES.case(OIP, "errors.no-server-fault-for-a-client-mistake", "INF-083")
def no_server_fault(ctx: CaseContext) -> None:
    """No client mistake is answered UNKNOWN or INTERNAL."""
    faults = [
        f"{row['id']}: {code.name}" for row, code in _refusal_codes(ctx) if code in SERVER_FAULTS
    ]
    if faults:
        raise Failed("a client-error code for every client mistake", "; ".join(faults))


@CASES.case(OIP, "infer.id-and-model-echoed", "INF-084")
def id_echoed(ctx: CaseContext) -> None:
    """The response echoes the request id and names the model and, when present, the version
    that ran."""
    client = oip.client(ctx)
    for vector_id, version in (("add-sub-fp32", "1"), ("scale-version-2", "2")):
        message = golden_request(GOLDEN[vector_id], raw=True, request_id=f"oip-{vector_id}")
        response = expect.succeeds(lambda message=message: client.infer(message))
        expect.equal(
            (response.id, response.model_name),
            (message.id, message.model_name),
            "(id, model_name)",
        )
        if response.model_version:
            expect.equal(response.model_version, version, "model_version")
