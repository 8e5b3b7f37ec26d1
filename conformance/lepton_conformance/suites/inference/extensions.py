"""inference-extended cases, each run when the target lists the extension in
ServerMetadata.extensions or discovery's probe found it implemented (feature_probes.py):
streaming, statistics, the model repository and batching-transparent results
(spec/inference.md)."""

from __future__ import annotations

import re
from concurrent import futures

import grpc
import numpy as np

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.inference import oip
from lepton_conformance.suites.inference.profiles import EXTENDED
from lepton_conformance.suites.inference.tensor_vectors import (
    DATA,
    GOLDEN,
    changed_request,
    check_golden,
    golden_io,
    golden_request,
)

CASES = CaseList()
# Connections of their own for what must hold on every connection (INF-063, INF-074): if a
# server spreads them over two processes, all land on one with a chance of 2^-15.
CONNECTIONS = 16


# --- extended: streaming ------------------------------------------------------------------


STREAM_ERROR = re.compile(r"^[A-Z_]+ \[[A-Z][A-Z0-9_]*\]: ")


def _stream(
    ctx: CaseContext, messages: list[pb.ModelInferRequest]
) -> list[pb.ModelStreamInferResponse]:
    client = oip.client(ctx)
    call = client.stream(iter(messages), timeout=ctx.timeout * 2)
    try:
        return list(call)
    except grpc.RpcError as error:
        raise Failed(
            f"the stream to end OK after {len(messages)} responses", expect.describe(error)
        ) from None


def _stream_mix() -> list[pb.ModelInferRequest]:
    good = GOLDEN["add-sub-fp32"]
    bad = next(r for r in DATA["errors"] if r["id"] == "unknown-input")
    messages = [golden_request(good, raw=True, request_id=f"s{i}") for i in range(5)]
    broken = changed_request(bad)
    broken.id = "s-bad"
    messages.insert(2, broken)
    return messages


@CASES.case(EXTENDED, "streaming.one-response-per-request", "INF-050", "INF-052")
def stream_pairs(ctx: CaseContext) -> None:
    """Every streamed request gets one response whose id is the request's, with exact outputs."""
    oip.require_extension(ctx, "streaming")
    messages = [
        golden_request(GOLDEN["add-sub-fp32"], raw=True, request_id=f"s{i}") for i in range(6)
    ]
    responses = _stream(ctx, messages)
    expect.equal(len(responses), 6, "number of responses")
    expected = golden_io(GOLDEN["add-sub-fp32"])[1]
    for response in responses:
        expect.equal(response.error_message, "", "error_message")
        oip.assert_tensors_equal(oip.decode_outputs(response.infer_response), expected)
    expect.equal(
        sorted(r.infer_response.id for r in responses),
        sorted(m.id for m in messages),
        "response ids",
    )


@CASES.case(EXTENDED, "streaming.error-in-band-and-stream-continues", "INF-050", "INF-051")
def stream_error(ctx: CaseContext) -> None:
    """A bad request on the stream gets an in-band error_message, and later requests are
    still answered; the call ends OK."""
    oip.require_extension(ctx, "streaming")
    responses = _stream(ctx, _stream_mix())
    expect.equal(len(responses), 6, "number of responses")
    errors = [r for r in responses if r.error_message]
    expect.equal(len(errors), 1, "responses with an error_message")
    # The error may carry an infer_response that pairs it with its request (INF-052), but
    # never outputs.
    beside = errors[0].infer_response
    expect.holds(
        not beside.outputs and not beside.raw_output_contents and beside.id in ("", "s-bad"),
        "no outputs beside the error, and no id but the failed request's",
        f"{len(beside.outputs)} outputs, id {beside.id!r}",
    )
    ok = [r.infer_response.id for r in responses if not r.error_message]
    expect.equal(sorted(ok), [f"s{i}" for i in range(5)], "ids answered after the error")


@CASES.case(EXTENDED, "streaming.responses-in-request-order", "INF-053")
def stream_order(ctx: CaseContext) -> None:
    """Streamed responses come back in the order of the requests."""
    oip.require_extension(ctx, "streaming")
    messages = [
        golden_request(GOLDEN["add-sub-fp32"], raw=True, request_id=f"o{i}") for i in range(12)
    ]
    responses = _stream(ctx, messages)
    expect.equal([r.infer_response.id for r in responses], [m.id for m in messages], "order")


