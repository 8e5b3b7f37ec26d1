"""The `inference-core` and `inference-extended` profiles (spec/inference.md).

Core: the six Open Inference Protocol RPCs with the precise semantics of the spec, golden
tensor vectors and the error table (vectors/inference.yaml). Extended: streaming,
statistics, the model repository and batching-transparent results, each run only when the
target lists the extension in ServerMetadata.extensions."""

from __future__ import annotations

import contextlib
import re
from concurrent import futures
from typing import Any

import grpc
import numpy as np

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.harness import expect, vectors
from lepton_conformance.harness.case import Failed, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.inference import oip
from lepton_conformance.suites.inference.profiles import CORE, EXTENDED

CASES = CaseList()


DATA = vectors.load("lepton_conformance.suites.inference", "inference.yaml")
GOLDEN = {g["id"]: g for g in DATA["golden"]}
KNOWN_EXTENSIONS = {
    "streaming",
    "statistics",
    "model_repository",
    "dynamic_batching",
    "sequence",
    "binary_tensor_data",
    "parameters",
    "schedule_policy",
    "model_configuration",
    "system_shared_memory",
    "cuda_shared_memory",
    "classification",
    "trace",
    "logging",
}


# --- vectors -> tensors and requests --------------------------------------------------------


def _values(spec: dict[str, Any]) -> list:
    values = spec["values"]
    count = int(np.prod(spec["shape"]))
    if isinstance(values, dict) and "range" in values:
        start, stop = values["range"]
        return (
            [start + i for i in range(count)]
            if stop - start == count
            else [start + i * (stop - start) / count for i in range(count)]
        )
    if isinstance(values, dict) and "fill" in values:
        return [values["fill"]] * count
    return values


def _tensors(specs: dict[str, dict[str, Any]]) -> list[oip.Tensor]:
    return [
        oip.tensor(name, spec["datatype"], _values(spec), spec["shape"])
        for name, spec in specs.items()
    ]


def _golden_io(vector: dict[str, Any]) -> tuple[list[oip.Tensor], dict[str, oip.Tensor]]:
    if "identity" in vector:
        spec = vector["identity"]
        inputs = _tensors({"INPUT0": spec})
        return inputs, {"OUTPUT0": oip.Tensor("OUTPUT0", spec["datatype"], inputs[0].array)}
    return _tensors(vector["inputs"]), {t.name: t for t in _tensors(vector["outputs"])}


def _golden_request(
    vector: dict[str, Any], raw: bool, request_id: str = ""
) -> pb.ModelInferRequest:
    inputs, _ = _golden_io(vector)
    return oip.request(
        vector["model"], inputs, raw=raw, version=vector.get("version", ""), request_id=request_id
    )


def _check_golden(ctx: CaseContext, vector: dict[str, Any], raw: bool) -> None:
    client = oip.client(ctx)
    request_id = f"golden-{vector['id']}"
    response = expect.succeeds(
        lambda: client.infer(_golden_request(vector, raw, request_id)),
        f"ModelInfer on {vector['model']} to succeed",
    )
    expect.equal(response.id, request_id, "response id")
    expect.equal(response.model_name, vector["model"], "response model_name")
    wanted_version = vector.get("version") or vector.get("expect_version")
    if wanted_version:
        expect.equal(response.model_version, wanted_version, "response model_version")
    expect.holds(bool(response.model_version), "a non-empty model_version", "empty")
    _, outputs = _golden_io(vector)
    oip.assert_tensors_equal(oip.decode_outputs(response), outputs)


def _register_golden() -> None:
    for vector in DATA["golden"]:
        for form in vector.get("forms", ["raw", "typed"]):

            def body(ctx: CaseContext, vector=vector, form=form) -> None:
                _check_golden(ctx, vector, raw=form == "raw")

            body.__doc__ = f"{vector['model']}: outputs bit-exact for {form} contents"
            CASES.case(CORE, f"golden.{vector['id']}.{form}", *vector["requirements"])(body)


