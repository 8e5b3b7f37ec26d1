"""Triton Python-backend model that runs one conformance ONNX file in onnxruntime.

The launcher (interop/servers.py) copies this file as `<model>/<version>/model.py` next to
that version's `model.onnx`; Triton's Python backend imports it in its stub process. BYTES
tensors arrive as numpy object arrays of `bytes`; ONNX strings are UTF-8 text, so they are
decoded before the run and encoded after it.

The stub embeds the system's libpython and ignores PYTHONPATH, so numpy and onnxruntime come
from the interop virtualenv whose site-packages directory the launcher writes beside this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, Path(__file__).with_name("site-packages.txt").read_text().strip())

import numpy as np
import onnxruntime
import triton_python_backend_utils as pb_utils


def _to_onnx(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.object_:
        return array
    return np.vectorize(
        lambda item: item.decode("utf-8") if isinstance(item, bytes) else item, otypes=[object]
    )(array)


def _from_onnx(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.object_ and array.dtype.kind != "U":
        return array
    return np.vectorize(
        lambda item: item.encode("utf-8") if isinstance(item, str) else item, otypes=[object]
    )(array.astype(object))


class TritonPythonModel:
    """One model version: an onnxruntime session over the version's model.onnx."""

    def initialize(self, args: dict) -> None:
        version_dir = Path(args["model_repository"]) / args["model_version"]
        options = onnxruntime.SessionOptions()
        # Two CPUs are shared by every process here; one thread per session is enough.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(version_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        config = json.loads(args["model_config"])
        self.inputs = [tensor["name"] for tensor in config["input"]]
        self.outputs = [tensor["name"] for tensor in config["output"]]

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            try:
                feed = {
                    name: _to_onnx(pb_utils.get_input_tensor_by_name(request, name).as_numpy())
                    for name in self.inputs
                }
                results = self.session.run(self.outputs, feed)
                tensors = [
                    pb_utils.Tensor(name, _from_onnx(result))
                    for name, result in zip(self.outputs, results, strict=True)
                ]
                responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            except Exception as error:  # the error goes back to this request only
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error))))
        return responses