@CASES.case(EXTENDED, "streaming.error-message-names-code-and-reason", "INF-054")
def stream_error_format(ctx: CaseContext) -> None:
    """An in-band error reads 'CODE [REASON]: text' with ModelInfer's code and reason."""
    oip.require_extension(ctx, "streaming")
    errors = [r.error_message for r in _stream(ctx, _stream_mix()) if r.error_message]
    expect.holds(
        bool(errors) and errors[0].startswith("INVALID_ARGUMENT [UNKNOWN_INPUT]: "),
        "'INVALID_ARGUMENT [UNKNOWN_INPUT]: …'",
        repr(errors[:1]),
    )


# --- extended: statistics ------------------------------------------------------------------


def _stats(ctx: CaseContext, name: str = "", version: str = "") -> list:
    client = oip.client(ctx)
    response = expect.succeeds(
        lambda: client.call(
            "ModelStatistics", pb.ModelStatisticsRequest(name=name, version=version)
        ),
        f"ModelStatistics({name!r})",
    )
    return list(response.model_stats)


@CASES.case(EXTENDED, "statistics.count-successes-and-failures", "INF-061", "INF-062", "INF-063")
def statistics_counts(ctx: CaseContext) -> None:
    """Successes, failures and inference_count grow by exactly what was sent, over connections
    of their own; totals never shrink; executions never exceed inferences."""
    oip.require_extension(ctx, "statistics")
    before = _stats(ctx, "add_sub_int32")
    vector = GOLDEN["add-sub-int32-wraps-around"]
    broken = golden_request(vector, raw=True)
    broken.inputs[0].shape[1] = 15
    with ctx.on_connections(CONNECTIONS) as contexts:
        for other in contexts:
            client = oip.client(other)
            expect.succeeds(lambda client=client: client.infer(golden_request(vector, raw=True)))
        for other in contexts[:2]:
            client = oip.client(other)
            expect.fails_with(
                lambda client=client: client.infer(broken), grpc.StatusCode.INVALID_ARGUMENT
            )
        # Every connection sees the same counters (INF-063).
        seen = {
            (s[0].inference_stats.success.count, s[0].inference_stats.fail.count)
            for s in (_stats(other, "add_sub_int32") for other in contexts)
        }
        expect.equal(len(seen), 1, "distinct counters seen over the connections")
    after = _stats(ctx, "add_sub_int32")
    expect.equal(len(after), 1, "entries for add_sub_int32")
    old, new = before[0], after[0]
    expect.equal(
        new.inference_stats.success.count - old.inference_stats.success.count,
        CONNECTIONS,
        "success.count delta",
    )
    expect.equal(
        new.inference_stats.fail.count - old.inference_stats.fail.count, 2, "fail.count delta"
    )
    expect.equal(new.inference_count - old.inference_count, CONNECTIONS, "inference_count delta")
    expect.holds(
        new.last_inference >= old.last_inference > 0 or new.last_inference > 0,
        "last_inference set",
        str(new.last_inference),
    )
    expect.holds(
        new.execution_count <= new.inference_count,
        "execution_count <= inference_count",
        f"{new.execution_count} > {new.inference_count}",
    )
    for field in ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output"):
        expect.holds(
            getattr(new.inference_stats, field).ns >= getattr(old.inference_stats, field).ns,
            f"{field}.ns never decreases",
            "it decreased",
        )


@CASES.case(EXTENDED, "statistics.every-loaded-version", "INF-060", "INF-010")
def statistics_all(ctx: CaseContext) -> None:
    """An empty name returns every loaded version; a name returns its versions; unknown
    names are NOT_FOUND."""
    oip.require_extension(ctx, "statistics")
    entries = {(s.name, s.version) for s in _stats(ctx)}
    expect.holds(
        {("add_sub_fp32", "1"), ("scale_versions", "1"), ("scale_versions", "2")} <= entries,
        "entries for every loaded version",
        str(sorted(entries))[:200],
    )
    versions = sorted(s.version for s in _stats(ctx, "scale_versions"))
    expect.equal(versions, ["1", "2"], "versions of scale_versions")
    client = oip.client(ctx)
    expect.fails_with(
        lambda: client.call("ModelStatistics", pb.ModelStatisticsRequest(name="no_such_model")),
        grpc.StatusCode.NOT_FOUND,
        "MODEL_NOT_FOUND",
    )


# --- extended: model repository ------------------------------------------------------------


def _index(ctx: CaseContext, ready: bool = False) -> list:
    client = oip.client(ctx)
    return list(
        expect.succeeds(
            lambda: client.call("RepositoryIndex", pb.RepositoryIndexRequest(ready=ready)),
            "RepositoryIndex",
        ).models
    )


