"""The random steps (spec/data.md §6.4, DAT-122 to DAT-127): sample, split, gaussian_noise and
oversample.

Random steps (§6.5: "implementation-defined but stable") draw only from NumPy's PCG64 bit
generator seeded with the step's `seed` (`numpy.random.PCG64(seed)`, whose stream NumPy keeps
stable across releases), with these exact algorithms:

* sample: one raw 64-bit draw per input row, in row order; the k rows with the smallest draws
  (ties to the earlier row) are kept, in input order. Every k-subset is equally likely.
* split: one raw 64-bit draw per input row, in row order; within each stratum rows are ranked
  by (draw, row position) and the first floor(train_fraction·n) ranks are "train", the next
  floor(validation_fraction·n) "validation", the rest "test".
* gaussian_noise: `numpy.random.Generator(PCG64(seed)).standard_normal(n)` per listed column in
  step order, one draw per row (null and NaN rows consume theirs too); the value becomes
  x + stddev·z computed in double, then rounded to the column's type. Unlike the other
  steps this depends on NumPy's ziggurat sampler, stable within a NumPy release.
* oversample: for each class with a deficit d, in ascending class order, d raw 64-bit draws r;
  each picks the class's row number min(floor(((r >> 11) · 2⁻⁵³) · count), count - 1), counted
  among the class's rows in input order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.pipelines.plans import (
    FieldPath,
    Fitted,
    Plan,
    StepCompiler,
    column_array,
    column_index,
    column_indices,
    new_column_name,
)
from lepton_server.data.pipelines.statistics import canonical_key
from lepton_server.data.pipelines.type_classes import is_text, type_string

_SPLIT_LABELS = pa.array(["train", "validation", "test"], pa.string())


def _sample(step: pb.SampleStep, schema: pa.Schema, path: FieldPath) -> Plan:
    size = step.WhichOneof("size")
    if size is None:
        raise path.invalid("exactly one of fraction and count must be set")
    if size == "fraction" and not 0 < step.fraction <= 1:
        raise path.field("fraction").invalid("the fraction must be in (0, 1]")
    if size == "count" and step.count < 1:
        raise path.field("count").invalid("the count must be at least 1")
    fraction = step.fraction if size == "fraction" else None
    count, seed = step.count, step.seed

    parameters = Sample(fraction, count, seed)

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        n = table.num_rows
        draws = row_draws(seed, 0, n)
        chosen = np.sort(np.argsort(draws, kind="stable")[: parameters.size(n)])
        return table.take(chosen), []

    return Plan(schema, apply, global_step=parameters)


@dataclass(frozen=True)
class Sample:
    """A sample step's parameters (Plan.global_step): one of fraction and count, the seed."""

    fraction: float | None
    count: int
    seed: int

    def size(self, n: int) -> int:
        """How many of `n` rows the step keeps."""
        return floor_of_share(self.fraction, n) if self.fraction is not None else min(self.count, n)


def row_draws(seed: int, first_row: int, rows: int) -> np.ndarray:
    """The raw 64-bit draws of rows first_row .. first_row + rows - 1 (one per row, in row
    order, from PCG64(seed)): any range of rows can draw its own without the rows before it."""
    generator = np.random.PCG64(seed)
    generator.advance(first_row)
    return generator.random_raw(rows)


def _split(step: pb.SplitStep, schema: pa.Schema, path: FieldPath) -> Plan:
    fractions = (step.train_fraction, step.validation_fraction, step.test_fraction)
    for name, value in zip(
        ("train_fraction", "validation_fraction", "test_fraction"), fractions, strict=True
    ):
        if not 0 <= value <= 1:
            raise path.field(name).invalid("the fraction must be in [0, 1]")
    if abs(math.fsum(fractions) - 1) > 1e-9:
        raise path.field("test_fraction").invalid("the three fractions must sum to 1")
    name = step.column or "split"
    new_column_name(name, schema, path.field("column"))
    stratum = None
    if step.stratify_column:
        stratum = column_index(schema, step.stratify_column, path.field("stratify_column"))
        t = schema.field(stratum).type
        if pa.types.is_nested(t):
            raise path.field("stratify_column").mismatch(
                f"cannot stratify by nested type {type_string(t)}"
            )
    train, validation = step.train_fraction, step.validation_fraction
    field = pa.field(name, pa.string())
    seed = step.seed

    parameters = Split(train, validation, stratum, field, seed)

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        n = table.num_rows
        key = parameters.strata_key(table)
        strata = np.zeros(n, dtype=np.int64)
        if key is not None:
            strata = key.dictionary_encode(null_encoding="encode").indices.to_numpy()
            strata = strata.astype(np.int64)
        draws = row_draws(seed, 0, n)
        order = np.lexsort((draws, strata))  # by stratum, then draw; stable for equal draws
        sizes = np.bincount(strata, minlength=1)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - starts[strata[order]]
        train_counts, validation_counts = parameters.counts(sizes)
        first = train_counts[strata]
        codes = np.where(rank < first, 0, np.where(rank < first + validation_counts[strata], 1, 2))
        return parameters.labelled(table, codes), []

    return Plan(schema.append(field), apply, global_step=parameters)


