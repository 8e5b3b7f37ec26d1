"""One ONNX model version executed by onnxruntime: its signature and a synchronous run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from lepton_server.runtime.errors import InvalidArgument

PLATFORM = "onnxruntime_onnx"

# onnxruntime's type strings and the Open Inference Protocol datatypes.
ORT_TO_OIP = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(bfloat16)": "BF16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


@dataclass(frozen=True)
class TensorSignature:
    """Name, OIP datatype and shape (-1 for a variable dimension) of one model tensor."""

    name: str
    datatype: str
    shape: tuple[int, ...]


class UnsupportedModelError(ValueError):
    """The ONNX file cannot be served (a tensor type OIP has no datatype for, say)."""


def _signature(node: ort.NodeArg) -> TensorSignature:
    datatype = ORT_TO_OIP.get(node.type)
    if datatype is None:
        raise UnsupportedModelError(f"{node.name}: type {node.type} has no OIP datatype")
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in node.shape or ())
    return TensorSignature(node.name, datatype, shape)


class OnnxModel:
    """An onnxruntime session for one model file. `run` blocks: call it off the event loop."""

    def __init__(self, path: Path, intra_op_threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise UnsupportedModelError(f"{path.name}: {exc}") from exc
        self.inputs = [_signature(i) for i in self._session.get_inputs()]
        self.outputs = [_signature(o) for o in self._session.get_outputs()]
        self.input_by_name = {s.name: s for s in self.inputs}
        self._text_inputs = {s.name for s in self.inputs if s.datatype == "BYTES"}
        self._text_outputs = {s.name for s in self.outputs if s.datatype == "BYTES"}

    def prepare_input(self, name: str, array: np.ndarray) -> np.ndarray:
        """The array in the form the runtime takes: BYTES elements become UTF-8 text."""
        return _as_text(array, name) if name in self._text_inputs else array

    def run(self, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
        """Execute once on prepared inputs; returns `outputs` in order, BYTES as bytes."""
        results = self._session.run(outputs, feeds)
        return [
            _as_bytes(array) if name in self._text_outputs else array
            for name, array in zip(outputs, results, strict=True)
        ]


def _as_text(elements: np.ndarray, name: str) -> np.ndarray:
    # ONNX string tensors hold UTF-8 text, and onnxruntime's Python API only moves str.
    try:
        texts = [e.decode("utf-8") if isinstance(e, bytes) else e for e in elements.reshape(-1)]
    except UnicodeDecodeError as exc:
        raise InvalidArgument(
            reason="INVALID_BYTES_ENCODING",
            message=f"input {name!r}: element is not UTF-8 text, which this model requires",
            metadata={"input": name},
        ) from exc
    array = np.empty(len(texts), dtype=object)
    array[:] = texts
    return array.reshape(elements.shape)


def _as_bytes(array: np.ndarray) -> np.ndarray:
    out = np.empty(array.size, dtype=object)
    out[:] = [e.encode("utf-8") if isinstance(e, str) else bytes(e) for e in array.reshape(-1)]
    return out.reshape(array.shape)
