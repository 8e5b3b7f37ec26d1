"""Conversion of a model version to ONNX, checked against the source (spec/registry.md).

`convert_to_onnx` converts scikit-learn estimators and pipelines (SKOPS, or PICKLE when the
operator trusts it) with skl2onnx, XGBoost and LightGBM boosters with onnxmltools, and
TorchScript or torch.export programs with torch.onnx where torch is installed. The ONNX model
takes and returns exactly what the source's signature declares: the converter's input is
named after the signature's, and each signature output is bound to the converter's output of
the same role (by name, else by position: `label`, `probabilities`, or `variable`), with a
Cast or Reshape added where the declared type or rank differ, and the converter's other
outputs dropped. So the new version keeps the source's signature (REG-051). Both models then
run on the same sample rows (`equivalence`); outputs outside the tolerance fail with
FAILED_PRECONDITION, reason CONVERSION_NOT_EQUIVALENT, carrying the report (REG-052).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnx import helper

from lepton.registry.v1 import conversion_job_pb2
from lepton.type.v1 import model_format_pb2, model_signature_pb2, tensor_pb2
from lepton_server.registry import equivalence
from lepton_server.registry.native_models import (
    LIGHTGBM,
    PROBABILITIES,
    SKLEARN,
    XGBOOST,
    load_native_model,
    predict,
    unsupported,
)
from lepton_server.runtime.errors import FailedPrecondition, invalid_field

ModelFormat = model_format_pb2.ModelFormat
DataType = tensor_pb2.DataType
TORCH_FORMATS = frozenset(
    {ModelFormat.MODEL_FORMAT_TORCHSCRIPT, ModelFormat.MODEL_FORMAT_TORCH_EXPORT}
)
# Opsets 1 to 6 predate the operators every converter emits (ConversionJob.target_opset).
MIN_OPSET = 7
# The default-domain opset declared for a converted graph that declares none.
DEFAULT_OPSET = 17
# Where a DataType's name differs from onnx.TensorProto's.
_TENSOR_PROTO_NAMES = {
    "FP16": "FLOAT16",
    "FP32": "FLOAT",
    "FP64": "DOUBLE",
    "BF16": "BFLOAT16",
    "BYTES": "STRING",
}


@dataclass
class ConversionNotEquivalent(FailedPrecondition):
    """The converted model's outputs are outside the tolerance; `report` says by how much."""

    report: conversion_job_pb2.EquivalenceReport = field(
        default_factory=conversion_job_pb2.EquivalenceReport
    )


@dataclass(frozen=True)
class ConversionResult:
    """A converted model: the ONNX bytes, the signature it serves and how it compares."""

    onnx_model: bytes
    signature: model_signature_pb2.ModelSignature
    report: conversion_job_pb2.EquivalenceReport
    opset: int

    @property
    def format_version(self) -> str:
        """ModelVersion.format_version of the new version, e.g. "opset=17"."""
        return f"opset={self.opset}"


def check_conversion_job(
    job: conversion_job_pb2.ConversionJob, prefix: str = "conversion_job"
) -> None:
    """The creation checks of a job's fields (REG-052), INVALID_ARGUMENT INVALID_FIELD."""
    if job.target_format != ModelFormat.MODEL_FORMAT_ONNX:
        raise invalid_field(f"{prefix}.target_format", "v1 converts to MODEL_FORMAT_ONNX only")
    if job.target_opset < 0 or 0 < job.target_opset < MIN_OPSET:
        raise invalid_field(f"{prefix}.target_opset", f"0 (the default) or at least {MIN_OPSET}")
    if not 0 <= job.sample_rows <= equivalence.MAX_ROWS:
        raise invalid_field(f"{prefix}.sample_rows", f"0 to {equivalence.MAX_ROWS}")
    for name in ("absolute", "relative"):
        value = getattr(job.tolerance, name)
        if not math.isfinite(value) or value < 0:
            raise invalid_field(f"{prefix}.tolerance.{name}", "a finite number >= 0")


def convert_job(
    data: bytes,
    model_format: int,
    signature: model_signature_pb2.ModelSignature,
    job: conversion_job_pb2.ConversionJob,
    *,
    trust_pickle: bool = False,
) -> ConversionResult:
    """`convert_to_onnx` with a ConversionJob's opset, tolerance, rows and seed."""
    return convert_to_onnx(
        data,
        model_format,
        signature,
        target_opset=job.target_opset,
        tolerance=job.tolerance if job.HasField("tolerance") else None,
        sample_rows=job.sample_rows,
        seed=job.seed,
        trust_pickle=trust_pickle,
    )