_register_golden()


# --- the error table ----------------------------------------------------------------------


def _changed(row: dict[str, Any]) -> pb.ModelInferRequest:
    """The row's base request with its change applied, key by key in the row's order."""
    vector = GOLDEN[row["base"]]
    editor = _Editor(_golden_request(vector, raw=row.get("form", "raw") == "raw"))
    for key, value in row["change"].items():
        operation = getattr(editor, key, None)
        if operation is None:
            raise ValueError(f"{row['id']}: unknown change {key!r}")
        operation(value)
    return editor.message


class _Editor:
    """The changes an error-table row can make. `input` and `raw` pick the entry that the
    following keys change."""

    def __init__(self, message: pb.ModelInferRequest) -> None:
        self.message = message
        self.index = 0

    @property
    def _input(self) -> pb.ModelInferRequest.InferInputTensor:
        return self.message.inputs[self.index]

    @property
    def _typed(self):
        contents = self._input.contents
        return getattr(contents, next(f.name for f, _ in contents.ListFields()))

    def model_name(self, value: str) -> None:
        self.message.model_name = value

    def model_version(self, value: str) -> None:
        self.message.model_version = value

    def input(self, index: int) -> None:
        self.index = index

    raw = input

    def datatype(self, value: str) -> None:
        self._input.datatype = value

    def name(self, value: str) -> None:
        self._input.name = value

    def shape(self, value: list[int]) -> None:
        del self._input.shape[:]
        self._input.shape.extend(value)

    def drop_input(self, index: int) -> None:
        del self.message.inputs[index]
        del self.message.raw_input_contents[index]

    def duplicate_input(self, index: int) -> None:
        self.message.inputs.add().CopyFrom(self.message.inputs[index])
        self.message.raw_input_contents.append(self.message.raw_input_contents[index])

    def drop_raw(self, index: int) -> None:
        del self.message.raw_input_contents[index]

    def truncate(self, count: int) -> None:
        raw = self.message.raw_input_contents
        raw[self.index] = raw[self.index][:-count]

    def append(self, hex_bytes: str) -> None:
        raw = self.message.raw_input_contents
        raw[self.index] = raw[self.index] + bytes.fromhex(hex_bytes)

    def replace(self, hex_bytes: str) -> None:
        raw, patch = self.message.raw_input_contents, bytes.fromhex(hex_bytes)
        raw[self.index] = patch + raw[self.index][len(patch) :]

    def typed(self, fields: dict[str, list]) -> None:
        for field, values in fields.items():
            getattr(self._input.contents, field).extend(values)

    def typed_only(self, fields: dict[str, list]) -> None:
        del self.message.raw_input_contents[:]
        self.typed(fields)

    def move_typed(self, field: str) -> None:
        values = list(self._typed)
        self._input.ClearField("contents")
        getattr(self._input.contents, field).extend(values)

    def drop_typed(self, count: int) -> None:
        del self._typed[-count:]

    def typed_values(self, values: list) -> None:
        typed = self._typed
        del typed[:]
        typed.extend(values)

    def outputs(self, names: list[str]) -> None:
        for name in names:
            self.message.outputs.add(name=name)

    def rows(self, count: int) -> None:
        raw = self.message.raw_input_contents
        for position, tensor in enumerate(self.message.inputs):
            row = raw[position][: len(raw[position]) // tensor.shape[0]]
            raw[position] = row * count
            tensor.shape[0] = count


def _register_errors() -> None:
    for row in DATA["errors"]:

        def body(ctx: CaseContext, row=row) -> None:
            client = oip.client(ctx)
            message = _changed(row)
            expect.fails_with(
                lambda: client.infer(message),
                getattr(grpc.StatusCode, row["code"]),
                row["reason"],
                field=row.get("field"),
            )

        body.__doc__ = f"{row['id']}: {row['code']} [{row['reason']}]"
        CASES.case(CORE, f"errors.{row['id']}", *row["requirements"], "GEN-001")(body)


_register_errors()


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
    """ServerMetadata names the server and lists known extensions only; RPCs of extensions it
    does not list answer UNIMPLEMENTED."""
    client = oip.client(ctx)
    metadata = expect.succeeds(lambda: client.call("ServerMetadata", pb.ServerMetadataRequest()))
    expect.holds(bool(metadata.name), "a server name", "empty")
    unknown = sorted(set(metadata.extensions) - KNOWN_EXTENSIONS)
    expect.holds(not unknown, "extensions named by the spec", f"unknown {unknown}")
    probes = {
        "statistics": ("ModelStatistics", pb.ModelStatisticsRequest()),
        "model_repository": ("RepositoryIndex", pb.RepositoryIndexRequest()),
    }
    for extension, (rpc, message) in probes.items():
        if extension not in metadata.extensions:
            expect.fails_with(
                lambda rpc=rpc, message=message: client.call(rpc, message),
                grpc.StatusCode.UNIMPLEMENTED,
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
    _, expected = _golden_io(vector)
    inputs, _ = _golden_io(vector)
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
    message = _golden_request(vector, raw=True)
    message.parameters["lepton_conformance_unknown"].string_param = "ignore me"
    response = expect.succeeds(lambda: client.infer(message), "a request with an unknown parameter")
    oip.assert_tensors_equal(oip.decode_outputs(response), _golden_io(vector)[1])
    if "sequence" not in oip.server_extensions(ctx):
        message = _golden_request(vector, raw=True)
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
            client.infer(_changed(row))

    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, DATA["errors"] * 2))
    for vector_id in ("add-sub-fp32", "identity-bytes", "identity-bool"):
        _check_golden(ctx, GOLDEN[vector_id], raw=True)


