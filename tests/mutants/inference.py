"""Mutants of the inference layer."""

from __future__ import annotations

import struct

import numpy as np

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_server.inference import (
    batcher,
    engine,
    model_repository,
    replicas,
    servicer,
    statistics,
    tensor_codec,
)
from lepton_server.inference import metrics as inference_metrics
from lepton_server.runtime import errors
from mutants.case_sets import ERROR_TABLE
from mutants.mutation import Mutant, replace, set_attribute, set_item


def _unknown_version_unavailable(get):
    def mutated(self, name, version):
        try:
            return get(self, name, version)
        except errors.NotFound as error:
            if error.reason != "MODEL_VERSION_NOT_FOUND":
                raise
            raise errors.Unavailable(reason="MODEL_NOT_READY", message=error.message) from None

    return mutated


def _stream_aborts_on_error(_original):
    async def mutated(self, request):
        return servicer.wire.stream_response(await self.engine.infer(request.message, request.raw))

    return mutated


def _all_outputs(_original):
    return staticmethod(lambda loaded, request: list(loaded.model.outputs))


def _failures_not_counted(original):
    def mutated(self, ok, total_ns, **kwargs):
        if ok:
            original(self, ok, total_ns, **kwargs)

    return mutated


def _unload_ignored(original):
    return lambda self, name: [] if name in self.model_names() else original(self, name)


def _bool_unchecked(original):
    def mutated(data, dtype, shape, field):
        if dtype.name == "BOOL":
            return np.frombuffer(data, dtype=np.uint8).astype(bool).reshape(shape)
        return original(data, dtype, shape, field)

    return mutated


def _batches_cross_wired(original):
    """Outputs of a merged execution handed back to the requests in reverse order."""

    def mutated(self, batch):
        for size in {item.batch for item in batch}:
            same = [item for item in batch if item.batch == size]
            futures = [item.future for item in same]
            for item, future in zip(same, reversed(futures), strict=True):
                item.future = future
        return original(self, batch)

    return mutated


def _metadata_fixed_dimensions(original):
    def mutated(self, request):
        response = original(self, request)
        for tensor in [*response.inputs, *response.outputs]:
            tensor.shape[:] = [1 if d < 0 else d for d in tensor.shape]
        return response

    return mutated


def _mixed_contents_allowed(original):
    def mutated(loaded, inputs, raw, dtypes):
        if raw:
            for *_, tensor in inputs:
                tensor.ClearField("contents")
        return original(loaded, inputs, raw, dtypes)

    return mutated


def _stream_drops_ids(original):
    async def mutated(self, request):
        response = pb.ModelStreamInferResponse.FromString(await original(self, request))
        if response.HasField("infer_response"):
            response.infer_response.id = ""
        return response.SerializeToString()

    return mutated


def _stream_error_with_outputs(original):
    """A failed streamed request is answered with its error and, beside it, outputs."""

    async def mutated(self, request):
        answer = pb.ModelStreamInferResponse.FromString(await original(self, request))
        if answer.error_message:
            answer.infer_response.id = request.message.id
            answer.infer_response.outputs.add(name="OUTPUT0", datatype="FP32", shape=[1])
            answer.infer_response.raw_output_contents.append(bytes(4))
        return answer.SerializeToString()

    return mutated


def _stream_broken_and_unlisted() -> None:
    """Streaming drops the request ids, and neither ServerMetadata nor discovery lists it."""
    replace(servicer.InferenceServicer, "_stream_one", _stream_drops_ids)()
    unlisted = tuple(e for e in engine.EXTENSIONS if e != "streaming")
    set_attribute(engine, "EXTENSIONS", unlisted)()


def _statistics_unimplemented(_original):
    async def mutated(self, request, context):
        raise errors.Unimplemented(
            reason="FEATURE_NOT_SUPPORTED", message="statistics are not implemented"
        )

    return mutated


def _error_info_dropped(original):
    """Errors keep their code and message; their details (ErrorInfo, BadRequest) are gone."""

    def mutated(self):
        status = original(self)
        del status.details[:]
        return status

    return mutated


async def _own_statistics_only(self, request, own):
    return own


async def _nothing(self, request):
    return None


WORKERS = ("--workers", "2")


def _failures_as_successes(family: tuple) -> tuple:
    documentation, _ = family
    return documentation, lambda s: s.inference_stats.success.count + s.inference_stats.fail.count


