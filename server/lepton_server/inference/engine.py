"""The inference domain: validates Open Inference Protocol requests against a model's
signature, runs them (batched or not) off the event loop, and builds responses. It knows
nothing of gRPC; errors are LeptonError with the reasons of spec/inference.md."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_server import __version__
from lepton_server.inference import tensor_codec, wire
from lepton_server.inference.batcher import DynamicBatcher, Execution
from lepton_server.inference.model_repository import LoadedVersion, ModelRepository
from lepton_server.inference.onnx_model import PLATFORM, TensorSignature
from lepton_server.runtime.errors import (
    NotFound,
    ResourceExhausted,
    Unavailable,
    Unimplemented,
    invalid_argument,
    invalid_field,
)

SERVER_NAME = "lepton"
# OIP reserves these for stateful (sequence) models, an extension this server lacks (INF-036).
SEQUENCE_PARAMETERS = ("sequence_id", "sequence_start", "sequence_end")
LAYOUT_CACHE_SIZE = 256
EXTENSIONS = ("dynamic_batching", "model_repository", "statistics", "streaming")


# One input as read from the request: name, datatype, shape and the message itself.
_Input = tuple[str, str, tuple[int, ...], pb.ModelInferRequest.InferInputTensor]


@dataclass(frozen=True)
class Prepared:
    """A validated request: decoded inputs, the outputs to return and its batch size."""

    feeds: dict[str, np.ndarray]
    outputs: list[TensorSignature]
    batch_size: int
    input_ns: int


class InferenceEngine:
    """Serves the models of one repository."""

    def __init__(self, repository: ModelRepository, max_message_bytes: int) -> None:
        self.repository = repository
        self.max_message_bytes = max_message_bytes
        self.executor = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 2, thread_name_prefix="lepton-infer"
        )
        self._loaded = False

    @property
    def ready(self) -> bool:
        """Every model configured at start has loaded and, for a replica that serves a remote
        registry, the registry has been read once (INF-003)."""
        registry = self.repository.registry
        waits = registry is not None and registry.gates_readiness
        return self._loaded and (not waits or registry.synced.is_set())

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Load every model of the repository (blocking, before the server serves)."""
        self.repository.load_all()
        for version in self.repository.loaded_versions():
            self._attach_batcher(version)
        self._loaded = True

    def close(self) -> None:
        for version in self.repository.loaded_versions():
            _close_batcher(version)
        self.executor.shutdown(wait=False, cancel_futures=True)

    def _attach_batcher(self, version: LoadedVersion) -> None:
        config = version.config
        if not (config.dynamic_batching and config.max_batch_size > 0):
            return
        version.batcher = DynamicBatcher(
            version.model.run,
            [o.name for o in version.model.outputs],
            max_batch_size=config.max_batch_size,
            max_queue_delay_s=config.max_queue_delay_s,
            on_execution=lambda rows, ns, s=version.statistics: s.execution_done(rows, 0, ns, 0),
            cost=version.cost,
            name=f"lepton-batcher-{version.name}-{version.version}",
        )

    # --- health and metadata ------------------------------------------------------------

    def server_metadata(self) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(
            name=SERVER_NAME, version=__version__, extensions=list(EXTENSIONS)
        )

    def _lookup(self, name: str, version: str, field: str = "name") -> LoadedVersion:
        if not name:
            raise invalid_field(field, "a model name is required")
        return self.repository.get(name, version)

    def model_ready(self, request: pb.ModelReadyRequest) -> bool:
        """INF-011: a known version that cannot serve is `false`, an unknown one NOT_FOUND."""
        try:
            self._lookup(request.name, request.version)
        except Unavailable:
            return False
        return True

    def model_metadata(self, request: pb.ModelMetadataRequest) -> pb.ModelMetadataResponse:
        loaded = self._lookup(request.name, request.version)
        versions = [v.version for v in self.repository.loaded_versions(request.name)]

        def tensors(signatures: list[TensorSignature]):
            return [
                pb.ModelMetadataResponse.TensorMetadata(
                    name=s.name, datatype=s.datatype, shape=list(s.shape)
                )
                for s in signatures
            ]

        return pb.ModelMetadataResponse(
            name=loaded.name,
            versions=versions,
            platform=PLATFORM,
            inputs=tensors(loaded.model.inputs),
            outputs=tensors(loaded.model.outputs),
        )

    # --- inference ----------------------------------------------------------------------

    async def infer(
        self, request: pb.ModelInferRequest, raw: Sequence[bytes | memoryview] | None = None
    ) -> bytes:
        """Run one request (INF-013, INF-020..INF-040); the serialized ModelInferResponse.

        `raw` carries the raw input contents when they were parsed apart from the message
        (wire.parse_infer_request); by default they are the message's own."""
        if raw is None:
            raw = request.raw_input_contents
        started = time.perf_counter_ns()
        loaded = self._lookup(request.model_name, request.model_version, "model_name")
        for name in SEQUENCE_PARAMETERS:
            if name in request.parameters:
                raise Unimplemented(
                    reason="FEATURE_NOT_SUPPORTED",
                    message=f"parameter {name!r} needs the 'sequence' extension",
                    metadata={"feature": "sequence"},
                )
        statistics = loaded.statistics
        try:
            prepared = self._prepare(loaded, request, raw)
            execution = await self._execute(loaded, prepared)
            output_started = time.perf_counter_ns()
            response = self._respond(loaded, request, prepared, execution)
            output_ns = time.perf_counter_ns() - output_started
        except BaseException:
            statistics.request_done(False, time.perf_counter_ns() - started)
            raise
        statistics.request_done(
            True,
            time.perf_counter_ns() - started,
            batch_size=prepared.batch_size,
            queue_ns=execution.queue_ns,
            input_ns=prepared.input_ns,
            infer_ns=execution.infer_ns,
            output_ns=output_ns,
        )
        return response

    async def _execute(self, loaded: LoadedVersion, prepared: Prepared) -> Execution:
        if loaded.batcher is not None:
            execution = await loaded.batcher.submit(prepared.feeds, prepared.batch_size)
        else:
            names = [o.name for o in loaded.model.outputs]
            if loaded.cost.cheap:  # cheaper here than the hop to a thread (batcher.py)
                outputs, infer_ns, cpu_ns = _timed_run(loaded, prepared.feeds, names)
            else:
                loop = asyncio.get_running_loop()
                outputs, infer_ns, cpu_ns = await loop.run_in_executor(
                    self.executor, _timed_run, loaded, prepared.feeds, names
                )
            loaded.cost.record(cpu_ns)
            loaded.statistics.execution_done(prepared.batch_size, prepared.input_ns, infer_ns, 0)
            execution = Execution(outputs, 0, infer_ns)
        by_name = dict(zip([o.name for o in loaded.model.outputs], execution.outputs, strict=True))
        return Execution(
            [by_name[o.name] for o in prepared.outputs], execution.queue_ns, execution.infer_ns
        )

    def _prepare(
        self, loaded: LoadedVersion, request: pb.ModelInferRequest, raw: Sequence
    ) -> Prepared:
        """Validate in the order INF-039 fixes, then decode.

        Requests of one model mostly repeat the same names, datatypes and shapes: a layout
        that passed validation once is remembered, and only the contents are checked again."""
        started = time.perf_counter_ns()
        # Read every input's fields once: protobuf field access dominates small requests.
        inputs = [(t.name, t.datatype, tuple(t.shape), t) for t in request.inputs]
        layout = (
            tuple(spec[:3] for spec in inputs),
            tuple(o.name for o in request.outputs),
        )
        known = loaded.layouts.get(layout)
        if known is None:
            known = self._validate_layout(loaded, request, inputs, raw)
            if len(loaded.layouts) >= LAYOUT_CACHE_SIZE:
                loaded.layouts.clear()
            loaded.layouts[layout] = known
        dtypes, outputs, batch = known
        feeds = _decode_inputs(loaded, inputs, raw, dtypes)
        return Prepared(feeds, outputs, batch, time.perf_counter_ns() - started)

    def _validate_layout(
        self,
        loaded: LoadedVersion,
        request: pb.ModelInferRequest,
        inputs: list[_Input],
        raw: Sequence,
    ) -> tuple[list[tensor_codec.DataType], list[TensorSignature], int]:
        """Everything INF-039 checks that does not depend on the tensor contents. The order
        differs from INF-039 only where a contents error could come first, so contents
        errors are checked before output and batch errors on the first sight of a layout."""
        dtypes = [
            tensor_codec.datatype(datatype, f"inputs[{i}].datatype")
            for i, (_, datatype, _, _) in enumerate(inputs)
        ]
        signatures = loaded.model.input_by_name
        _check_input_names(loaded.name, inputs, signatures)
        for i, (name, datatype, _, _) in enumerate(inputs):
            wanted = signatures[name].datatype
            if datatype != wanted:
                raise invalid_argument(
                    "DATATYPE_MISMATCH",
                    f"inputs[{i}].datatype",
                    f"input {name!r} is {wanted}, got {datatype}",
                    input=name,
                )
        for i, (name, _, shape, _) in enumerate(inputs):
            _check_shape(i, name, shape, signatures[name].shape)
        _decode_inputs(loaded, inputs, raw, dtypes)
        return dtypes, self._requested_outputs(loaded, request), self._batch_size(loaded, inputs)

    @staticmethod
    def _requested_outputs(
        loaded: LoadedVersion, request: pb.ModelInferRequest
    ) -> list[TensorSignature]:
        signatures = {s.name: s for s in loaded.model.outputs}
        if not request.outputs:
            return list(loaded.model.outputs)
        chosen: list[TensorSignature] = []
        for i, output in enumerate(request.outputs):
            if output.name not in signatures:
                raise invalid_argument(
                    "UNKNOWN_OUTPUT",
                    f"outputs[{i}].name",
                    f"model {loaded.name!r} has no output {output.name!r}",
                    output=output.name,
                )
            if any(c.name == output.name for c in chosen):
                raise invalid_argument(
                    "DUPLICATE_OUTPUT",
                    f"outputs[{i}].name",
                    f"output {output.name!r} is requested twice",
                    output=output.name,
                )
            chosen.append(signatures[output.name])
        return chosen

    @staticmethod
    def _batch_size(loaded: LoadedVersion, inputs: list[_Input]) -> int:
        limit = loaded.config.max_batch_size
        if limit <= 0:
            return 1
        sizes = {shape[0] for _, _, shape, _ in inputs if shape}
        if len(sizes) > 1:
            raise invalid_argument(
                "SHAPE_MISMATCH",
                "inputs",
                f"inputs disagree on the batch dimension: {sorted(sizes)}",
            )
        batch = sizes.pop() if sizes else 1
        if batch > limit:
            raise invalid_argument(
                "BATCH_TOO_LARGE",
                "inputs[0].shape",
                f"batch of {batch} exceeds the model's maximum of {limit}",
            )
        return batch

    def _respond(
        self,
        loaded: LoadedVersion,
        request: pb.ModelInferRequest,
        prepared: Prepared,
        execution: Execution,
    ) -> bytes:
        contents: list[bytes | memoryview] = []
        described: list[tuple[str, str, tuple[int, ...]]] = []
        total = 0
        for signature, array in zip(prepared.outputs, execution.outputs, strict=True):
            data = tensor_codec.encode_raw(array, tensor_codec.DATATYPES[signature.datatype])
            total += len(data)
            if total > self.max_message_bytes:
                raise ResourceExhausted(
                    reason="MESSAGE_TOO_LARGE",
                    message=f"the response would exceed the {self.max_message_bytes}-byte limit",
                )
            described.append((signature.name, signature.datatype, array.shape))
            contents.append(data)
        return wire.infer_response(loaded.headers.get(described), request.id, contents)

    # --- statistics and repository ------------------------------------------------------

    def statistics(self, request: pb.ModelStatisticsRequest) -> pb.ModelStatisticsResponse:
        if request.name:
            loaded = self._lookup(request.name, request.version)
            versions = (
                [loaded] if request.version else self.repository.loaded_versions(request.name)
            )
        else:
            versions = self.repository.loaded_versions()
        return pb.ModelStatisticsResponse(model_stats=[v.statistics.proto() for v in versions])

    def _check_repository(self, name: str) -> None:
        if name and name != self.repository.name:
            raise NotFound(
                reason="REPOSITORY_NOT_FOUND",
                message=f"unknown repository {name!r}",
                metadata={"repository": name},
            )

    def index(self, request: pb.RepositoryIndexRequest) -> pb.RepositoryIndexResponse:
        self._check_repository(request.repository_name)
        rows = self.repository.index()
        return pb.RepositoryIndexResponse(
            models=[
                pb.RepositoryIndexResponse.ModelIndex(name=n, version=v, state=s, reason=r)
                for n, v, s, r in rows
                if not request.ready or s == "READY"
            ]
        )

    async def load(self, request: pb.RepositoryModelLoadRequest) -> None:
        self._check_repository(request.repository_name)
        if not request.model_name:
            raise invalid_field("model_name", "a model name is required")
        loop = asyncio.get_running_loop()
        loaded = await loop.run_in_executor(self.executor, self.repository.load, request.model_name)
        for version in loaded:
            self._attach_batcher(version)

    def unload(self, request: pb.RepositoryModelUnloadRequest) -> None:
        self._check_repository(request.repository_name)
        if not request.model_name:
            raise invalid_field("model_name", "a model name is required")
        for version in self.repository.unload(request.model_name):
            _close_batcher(version)