def convert_to_onnx(
    data: bytes,
    model_format: int,
    signature: model_signature_pb2.ModelSignature,
    *,
    target_opset: int = 0,
    tolerance: conversion_job_pb2.EquivalenceTolerance | None = None,
    sample_rows: int = 0,
    seed: int = 0,
    trust_pickle: bool = False,
) -> ConversionResult:
    """Converts an artifact to ONNX and compares both models on sample rows.

    Raises FailedPrecondition SIGNATURE_REQUIRED (no signature input), CONVERSION_UNSUPPORTED
    (no converter, or it fails), ConversionNotEquivalent (outputs outside the tolerance).
    """
    if not signature.inputs:
        raise FailedPrecondition(
            reason="SIGNATURE_REQUIRED",
            message="the source has no signature input to build sample rows from",
        )
    tolerance = tolerance if tolerance is not None else equivalence.DEFAULT_TOLERANCE
    rows = sample_rows or equivalence.DEFAULT_ROWS
    request = _Request(signature, target_opset, rows, seed)
    if model_format in TORCH_FORMATS:
        converted = _convert_torch(data, model_format, request)
    else:
        converted = _convert_tabular(data, model_format, request, trust_pickle)
    model, source_outputs, feeds, converter = converted
    model_bytes = model.SerializeToString()
    actual = _run_onnx(model_bytes, feeds, [spec.name for spec in signature.outputs])
    differences = [
        equivalence.compare_output(spec.name, source, result, tolerance)
        for spec, source, result in zip(signature.outputs, source_outputs, actual, strict=True)
    ]
    runtime = f"onnxruntime {ort.__version__}"
    report = equivalence.report(
        differences,
        rows=rows,
        seed=seed,
        tolerance=tolerance,
        converter=converter,
        runtime=runtime,
    )
    if not report.equivalent:
        outside = [difference.name for difference in differences if difference.mismatched_elements]
        raise ConversionNotEquivalent(
            reason="CONVERSION_NOT_EQUIVALENT",
            message=f"the converted model differs beyond the tolerance on {', '.join(outside)}",
            report=report,
        )
    return ConversionResult(model_bytes, signature, report, _opset(model))


@dataclass(frozen=True)
class _Request:
    """What a conversion produces and compares on."""

    signature: model_signature_pb2.ModelSignature
    opset: int
    rows: int
    seed: int


_Converted = tuple[onnx.ModelProto, list[np.ndarray], dict[str, np.ndarray], str]


def _convert_tabular(
    data: bytes, model_format: int, request: _Request, trust_pickle: bool
) -> _Converted:
    native = load_native_model(data, model_format, trust_pickle=trust_pickle)
    signature = request.signature
    (spec,) = _table_input(signature)
    features = _feature_count(native)
    if spec.shape[1] not in (-1, features):
        raise unsupported(f"the signature has {spec.shape[1]} features, the model {features}")
    sampled = tensor_pb2.TensorSpec(name=spec.name, data_type=spec.data_type, shape=[-1, features])
    feeds = _sample([sampled], request.rows, request.seed)
    roles = _roles(signature, native.roles)
    with warnings.catch_warnings():
        # Models fitted on a DataFrame warn that the sample rows have no column names.
        warnings.simplefilter("ignore")
        native_outputs = predict(native, feeds[spec.name])
        model, converter, converted_type = _run_converter(native, spec, features, request.opset)
    _ensure_onnx_domain(model, request.opset)
    _bind_input(model, spec, converted_type)
    _bind_outputs(model, list(zip(signature.outputs, roles, strict=True)))
    model = _target_opset(model, request.opset)
    return model, [native_outputs[role] for role in roles], feeds, converter


def _table_input(signature: model_signature_pb2.ModelSignature) -> list[tensor_pb2.TensorSpec]:
    inputs = list(signature.inputs)
    if len(inputs) != 1 or len(inputs[0].shape) != 2:
        raise unsupported("a tabular model takes one input of shape [rows, features]")
    numeric = {"FP16", "FP32", "FP64", "INT32", "INT64", "BOOL"}
    if DataType.Name(inputs[0].data_type).removeprefix("DATA_TYPE_") not in numeric:
        raise unsupported(f"input {inputs[0].name}: a tabular input is numeric")
    return inputs