@CASES.case(EXTENDED, "repository.index-lists-the-model-set", "INF-070")
def repository_index(ctx: CaseContext) -> None:
    """RepositoryIndex lists every model version with its state, sorted; ready=true only
    ready ones."""
    oip.require_extension(ctx, "model_repository")
    rows = [(m.name, m.version, m.state) for m in _index(ctx)]
    for row in (("add_sub_fp32", "1", "READY"), ("scale_versions", "2", "READY")):
        expect.holds(row in rows, f"{row} in the index", str(rows)[:200])
    keys = [(name, int(version or 0)) for name, version, _ in rows]
    expect.equal(keys, sorted(keys), "index order")
    ready = _index(ctx, ready=True)
    expect.holds(
        all(m.state == "READY" for m in ready),
        "only READY rows with ready=true",
        str([m.state for m in ready]),
    )


@CASES.case(EXTENDED, "repository.unload-then-load", "INF-071", "INF-072", "INF-074", "INF-011")
def repository_unload_load(ctx: CaseContext) -> None:
    """After unloading, the model is not ready and inference is UNAVAILABLE [MODEL_NOT_READY]
    on every connection; after loading it serves again on every connection."""
    oip.require_extension(ctx, "model_repository")
    client = oip.client(ctx)
    vector = GOLDEN["scale-version-2"]
    with ctx.on_connections(CONNECTIONS) as contexts:
        try:
            expect.succeeds(
                lambda: client.call(
                    "RepositoryModelUnload",
                    pb.RepositoryModelUnloadRequest(model_name="scale_versions"),
                ),
                "RepositoryModelUnload",
            )
            for other in [ctx, *contexts]:
                _check_unloaded(oip.client(other), vector)
        finally:
            expect.succeeds(
                lambda: client.call(
                    "RepositoryModelLoad",
                    pb.RepositoryModelLoadRequest(model_name="scale_versions"),
                    timeout=ctx.timeout * 3,
                ),
                "RepositoryModelLoad",
            )
        for other in [ctx, *contexts]:
            check_golden(other, vector, raw=True)


def _check_unloaded(client: oip.InferenceClient, vector: dict) -> None:
    ready = expect.succeeds(
        lambda: client.call("ModelReady", pb.ModelReadyRequest(name="scale_versions", version="2"))
    )
    expect.equal(ready.ready, False, "ready after unload")
    expect.fails_with(
        lambda: client.infer(golden_request(vector, raw=True)),
        grpc.StatusCode.UNAVAILABLE,
        "MODEL_NOT_READY",
    )


@CASES.case(EXTENDED, "repository.unknown-model", "INF-073")
def repository_unknown(ctx: CaseContext) -> None:
    """Loading or unloading a model the repository does not hold is NOT_FOUND."""
    oip.require_extension(ctx, "model_repository")
    client = oip.client(ctx)
    for rpc, message in (
        ("RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="no_such_model")),
        ("RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name="no_such_model")),
    ):
        expect.fails_with(
            lambda rpc=rpc, message=message: client.call(rpc, message),
            grpc.StatusCode.NOT_FOUND,
            "MODEL_NOT_FOUND",
        )


# --- extended: dynamic batching -------------------------------------------------------------


def _rows(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    base = np.arange(rows * 16, dtype=np.float32).reshape(rows, 16)
    return base * (seed + 1) / 7, base - seed * 3.25


@CASES.case(EXTENDED, "batching.concurrent-results-identical", "INF-040")
def batching_transparent(ctx: CaseContext) -> None:
    """Many concurrent requests of different sizes each get exactly their own results."""
    # Runs whether or not 'dynamic_batching' is listed: merging is invisible on the wire, so a
    # server that merges without listing it is checked too, and one that never merges passes
    # by answering each request alone. Only a listed extension counts as covered.
    if "dynamic_batching" in oip.server_extensions(ctx):
        ctx.uses_feature("dynamic_batching")
    client = oip.client(ctx)

    def one(seed: int) -> None:
        a, b = _rows(seed, 1 + seed % 3)
        inputs = [oip.Tensor("INPUT0", "FP32", a), oip.Tensor("INPUT1", "FP32", b)]
        response = client.infer(oip.request("add_sub_fp32", inputs, request_id=f"b{seed}"))
        expect.equal(response.id, f"b{seed}", "id")
        oip.assert_tensors_equal(
            oip.decode_outputs(response),
            {
                "OUTPUT0": oip.Tensor("OUTPUT0", "FP32", (a + b).astype(np.float32)),
                "OUTPUT1": oip.Tensor("OUTPUT1", "FP32", (a - b).astype(np.float32)),
            },
        )

    with futures.ThreadPoolExecutor(max_workers=32) as pool:
        for outcome in [pool.submit(one, seed) for seed in range(96)]:
            outcome.result()