def _check_shape(index: int, name: str, shape: tuple[int, ...], wanted: tuple[int, ...]) -> None:
    """INF-032: same rank, no negative dimension, fixed dimensions equal."""
    if len(shape) == len(wanted) and all(
        got >= 0 and (expected < 0 or got == expected)
        for got, expected in zip(shape, wanted, strict=True)
    ):
        return
    raise invalid_argument(
        "SHAPE_MISMATCH",
        f"inputs[{index}].shape",
        f"input {name!r} has shape {list(wanted)}, got {list(shape)}",
        input=name,
    )


def _check_input_names(model: str, inputs: list[_Input], signatures: dict) -> None:
    """INF-030: every input known, none twice, none missing."""
    seen: set[str] = set()
    for i, (name, _, _, _) in enumerate(inputs):
        if name not in signatures:
            raise invalid_argument(
                "UNKNOWN_INPUT",
                f"inputs[{i}].name",
                f"model {model!r} has no input {name!r}",
                input=name,
            )
        if name in seen:
            raise invalid_argument(
                "DUPLICATE_INPUT", f"inputs[{i}].name", f"input {name!r} is given twice", input=name
            )
        seen.add(name)
    if len(seen) != len(signatures):
        missing = next(name for name in signatures if name not in seen)
        raise invalid_argument(
            "MISSING_INPUT", "inputs", f"input {missing!r} is missing", input=missing
        )


