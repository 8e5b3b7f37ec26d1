"""The conformance model set (spec/inference.md §9), built reproducibly with onnx.helper.

    lepton-conformance models --out DIR

writes `DIR/<model>/<version>/model.onnx` plus, per model, `config.json` (read by the Lepton
reference server) and `config.pbtxt` (read by Triton), so a vendor can load the same files
into any Open Inference Protocol server before running the inference profiles. Building
twice gives identical bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from onnx import TensorProto, helper

OPSET = 17
IR_VERSION = 8
PRODUCER = "lepton-conformance"

# OIP datatype -> ONNX element type, for every identity model (BF16 is left out: not every
# runtime implements it, spec/inference.md §9).
IDENTITY_TYPES = {
    "BOOL": TensorProto.BOOL,
    "UINT8": TensorProto.UINT8,
    "UINT16": TensorProto.UINT16,
    "UINT32": TensorProto.UINT32,
    "UINT64": TensorProto.UINT64,
    "INT8": TensorProto.INT8,
    "INT16": TensorProto.INT16,
    "INT32": TensorProto.INT32,
    "INT64": TensorProto.INT64,
    "FP16": TensorProto.FLOAT16,
    "FP32": TensorProto.FLOAT,
    "FP64": TensorProto.DOUBLE,
    "BYTES": TensorProto.STRING,
}
ADD_SUB_MAX_BATCH = 64
BATCH_DELAY_US = 2000


@dataclass(frozen=True)
class ModelSpec:
    """One model of the set: its versions' graphs and its serving configuration."""

    name: str
    versions: dict[int, onnx.ModelProto]
    max_batch_size: int = 0
    dynamic_batching: bool = False
    all_versions: bool = False
    extra: dict = field(default_factory=dict)


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def _tensor(name: str, element: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, element, shape)


def add_sub(element: int, name: str) -> onnx.ModelProto:
    """OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1 over [-1, 16]."""
    shape = ["batch", 16]
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"]),
            helper.make_node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"]),
        ],
        name,
        [_tensor("INPUT0", element, shape), _tensor("INPUT1", element, shape)],
        [_tensor("OUTPUT0", element, shape), _tensor("OUTPUT1", element, shape)],
    )
    return _model(graph)


def identity(element: int, name: str) -> onnx.ModelProto:
    """OUTPUT0 = INPUT0 over [-1, -1]."""
    shape = ["rows", "columns"]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["INPUT0"], ["OUTPUT0"])],
        name,
        [_tensor("INPUT0", element, shape)],
        [_tensor("OUTPUT0", element, shape)],
    )
    return _model(graph)


def scale(version: int) -> onnx.ModelProto:
    """OUTPUT0 = INPUT0 * version over FP32 [-1, 4]."""
    shape = ["batch", 4]
    factor = helper.make_tensor("FACTOR", TensorProto.FLOAT, [], [float(version)])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["INPUT0", "FACTOR"], ["OUTPUT0"])],
        "scale_versions",
        [_tensor("INPUT0", TensorProto.FLOAT, shape)],
        [_tensor("OUTPUT0", TensorProto.FLOAT, shape)],
        initializer=[factor],
    )
    return _model(graph)


def model_set() -> Iterator[ModelSpec]:
    """Every model of the conformance set."""
    yield ModelSpec(
        "add_sub_fp32",
        {1: add_sub(TensorProto.FLOAT, "add_sub_fp32")},
        max_batch_size=ADD_SUB_MAX_BATCH,
        dynamic_batching=True,
    )
    yield ModelSpec("add_sub_int32", {1: add_sub(TensorProto.INT32, "add_sub_int32")})
    for datatype, element in IDENTITY_TYPES.items():
        name = f"identity_{datatype.lower()}"
        yield ModelSpec(name, {1: identity(element, name)})
    yield ModelSpec("scale_versions", {1: scale(1), 2: scale(2)}, all_versions=True)


def _lepton_config(spec: ModelSpec) -> dict:
    config: dict = {"max_batch_size": spec.max_batch_size}
    if spec.dynamic_batching:
        # Long enough for concurrent requests to meet in one batch, short enough to go unnoticed.
        config["dynamic_batching"] = {"max_queue_delay_microseconds": BATCH_DELAY_US}
    config["version_policy"] = {"all": {}} if spec.all_versions else {"latest": {"num_versions": 1}}
    return config


def _triton_config(spec: ModelSpec) -> str:
    lines = [
        f'name: "{spec.name}"',
        'platform: "onnxruntime_onnx"',
        f"max_batch_size: {spec.max_batch_size}",
    ]
    if spec.all_versions:
        lines.append("version_policy: { all: {} }")
    if spec.dynamic_batching:
        lines.append(f"dynamic_batching: {{ max_queue_delay_microseconds: {BATCH_DELAY_US} }}")
    return "\n".join(lines) + "\n"


def write_model_set(out: Path) -> list[Path]:
    """Write every model, config.json and config.pbtxt under `out`; return the model files."""
    written: list[Path] = []
    for spec in model_set():
        model_dir = out / spec.name
        for version, model in spec.versions.items():
            path = model_dir / str(version) / "model.onnx"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(model.SerializeToString(deterministic=True))
            written.append(path)
        (model_dir / "config.json").write_text(json.dumps(_lepton_config(spec), indent=2) + "\n")
        (model_dir / "config.pbtxt").write_text(_triton_config(spec))
    return written
