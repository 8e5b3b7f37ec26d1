"""Sample rows for a conversion and the comparison of two models' outputs on them.

The rows follow ConversionJob.sample_rows and seed: standard normal values (integers uniform
in -100..100, unsigned ones in 0..100; booleans uniform), drawn with one
`numpy.random.default_rng(seed)` input after input in the signature's order, in each input's
shape with every -1 dimension set to the row count. An element of a floating-point output
passes when `|converted - source| <= absolute + relative * |source|` (numpy.allclose); an
integer, boolean or string output (a predicted label) must be equal (spec/registry.md,
"Conversion").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lepton.registry.v1 import conversion_job_pb2
from lepton.type.v1 import tensor_pb2
from lepton_server.registry.model_signatures import numpy_dtype

EquivalenceReport = conversion_job_pb2.EquivalenceReport
EquivalenceTolerance = conversion_job_pb2.EquivalenceTolerance
OutputDifference = conversion_job_pb2.OutputDifference
DataType = tensor_pb2.DataType

DEFAULT_ROWS = 256
MAX_ROWS = 10_000
DEFAULT_TOLERANCE = EquivalenceTolerance(absolute=1e-5, relative=1e-4)
_INTEGER_RANGE = 100


def sample_inputs(
    inputs: Sequence[tensor_pb2.TensorSpec], rows: int, seed: int
) -> dict[str, np.ndarray]:
    """One array per signature input, drawn as the module docstring says.

    Raises ValueError for an input that cannot be drawn (BYTES, BF16).
    """
    generator = np.random.default_rng(seed)
    arrays = {}
    for spec in inputs:
        shape = tuple(rows if dimension < 0 else int(dimension) for dimension in spec.shape)
        if spec.data_type in (DataType.DATA_TYPE_BYTES, DataType.DATA_TYPE_BF16):
            raise ValueError(f"no sample values for {spec.name}: {DataType.Name(spec.data_type)}")
        dtype = numpy_dtype(spec.data_type)
        if dtype.kind == "b":
            array = generator.integers(0, 2, size=shape).astype(bool)
        elif dtype.kind in "iu":
            low = 0 if dtype.kind == "u" else -_INTEGER_RANGE
            array = generator.integers(low, _INTEGER_RANGE + 1, size=shape).astype(dtype)
        else:
            array = generator.standard_normal(size=shape).astype(dtype)
        arrays[spec.name] = array
    return arrays


def compare_output(
    name: str, source: np.ndarray, converted: np.ndarray, tolerance: EquivalenceTolerance
) -> OutputDifference:
    """How `converted` differs from `source`, element by element."""
    source, converted = np.asarray(source), np.asarray(converted)
    difference = OutputDifference(name=name, elements=int(source.size))
    if source.size != converted.size:
        # Outputs of different sizes cannot be matched element by element: none passes.
        difference.mismatched_elements = max(source.size, converted.size)
        difference.elements = max(source.size, converted.size)
        difference.max_absolute_difference = math.inf
        difference.max_relative_difference = math.inf
        return difference
    source, converted = source.reshape(-1), converted.reshape(-1)
    if _is_label(source) or _is_label(converted):
        if source.dtype.kind in "OUS" or converted.dtype.kind in "OUS":
            source, converted = _as_text(source), _as_text(converted)
        difference.mismatched_elements = int(np.count_nonzero(source != converted))
        return difference
    expected, actual = source.astype(np.float64), converted.astype(np.float64)
    both_nan = np.isnan(expected) & np.isnan(actual)
    absolute = np.where(both_nan, 0.0, np.abs(actual - expected))
    absolute = np.where(np.isnan(absolute), math.inf, absolute)
    nonzero = (expected != 0) & ~np.isnan(expected)
    relative = absolute[nonzero] / np.abs(expected[nonzero])
    close = np.isclose(
        actual, expected, rtol=tolerance.relative, atol=tolerance.absolute, equal_nan=True
    )
    difference.max_absolute_difference = float(absolute.max(initial=0.0))
    difference.max_relative_difference = float(relative.max(initial=0.0))
    difference.mismatched_elements = int(np.count_nonzero(~close))
    return difference


def _is_label(array: np.ndarray) -> bool:
    return array.dtype.kind in "biuOUS"


def _as_text(array: np.ndarray) -> np.ndarray:
    return np.array(
        [value.decode() if isinstance(value, bytes) else str(value) for value in array],
        dtype=object,
    )


def report(
    differences: Sequence[OutputDifference],
    *,
    rows: int,
    seed: int,
    tolerance: EquivalenceTolerance,
    converter: str,
    runtime: str,
) -> EquivalenceReport:
    """The EquivalenceReport of a conversion; `equivalent` when no element is outside."""
    return EquivalenceReport(
        sample_rows=rows,
        seed=seed,
        tolerance=tolerance,
        outputs=differences,
        equivalent=all(difference.mismatched_elements == 0 for difference in differences),
        converter=converter,
        runtime=runtime,
    )