def _feature_count(native: Any) -> int:
    if native.library == SKLEARN:
        return int(native.model.n_features_in_)
    if native.library == XGBOOST:
        return int(native.model.num_features())
    return int(native.model.num_feature())


def _sample(specs: Sequence[tensor_pb2.TensorSpec], rows: int, seed: int) -> dict[str, np.ndarray]:
    try:
        return equivalence.sample_inputs(specs, rows, seed)
    except ValueError as error:
        raise unsupported(str(error)) from error


def _roles(signature: model_signature_pb2.ModelSignature, roles: list[str]) -> list[str]:
    """The source output behind each signature output: by name, else by position."""
    names = [spec.name for spec in signature.outputs]
    if not names:
        raise unsupported("the signature declares no outputs to compare")
    if all(name in roles for name in names):
        return names
    if len(names) <= len(roles):
        return roles[: len(names)]
    raise unsupported(f"the signature declares {len(names)} outputs, the model has {roles}")


def _run_converter(
    native: Any, spec: tensor_pb2.TensorSpec, features: int, opset: int
) -> tuple[onnx.ModelProto, str, int]:
    """The converter's model, its name and version, and the input type it was given."""
    target = opset or None
    try:
        if native.library == SKLEARN:
            import skl2onnx  # noqa: PLC0415 - converters load only when a conversion runs
            from skl2onnx.common import data_types  # noqa: PLC0415

            types = {
                DataType.DATA_TYPE_FP64: (data_types.DoubleTensorType, DataType.DATA_TYPE_FP64),
                DataType.DATA_TYPE_INT64: (data_types.Int64TensorType, DataType.DATA_TYPE_INT64),
            }
            kind, given = types.get(
                spec.data_type, (data_types.FloatTensorType, DataType.DATA_TYPE_FP32)
            )
            model = skl2onnx.convert_sklearn(
                native.model,
                initial_types=[(spec.name, kind([None, features]))],
                target_opset=target,
                options={"zipmap": False} if PROBABILITIES in native.roles else None,
            )
            return model, f"skl2onnx {skl2onnx.__version__}", given
        import onnxmltools  # noqa: PLC0415
        from onnxmltools.convert.common.data_types import FloatTensorType  # noqa: PLC0415

        convert: Callable[..., onnx.ModelProto] = (
            onnxmltools.convert_xgboost
            if native.library == XGBOOST
            else onnxmltools.convert_lightgbm
        )
        options = {"zipmap": False} if native.library == LIGHTGBM and native.classes else {}
        # onnxmltools refuses opsets above its own maximum (15 in 1.16): it converts at its
        # default and `_target_opset` moves the graph to the requested opset.
        model = convert(
            native.model, initial_types=[(spec.name, FloatTensorType([None, features]))], **options
        )
        version = importlib.metadata.version("onnxmltools")
        return model, f"onnxmltools {version}", DataType.DATA_TYPE_FP32
    except FailedPrecondition:
        raise
    except Exception as error:  # any converter error means "cannot convert this model"
        raise unsupported(f"the converter failed: {error}") from error


def _ensure_onnx_domain(model: onnx.ModelProto, opset: int) -> None:
    """Declares the default domain, which the Cast and Reshape nodes bound below belong to.

    onnxmltools declares only ai.onnx.ml for a graph made of tree ensembles.
    """
    if not any(entry.domain in ("", "ai.onnx") for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid("", opset or DEFAULT_OPSET))
        required = helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
        model.ir_version = max(model.ir_version, required)


