"""Statistics of a column's values, exact where spec/data.md §6.4 asks: the mean, median and
mode that fill_nulls fits, the mean and population standard deviation that standardize fits,
and the canonical forms in which float values (and grouping keys) that §6.4 calls equal are
equal."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.pipelines.casts import as_double


def _integer_values(array: pa.Array) -> np.ndarray:
    """The non-null values of an integer array as int64 (uint64 kept as uint64)."""
    values = array.drop_null()
    if not pa.types.is_uint64(values.type):
        values = pc.cast(values, pa.int64())
    return values.to_numpy(zero_copy_only=False)


def _exact_sum(values: np.ndarray) -> int:
    """The exact sum of int64 or uint64 values: 32-bit halves are summed in int64 blocks."""
    total = 0
    block = 1 << 30
    for start in range(0, len(values), block):
        part = values[start : start + block]
        high = (part >> 32).astype(np.int64)
        low = (part & 0xFFFFFFFF).astype(np.int64)
        total += int(high.sum()) * 2**32 + int(low.sum())
    return total


def integer_sum(array: pa.Array) -> int:
    """The exact sum of an integer array's non-null values."""
    return _exact_sum(_integer_values(array))


def float_sum(values: np.ndarray) -> Fraction:
    """The exact sum of finite doubles: each is m·2^e with an integer |m| < 2^53, and the
    mantissas are summed exactly per exponent, in 26-bit halves so that int64 cannot overflow."""
    if len(values) == 0:
        return Fraction(0)
    fractions, exponents = np.frexp(values)
    mantissas = (fractions * 2.0**53).astype(np.int64)
    shifts, inverse = np.unique(exponents.astype(np.int64) - 53, return_inverse=True)
    high = np.zeros(len(shifts), np.int64)
    low = np.zeros(len(shifts), np.int64)
    np.add.at(high, inverse, mantissas >> 26)
    np.add.at(low, inverse, mantissas & ((1 << 26) - 1))
    base = int(shifts[0])
    total = 0
    for shift, h, lo in zip(shifts.tolist(), high.tolist(), low.tolist(), strict=True):
        total += ((h << 26) + lo) << (shift - base)
    return Fraction(total) * Fraction(2) ** base


def _float_values(array: pa.Array) -> np.ndarray:
    """The non-null, non-NaN values of a numeric array as doubles."""
    doubles = as_double(array.drop_null()).to_numpy(zero_copy_only=False)
    return doubles[~np.isnan(doubles)]


def _float_mean(values: np.ndarray) -> float:
    """fsum(values) / n: the correctly rounded sum, then one IEEE division (§6.4, DAT-139)."""
    positive, negative = bool(np.isposinf(values).any()), bool(np.isneginf(values).any())
    if positive or negative:
        return math.nan if positive and negative else (math.inf if positive else -math.inf)
    try:
        return math.fsum(values.tolist()) / len(values)
    except OverflowError:  # the sum exceeds the double range; the mean does not
        return float(sum(map(Fraction, values.tolist()), Fraction(0)) / len(values))


def _float_median(values: np.ndarray) -> float:
    ordered = np.sort(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    low, high = float(ordered[middle - 1]), float(ordered[middle])
    total = low + high
    if math.isinf(total) and math.isfinite(low) and math.isfinite(high):
        return low / 2 + high / 2
    return total / 2


def mean_and_stddev(array: pa.Array, usable: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation of the non-null, non-NaN values.

    The mean is the correctly rounded mean for integer columns and fsum(values) / n for
    floating-point ones; the stddev is sqrt(fsum((x - mean)²) / n) with x - mean and its
    square in double (§6.4, DAT-139: exact sums, hence independent of order and chunking).
    """
    if len(usable) == 0:
        return math.nan, math.nan
    if pa.types.is_integer(array.type):
        mean = float(Fraction(integer_sum(array), len(usable)))
    else:
        mean = _float_mean(usable)
    with np.errstate(all="ignore"):
        squares = np.square(usable - mean)
    if np.isinf(squares).any() or np.isnan(squares).any():
        variance = float(np.inf if not np.isnan(squares).any() else np.nan)
    else:
        variance = math.fsum(squares.tolist()) / len(usable)
    return mean, math.sqrt(variance)


def fitted_fill(array: pa.Array, strategy: int) -> pa.Scalar | None:
    """The MEAN, MEDIAN or MODE replacement for `array`'s nulls, of its type; None if none."""
    t = array.type
    if strategy == pb.FILL_STRATEGY_MODE:
        return _mode(array)
    if pa.types.is_integer(t):
        values = _integer_values(array)
        if len(values) == 0:
            return None
        if strategy == pb.FILL_STRATEGY_MEAN:
            exact = Fraction(_exact_sum(values), len(values))
        else:
            ordered = np.sort(values)
            middle = len(ordered) // 2
            if len(ordered) % 2:
                exact = Fraction(int(ordered[middle]))
            else:
                exact = Fraction(int(ordered[middle - 1]) + int(ordered[middle]), 2)
        # Python's round() of a Fraction rounds half to even (FillStrategy MEAN).
        return pa.scalar(round(exact), type=t)
    values = _float_values(array)
    if len(values) == 0:
        return None
    result = _float_mean(values) if strategy == pb.FILL_STRATEGY_MEAN else _float_median(values)
    with np.errstate(over="ignore"):
        return pa.scalar(t.to_pandas_dtype()(result), type=t)


def _mode(array: pa.Array) -> pa.Scalar | None:
    """The most frequent non-null value, ties to the smallest (§6.4).

    NaN is a value (FillStrategy MODE counts non-null values) and sorts above every number,
    as in Arrow; -0.0 and 0.0 count as one value, 0.0 (spec silent).
    """
    values = array.drop_null()
    if len(values) == 0:
        return None
    if pa.types.is_floating(array.type):
        values = _canonical_floats(values)
    counts = pc.value_counts(values)
    frequencies = counts.field("counts")
    candidates = counts.field("values").filter(pc.equal(frequencies, pc.max(frequencies)))
    smallest = candidates.take(pc.sort_indices(candidates)[:1])
    return pc.cast(smallest, array.type)[0]


def _canonical_floats(array: pa.Array) -> pa.Array:
    """Float values as double with -0.0 made 0.0 and every NaN the same NaN."""
    values = pc.add(pc.cast(array, pa.float64()), 0.0)  # -0.0 + 0.0 == +0.0
    return pc.if_else(pc.is_nan(values), pa.scalar(math.nan), values)


def canonical_key(array: pa.Array) -> pa.Array:
    """A grouping key in which values that §6.4 calls equal (null = null, NaN = NaN) are equal."""
    return _canonical_floats(array) if pa.types.is_floating(array.type) else array
