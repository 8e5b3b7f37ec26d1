"""MLServer custom runtime that runs one conformance ONNX file in onnxruntime.

Each model version's `model-settings.json` (written by interop/servers.py) names this class as
its implementation and its `model.onnx` as `parameters.uri`. BYTES tensors are ONNX strings,
which are UTF-8 text: they are decoded before the run and encoded after it.
"""

from __future__ import annotations

import numpy as np
import onnxruntime
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse, RequestInput
from mlserver.utils import get_model_uri


def _decode(request_input: RequestInput) -> np.ndarray:
    # NumpyCodec reads BYTES as fixed-size elements and rejects strings of different lengths;
    # the request's data already holds one bytes object per element.
    if request_input.datatype == "BYTES":
        items = list(request_input.data.root)
        return np.array(items, dtype=object).reshape(request_input.shape)
    return NumpyCodec.decode_input(request_input)


def _to_onnx(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.object_ and array.dtype.kind != "S":
        return array
    return np.vectorize(
        lambda item: item.decode("utf-8") if isinstance(item, bytes) else item, otypes=[object]
    )(array.astype(object))


def _from_onnx(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.object_ and array.dtype.kind != "U":
        return array
    return np.vectorize(
        lambda item: item.encode("utf-8") if isinstance(item, str) else item, otypes=[object]
    )(array.astype(object))


class OnnxRuntime(MLModel):
    """One model version: an onnxruntime session over the version's model.onnx."""

    async def load(self) -> bool:
        options = onnxruntime.SessionOptions()
        # Two CPUs are shared by every process here; one thread per session is enough.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        path = await get_model_uri(self.settings)
        self.session = onnxruntime.InferenceSession(
            path, options, providers=["CPUExecutionProvider"]
        )
        self.output_names = [output.name for output in self.session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feed = {
            request_input.name: _to_onnx(_decode(request_input)) for request_input in payload.inputs
        }
        wanted = [output.name for output in payload.outputs or []] or self.output_names
        results = self.session.run(wanted, feed)
        return InferenceResponse(
            id=payload.id,
            model_name=self.name,
            model_version=self.version,
            outputs=[
                NumpyCodec.encode_output(name, _from_onnx(result))
                for name, result in zip(wanted, results, strict=True)
            ],
        )