def _decode_inputs(
    loaded: LoadedVersion,
    inputs: list[_Input],
    raw: Sequence[bytes | memoryview],
    dtypes: list[tensor_codec.DataType],
) -> dict[str, np.ndarray]:
    """INF-023..INF-026: one contents form, the right count, sizes and framing."""
    if raw:
        if any(t.HasField("contents") and t.contents.ByteSize() for _, _, _, t in inputs):
            raise invalid_argument(
                "MIXED_TENSOR_CONTENTS",
                "raw_input_contents",
                "raw_input_contents and typed contents used together",
            )
        if len(raw) != len(inputs):
            raise invalid_argument(
                "RAW_CONTENTS_COUNT_MISMATCH",
                "raw_input_contents",
                f"{len(raw)} entries for {len(inputs)} inputs",
            )
    model = loaded.model
    feeds: dict[str, np.ndarray] = {}
    for i, ((name, _, shape, tensor), dtype) in enumerate(zip(inputs, dtypes, strict=True)):
        if raw:
            array = tensor_codec.decode_raw(raw[i], dtype, shape, f"raw_input_contents[{i}]")
        else:
            field = f"inputs[{i}].contents"
            array = tensor_codec.decode_typed(tensor.contents, dtype, shape, field)
        feeds[name] = model.prepare_input(name, array)
    return feeds


def _timed_run(
    loaded: LoadedVersion, feeds: dict[str, np.ndarray], names: list[str]
) -> tuple[list[np.ndarray], int, int]:
    """The version's outputs for `feeds`, the nanoseconds the execution took and the CPU
    nanoseconds it took on this thread."""
    started, cpu_started = time.perf_counter_ns(), time.thread_time_ns()
    outputs = loaded.model.run(feeds, names)
    return outputs, time.perf_counter_ns() - started, time.thread_time_ns() - cpu_started


def _close_batcher(version: LoadedVersion) -> None:
    """Let the version's batcher finish what it holds and stop its thread."""
    if version.batcher is not None:
        version.batcher.close()