@dataclass(frozen=True)
class Split:
    """A split step's parameters (Plan.global_step)."""

    train: float
    validation: float
    stratum: int | None
    field: pa.Field
    seed: int

    def strata_key(self, table: pa.Table) -> pa.Array | None:
        """The canonical stratum of each row; None when all rows form one stratum."""
        if self.stratum is None or pa.types.is_null(table.field(self.stratum).type):
            return None
        return canonical_key(column_array(table, self.stratum))

    def counts(self, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How many rows of each stratum (of the given sizes) are train and validation."""
        train_counts = np.array([floor_of_share(self.train, s) for s in sizes], dtype=np.int64)
        # Fractions summing to 1 within 1e-9 could give one row more than the stratum holds;
        # validation then takes what train left (§6.4 is silent).
        validation_counts = np.array(
            [
                min(floor_of_share(self.validation, s), s - t)
                for s, t in zip(sizes, train_counts, strict=True)
            ],
            dtype=np.int64,
        )
        return train_counts, validation_counts

    def labelled(self, table: pa.Table, codes: np.ndarray) -> pa.Table:
        """`table` with the split column: code 0 train, 1 validation, 2 test per row."""
        return table.append_column(self.field, _SPLIT_LABELS.take(pa.array(codes, pa.int64())))


def floor_of_share(fraction: float, n: int) -> int:
    """floor(fraction · n) with the product in double (§6.4 does not say): 0.7 · 100 gives
    70, where exact arithmetic on the double nearest 0.7 would give 69."""
    return math.floor(fraction * n)


def _gaussian_noise(step: pb.GaussianNoiseStep, schema: pa.Schema, path: FieldPath) -> Plan:
    columns_path = path.field("columns")
    indices = column_indices(step.columns, schema, columns_path, required=True, unique=True)
    for position, index in enumerate(indices):
        t = schema.field(index).type
        if not pa.types.is_floating(t):
            raise columns_path.item(position).mismatch(
                f"gaussian_noise needs a floating-point column, not {type_string(t)}"
            )
    stddev = step.stddev
    if not (math.isfinite(stddev) and stddev > 0):
        raise path.field("stddev").invalid("the standard deviation must be positive and finite")
    seed = step.seed

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        generator = np.random.Generator(np.random.PCG64(seed))
        for index in indices:
            array = column_array(table, index)
            noise = generator.standard_normal(table.num_rows)
            x = pc.fill_null(pc.cast(array, pa.float64()), 0.0).to_numpy(zero_copy_only=False)
            valid = np.asarray(pc.is_valid(array), dtype=bool)
            with np.errstate(all="ignore"):
                noisy = np.where(np.isnan(x), x, x + stddev * noise)
                rounded = noisy.astype(array.type.to_pandas_dtype())
            result = pa.array(rounded, array.type, mask=~valid)
            table = table.set_column(index, table.field(index), result)
        return table, []

    return Plan(schema, apply)


def _oversample(step: pb.OversampleStep, schema: pa.Schema, path: FieldPath) -> Plan:
    label_path = path.field("label_column")
    label = column_index(schema, step.label_column, label_path)
    t = schema.field(label).type
    if not (is_text(t) or pa.types.is_boolean(t) or pa.types.is_integer(t)):
        raise label_path.mismatch(f"the label column cannot be of type {type_string(t)}")
    output = schema
    indicator = None
    if step.indicator_column:
        new_column_name(step.indicator_column, schema, path.field("indicator_column"))
        indicator = pa.field(step.indicator_column, pa.bool_())
        output = schema.append(indicator)
    seed = step.seed

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        n = table.num_rows
        encoded = column_array(table, label).dictionary_encode()
        # Class number per row (its position in the dictionary), -1 for a null label.
        classes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
        counts = np.bincount(classes[classes >= 0], minlength=len(encoded.dictionary))
        members = np.argsort(classes, kind="stable")  # rows grouped by class, input order
        starts = np.searchsorted(classes[members], np.arange(len(counts)))
        largest = int(counts.max()) if len(counts) else 0
        generator = np.random.PCG64(seed)
        copies = [np.arange(n, dtype=np.int64)]
        for cls in pc.sort_indices(encoded.dictionary).to_numpy():
            size, deficit = int(counts[cls]), largest - int(counts[cls])
            if deficit == 0:
                continue
            draws = generator.random_raw(deficit) >> np.uint64(11)
            uniform = draws.astype(np.float64) * 2.0**-53  # in [0, 1), exactly
            picks = np.minimum((uniform * size).astype(np.int64), size - 1)
            copies.append(members[starts[cls] + picks])
        rows = np.concatenate(copies)
        result = table.take(rows)
        if indicator is not None:
            result = result.append_column(indicator, pa.array(np.arange(len(rows)) >= n))
        return result, []

    return Plan(output, apply)


COMPILERS: dict[str, StepCompiler] = {
    "sample": _sample,
    "split": _split,
    "gaussian_noise": _gaussian_noise,
    "oversample": _oversample,
}