@CASES.case(CORE, "infer.model-version-and-id-echoed", "INF-013")
def version_and_id(ctx: CaseContext) -> None:
    """The response names the version that ran, never empty, and echoes the request id."""
    client = oip.client(ctx)
    message = _golden_request(GOLDEN["add-sub-fp32"], raw=True, request_id="conformance-42")
    response = expect.succeeds(lambda: client.infer(message))
    expect.equal(
        (response.id, response.model_version), ("conformance-42", "1"), "(id, model_version)"
    )


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
    messages = [_golden_request(good, raw=True, request_id=f"s{i}") for i in range(5)]
    broken = _changed(bad)
    broken.id = "s-bad"
    messages.insert(2, broken)
    return messages


@CASES.case(EXTENDED, "streaming.one-response-per-request", "INF-050", "INF-052")
def stream_pairs(ctx: CaseContext) -> None:
    """Every streamed request gets one response whose id is the request's, with exact outputs."""
    oip.require_extension(ctx, "streaming")
    messages = [
        _golden_request(GOLDEN["add-sub-fp32"], raw=True, request_id=f"s{i}") for i in range(6)
    ]
    responses = _stream(ctx, messages)
    expect.equal(len(responses), 6, "number of responses")
    expected = _golden_io(GOLDEN["add-sub-fp32"])[1]
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
    expect.holds(
        not errors[0].HasField("infer_response"),
        "no infer_response with the error",
        "an infer_response beside the error",
    )
    ok = [r.infer_response.id for r in responses if not r.error_message]
    expect.equal(sorted(ok), [f"s{i}" for i in range(5)], "ids answered after the error")