MUTANTS: dict[str, Mutant] = {
    "model-metrics-count-failures-as-successes": Mutant(
        "INF-075: nv_inference_request_success counts failed requests too",
        set_item(
            inference_metrics._FAMILIES, "nv_inference_request_success", _failures_as_successes
        ),
        frozenset({"metrics.model-counters-match-statistics"}),
    ),
    "workers-statistics-not-added": Mutant(
        "INF-063: with --workers, statistics count the primary process's requests only",
        set_attribute(replicas.WorkerEngines, "statistics", _own_statistics_only),
        frozenset({"inference-extended.statistics.count-successes-and-failures"}),
        server_args=WORKERS,
    ),
    "workers-miss-loads-and-unloads": Mutant(
        "INF-074: with --workers, loads and unloads reach the primary process only",
        lambda: (
            setattr(replicas.WorkerEngines, "load", _nothing),
            setattr(replicas.WorkerEngines, "unload", _nothing),
        ),
        frozenset({"inference-extended.repository.unload-then-load"}),
        server_args=WORKERS,
    ),
    "bytes-framed-big-endian": Mutant(
        "INF-021: BYTES lengths framed big-endian",
        set_attribute(tensor_codec, "LENGTH", struct.Struct(">I")),
        frozenset(
            {
                "inference-core.golden.identity-bytes.raw",
                "oip.golden.identity-bytes.raw",
                "oip.golden.identity-bytes.typed",
                "inference-core.golden.identity-bytes.typed",
                "inference-core.infer.bad-requests-change-nothing",
            }
        ),
    ),
    "raw-and-typed-accepted-mixed": Mutant(
        "INF-023: typed contents beside raw contents are silently dropped",
        replace(engine, "_decode_inputs", _mixed_contents_allowed),
        frozenset(
            {
                "inference-core.errors.order-contents-form-before-size",
                "inference-core.errors.raw-and-typed-mixed",
                "oip.errors.raw-and-typed-mixed",
            }
        ),
    ),
    "unknown-version-is-unavailable": Mutant(
        "INF-010: an unknown version is UNAVAILABLE instead of NOT_FOUND",
        replace(model_repository.ModelRepository, "get", _unknown_version_unavailable),
        frozenset(
            {
                "inference-core.errors.unknown-version",
                "oip.errors.codes-as-the-spec-names",
                "inference-core.model.ready",
            }
        ),
    ),
    "stream-aborts-on-a-bad-request": Mutant(
        "INF-051: a bad request ends the stream instead of an in-band error",
        replace(servicer.InferenceServicer, "_stream_one", _stream_aborts_on_error),
        frozenset(
            {
                "inference-extended.streaming.error-in-band-and-stream-continues",
                "inference-extended.streaming.error-message-names-code-and-reason",
            }
        ),
    ),
    "requested-outputs-ignored": Mutant(
        "INF-033: every output is returned whatever the request names",
        replace(engine.InferenceEngine, "_requested_outputs", _all_outputs),
        frozenset(
            {
                "inference-core.errors.duplicate-output",
                "inference-core.errors.order-outputs-before-batch-size",
                "inference-core.errors.unknown-output",
                "inference-core.infer.requested-outputs-subset-and-order",
                "oip.errors.unknown-output",
                "oip.infer.requested-outputs",
            }
        ),
    ),
    "statistics-miss-failures": Mutant(
        "INF-061: failed requests are not counted",
        replace(statistics.ModelStatistics, "request_done", _failures_not_counted),
        frozenset(
            {
                "inference-extended.statistics.count-successes-and-failures",
            }
        ),
    ),
    "unload-is-ignored": Mutant(
        "INF-072: RepositoryModelUnload leaves the model serving",
        replace(model_repository.ModelRepository, "unload", _unload_ignored),
        frozenset(
            {
                "inference-extended.repository.unload-then-load",
            }
        ),
    ),
    "bool-bytes-unchecked": Mutant(
        "INF-022: BOOL bytes other than 0 and 1 are accepted",
        replace(tensor_codec, "decode_raw", _bool_unchecked),
        frozenset(
            {
                "inference-core.errors.bool-byte-not-zero-or-one",
            }
        ),
        # Triton accepts such bytes too: refusing them is Lepton's addition, not the protocol.
        passes=("oip",),
    ),
    "batches-split-back-in-the-wrong-order": Mutant(
        "INF-040: merged requests get each other's rows",
        replace(batcher.DynamicBatcher, "_execute", _batches_cross_wired),
        frozenset(
            {
                "inference-extended.batching.concurrent-results-identical",
            }
        ),
    ),
    "metadata-hides-variable-dimensions": Mutant(
        "INF-012: ModelMetadata reports 1 for variable dimensions",
        replace(engine.InferenceEngine, "model_metadata", _metadata_fixed_dimensions),
        frozenset(
            {
                "inference-core.model.metadata",
                "oip.model.metadata",
            }
        ),
    ),
    "stream-error-carries-outputs": Mutant(
        "INF-050: a failed streamed request gets outputs beside its error_message",
        replace(servicer.InferenceServicer, "_stream_one", _stream_error_with_outputs),
        frozenset({"inference-extended.streaming.error-in-band-and-stream-continues"}),
    ),
    "stream-broken-and-unlisted": Mutant(
        "INF-052, INF-004: streamed responses lose their ids, and 'streaming' is not listed",
        _stream_broken_and_unlisted,
        frozenset(
            {
                "inference-core.server.extensions-are-honest",
                "inference-extended.streaming.error-in-band-and-stream-continues",
                "inference-extended.streaming.one-response-per-request",
                "inference-extended.streaming.responses-in-request-order",
            }
        ),
        # The protocol allows an extension served but not listed (Triton's streaming).
        passes=("oip",),
    ),
    "statistics-listed-but-unimplemented": Mutant(
        "INF-004: 'statistics' is listed but ModelStatistics answers UNIMPLEMENTED",
        replace(servicer.InferenceServicer, "ModelStatistics", _statistics_unimplemented),
        frozenset(
            {
                "inference-core.server.extensions-are-honest",
                "inference-extended.statistics.count-successes-and-failures",
                "inference-extended.statistics.every-loaded-version",
                "oip.server.listed-extensions-implemented",
            }
        ),
    ),
    "errors-drop-error-info": Mutant(
        "GEN-001: errors carry their code but no ErrorInfo; the protocol level allows that",
        replace(errors.LeptonError, "to_status_proto", _error_info_dropped),
        ERROR_TABLE
        | {
            "general.auth.invalid-token-is-unauthenticated",
            "general.auth.missing-token-is-unauthenticated",
            "general.errors.malformed-request-is-invalid-argument",
            "general.pagination.foreign-token-is-invalid",
            "general.pagination.negative-page-size-is-invalid",
            "inference-core.infer.unknown-parameters-ignored",
            "inference-core.model.metadata",
            "inference-core.model.ready",
        },
        passes=("oip",),
    ),
}