def _target_opset(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """The model at the requested default-domain opset (unchanged when 0 or already there)."""
    if not opset or _opset(model) == opset:
        return model
    try:
        return onnx.version_converter.convert_version(model, opset)
    except Exception as error:  # the version converter raises several types
        raise unsupported(f"cannot express the model in opset {opset}: {error}") from error


def _tensor_type(data_type: int) -> int:
    name = DataType.Name(data_type).removeprefix("DATA_TYPE_")
    return onnx.TensorProto.DataType.Value(_TENSOR_PROTO_NAMES.get(name, name))


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Renames the value `old` wherever a node produces or consumes it."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]


def _bind_input(model: onnx.ModelProto, spec: tensor_pb2.TensorSpec, given: int) -> None:
    """Makes the graph input take the declared type, casting it to the one it was built for."""
    if spec.data_type == given:
        return
    graph = model.graph
    cast = f"{spec.name}__converted"
    _rename(graph, spec.name, cast)
    graph.node.insert(0, helper.make_node("Cast", [spec.name], [cast], to=_tensor_type(given)))
    for value in graph.input:
        if value.name == spec.name:
            value.type.tensor_type.elem_type = _tensor_type(spec.data_type)


def _bind_outputs(
    model: onnx.ModelProto, bindings: list[tuple[tensor_pb2.TensorSpec, str]]
) -> None:
    """Makes the graph's outputs exactly the declared ones, each from its bound graph output."""
    graph = model.graph
    produced = {value.name: value for value in graph.output}
    missing = [source for _, source in bindings if source not in produced]
    if missing:
        raise unsupported(f"the converted model has no output {missing}")
    declared = []
    for spec, source in bindings:
        tensor_type = produced[source].type.tensor_type
        rank = len(tensor_type.shape.dim) if tensor_type.HasField("shape") else len(spec.shape)
        reshape = rank != len(spec.shape) and list(spec.shape).count(-1) <= 1
        cast = tensor_type.elem_type != _tensor_type(spec.data_type)
        current = source
        if spec.name == source and (reshape or cast):
            current = f"{source}__converted"
            _rename(graph, source, current)
        if reshape:
            shape = helper.make_tensor(
                f"{spec.name}__shape", onnx.TensorProto.INT64, [len(spec.shape)], list(spec.shape)
            )
            graph.initializer.append(shape)
            graph.node.append(
                helper.make_node("Reshape", [current, shape.name], [f"{spec.name}__reshaped"])
            )
            current = f"{spec.name}__reshaped"
        if cast:
            graph.node.append(
                helper.make_node(
                    "Cast", [current], [f"{spec.name}__cast"], to=_tensor_type(spec.data_type)
                )
            )
            current = f"{spec.name}__cast"
        if current != spec.name:
            graph.node.append(helper.make_node("Identity", [current], [spec.name]))
        dims = [None if dimension < 0 else int(dimension) for dimension in spec.shape]
        declared.append(
            helper.make_tensor_value_info(spec.name, _tensor_type(spec.data_type), dims)
        )
    del graph.output[:]
    graph.output.extend(declared)


def _opset(model: onnx.ModelProto) -> int:
    return max(
        (entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")),
        default=0,
    )


def _run_onnx(model: bytes, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # converters' shape annotations are often loose: no warnings
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return session.run(outputs, feeds)
    except Exception as error:  # a model onnxruntime refuses is a failed conversion
        raise unsupported(f"onnxruntime cannot run the converted model: {error}") from error


def _convert_torch(data: bytes, model_format: int, request: _Request) -> _Converted:
    """TorchScript or torch.export to ONNX through torch.onnx, when torch is installed."""
    if importlib.util.find_spec("torch") is None:
        raise unsupported(f"{ModelFormat.Name(model_format)} needs torch, which this server lacks")
    import torch  # noqa: PLC0415 - an optional extra (its wheels are gigabytes)

    signature = request.signature
    feeds = _sample(signature.inputs, request.rows, request.seed)
    names = [spec.name for spec in signature.outputs]
    try:
        if model_format == ModelFormat.MODEL_FORMAT_TORCHSCRIPT:
            module = torch.jit.load(io.BytesIO(data), map_location="cpu")
        else:
            module = torch.export.load(io.BytesIO(data)).module()
        arguments = tuple(torch.from_numpy(array) for array in feeds.values())
        with torch.no_grad():
            results = module(*arguments)
        results = [results] if isinstance(results, torch.Tensor) else list(results)
        source_outputs = [result.detach().cpu().numpy() for result in results]
        buffer = io.BytesIO()
        dynamic = {
            spec.name: {
                axis: f"{spec.name}_{axis}" for axis, size in enumerate(spec.shape) if size < 0
            }
            for spec in [*signature.inputs, *signature.outputs]
        }
        torch.onnx.export(
            module,
            arguments,
            buffer,
            input_names=list(feeds),
            output_names=names,
            dynamic_axes=dynamic,
            opset_version=request.opset or None,
            dynamo=False,
        )
        model = onnx.load_from_string(buffer.getvalue())
    except Exception as error:  # torch's loaders and exporter raise many types
        raise unsupported(f"the torch conversion failed: {error}") from error
    if len(source_outputs) < len(names):
        raise unsupported(f"the signature declares {len(names)} outputs, the model returns fewer")
    _bind_outputs(model, [(spec, spec.name) for spec in signature.outputs])
    return model, source_outputs[: len(names)], feeds, f"torch.onnx {torch.__version__}"