@CASES.case(EXTENDED, "streaming.responses-in-request-order", "INF-053")
def stream_order(ctx: CaseContext) -> None:
    """Streamed responses come back in the order of the requests."""
    oip.require_extension(ctx, "streaming")
    messages = [
        _golden_request(GOLDEN["add-sub-fp32"], raw=True, request_id=f"o{i}") for i in range(12)
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


@CASES.case(EXTENDED, "statistics.count-successes-and-failures", "INF-061", "INF-062")
def statistics_counts(ctx: CaseContext) -> None:
    """Successes, failures and inference_count grow by exactly what was sent; totals never
    shrink; executions never exceed inferences."""
    oip.require_extension(ctx, "statistics")
    client = oip.client(ctx)
    before = _stats(ctx, "add_sub_int32")
    vector = GOLDEN["add-sub-int32-wraps-around"]
    for _ in range(3):
        expect.succeeds(lambda: client.infer(_golden_request(vector, raw=True)))
    broken = _golden_request(vector, raw=True)
    broken.inputs[0].shape[1] = 15
    for _ in range(2):
        expect.fails_with(lambda: client.infer(broken), grpc.StatusCode.INVALID_ARGUMENT)
    after = _stats(ctx, "add_sub_int32")
    expect.equal(len(after), 1, "entries for add_sub_int32")
    old, new = before[0], after[0]
    expect.equal(
        new.inference_stats.success.count - old.inference_stats.success.count,
        3,
        "success.count delta",
    )
    expect.equal(
        new.inference_stats.fail.count - old.inference_stats.fail.count, 2, "fail.count delta"
    )
    expect.equal(new.inference_count - old.inference_count, 3, "inference_count delta")
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


@CASES.case(EXTENDED, "repository.unload-then-load", "INF-071", "INF-072", "INF-011")
def repository_unload_load(ctx: CaseContext) -> None:
    """After unloading, the model is not ready and inference is UNAVAILABLE [MODEL_NOT_READY];
    after loading it serves again."""
    oip.require_extension(ctx, "model_repository")
    client = oip.client(ctx)
    vector = GOLDEN["scale-version-2"]
    try:
        expect.succeeds(
            lambda: client.call(
                "RepositoryModelUnload",
                pb.RepositoryModelUnloadRequest(model_name="scale_versions"),
            ),
            "RepositoryModelUnload",
        )
        ready = expect.succeeds(
            lambda: client.call(
                "ModelReady", pb.ModelReadyRequest(name="scale_versions", version="2")
            )
        )
        expect.equal(ready.ready, False, "ready after unload")
        expect.fails_with(
            lambda: client.infer(_golden_request(vector, raw=True)),
            grpc.StatusCode.UNAVAILABLE,
            "MODEL_NOT_READY",
        )
    finally:
        expect.succeeds(
            lambda: client.call(
                "RepositoryModelLoad",
                pb.RepositoryModelLoadRequest(model_name="scale_versions"),
                timeout=ctx.timeout * 3,
            ),
            "RepositoryModelLoad",
        )
    _check_golden(ctx, vector, raw=True)


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
    oip.require_extension(ctx, "dynamic_batching")
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


@CASES.case(CORE, "infer.outputs-raw-for-typed-requests", "INF-029")
def raw_outputs(ctx: CaseContext) -> None:
    """A request with typed contents gets its outputs as raw contents, as Triton does."""
    client = oip.client(ctx)
    response = expect.succeeds(
        lambda: client.infer(_golden_request(GOLDEN["add-sub-fp32"], raw=False))
    )
    expect.equal(
        len(response.raw_output_contents), len(response.outputs), "raw_output_contents entries"
    )


@CASES.case(CORE, "infer.oversized-request-is-resource-exhausted", "INF-037", "GEN-072")
def oversized_request(ctx: CaseContext) -> None:
    """An inference request over the server's message limit is RESOURCE_EXHAUSTED, and the next
    request is answered normally."""
    limit = ctx.options.message_limit
    if limit is None:
        raise Skipped("the target's message limit is unknown (pass --message-limit BYTES)")
    client = oip.client(ctx)
    columns = 1024 * 1024
    rows = limit // columns + 1
    payload = np.zeros((rows, columns), dtype=np.uint8)
    message = oip.request("identity_uint8", [oip.Tensor("INPUT0", "UINT8", payload)])
    expect.fails_with(lambda: client.infer(message), grpc.StatusCode.RESOURCE_EXHAUSTED)
    _check_golden(ctx, GOLDEN["identity-uint8"], raw=True)
