"""The inference layer as prediction jobs call it, over gRPC (lepton.inference.v1, the Open
Inference Protocol): model metadata and batched ModelInfer with raw tensor contents. A model
is named as the inference service knows it, or by a registry reference that the inference
layer serves under the model id (spec/inference.md §12): `models/m` (its `latest`),
`models/m@prod` and `models/m/aliases/prod` (an alias), `models/m/versions/3`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np

from lepton.inference.v1 import inference_service_pb2 as ipb
from lepton.inference.v1 import inference_service_pb2_grpc as ipb_grpc
from lepton_ai.errors import from_rpc_error
from lepton_server.inference.tensor_codec import DATATYPES, decode_raw, encode_raw
from lepton_server.runtime.errors import LeptonError, Unavailable
from lepton_server.runtime.layer_calls import as_lepton_error

REGISTRY_REFERENCE = re.compile(
    r"^models/(?P<model>[a-z][a-z0-9-]*)(?:@(?P<at>[a-z0-9-]+)|/aliases/(?P<alias>[a-z0-9-]+)"
    r"|/versions/(?P<version>[0-9]+))?$"
)


def served_name(model: str, version: str) -> tuple[str, str]:
    """(OIP model name, OIP model version) of a job's model and version."""
    found = REGISTRY_REFERENCE.match(model)
    if found is None:
        return model, version
    named = found["at"] or found["alias"] or found["version"] or ""
    return found["model"], version or named


@dataclass(frozen=True)
class InferResult:
    model_version: str
    outputs: Mapping[str, np.ndarray]


class InferenceModels:
    """An inference service: the engine of the inference layer in this process (called on
    the server's event loop), or one reached over gRPC. Neither until the server listens."""

    def __init__(self) -> None:
        self.channel: grpc.Channel | None = None
        self.metadata_pairs: tuple[tuple[str, str], ...] = ()
        # The in-process InferenceEngine and the loop it serves on.
        self.engine: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _stub(self) -> ipb_grpc.InferenceServiceStub:
        if self.channel is None:
            raise Unavailable(
                reason="SERVICE_UNAVAILABLE",
                message="this server reaches no inference service (--annotation-inference-address)",
            )
        return ipb_grpc.InferenceServiceStub(self.channel)

    def _error(self, error: grpc.RpcError) -> LeptonError:
        return as_lepton_error(from_rpc_error(error))

    def metadata(self, model: str, version: str) -> ipb.ModelMetadataResponse:
        request = ipb.ModelMetadataRequest(name=model, version=version)
        if self.engine is not None:
            return self.engine.model_metadata(request)
        try:
            return self._stub().ModelMetadata(request, metadata=self.metadata_pairs)
        except grpc.RpcError as error:
            raise self._error(error) from None

    def submit(
        self,
        model: str,
        version: str,
        inputs: Sequence[tuple[str, str, np.ndarray]],
        outputs: Sequence[str],
    ) -> Any:
        """Start one ModelInfer of (name, datatype, array) inputs; `result` reads it."""
        request = ipb.ModelInferRequest(model_name=model, model_version=version)
        for name, datatype, array in inputs:
            request.inputs.add(name=name, datatype=datatype, shape=list(array.shape))
            request.raw_input_contents.append(bytes(encode_raw(array, DATATYPES[datatype])))
        for name in outputs:
            request.outputs.add(name=name)
        if self.engine is not None and self.loop is not None:
            return asyncio.run_coroutine_threadsafe(self.engine.infer(request), self.loop)
        return self._stub().ModelInfer.future(request, metadata=self.metadata_pairs)

    def result(self, call: Any, version: str) -> InferResult:
        """The outputs of a submitted call; raises the call's grpc.RpcError, or the engine's
        LeptonError."""
        answer = call.result()
        response = (
            ipb.ModelInferResponse.FromString(answer) if isinstance(answer, bytes) else answer
        )
        decoded = {}
        for i, tensor in enumerate(response.outputs):
            dtype = DATATYPES[tensor.datatype]
            raw = response.raw_output_contents[i] if i < len(response.raw_output_contents) else b""
            decoded[tensor.name] = decode_raw(raw, dtype, list(tensor.shape), tensor.name)
        return InferResult(response.model_version or version, decoded)

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
