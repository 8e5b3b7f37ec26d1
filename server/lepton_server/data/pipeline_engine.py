"""The pipeline engine: checks a declarative pipeline against a schema and runs it on a table.

A pipeline (proto/lepton/data/v1/pipeline.proto) is an ordered list of typed steps; spec/data.md
§6 fixes what each step accepts and what it computes. Everything here is plain pyarrow and
protobuf: no gRPC, no storage. Errors are the domain errors of `lepton_server.runtime.errors`:
INVALID_ARGUMENT (COLUMN_NOT_FOUND, SCHEMA_MISMATCH, INVALID_FIELD) from validation, with
ErrorInfo metadata `step_index` and one field violation; FAILED_PRECONDITION (CAST_FAILED,
ARITHMETIC_OVERFLOW) from data met during a run.

Each step is compiled once against the schema it receives into a `_Plan`: its output schema
and a function from table to table. `validate` compiles and discards; `run` compiles against
the table's own schema and applies the plans, so the two can never disagree about types.

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

import functools
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton.data.v1 import pipeline_run_pb2 as run_pb
from lepton_server.data.arrow_types import (
    canonical_type,
    check_supported,
    decode_dictionaries,
    parse_cast_type,
)
from lepton_server.runtime.errors import (
    FailedPrecondition,
    Internal,
    InvalidArgument,
    invalid_argument,
)

__all__ = [
    "MAX_STEPS",
    "PipelineCancelled",
    "RunResult",
    "fingerprint",
    "run",
    "step_output_schemas",
    "validate",
]

MAX_STEPS = 1000
_MAX_IN_SET_VALUES = 10_000
_MAX_SALT_BYTES = 1024
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_MS_PER_DAY = 86_400_000
_EPOCH = date(1970, 1, 1)
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP_NS_UTC = pa.timestamp("ns", tz="UTC")
_SPLIT_LABELS = pa.array(["train", "validation", "test"], pa.string())
# Unicode's White_Space property (PropList.txt), what FUNCTION_TRIM removes.
_WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_Fitted = list[run_pb.FittedColumn]


# --- Public API ------------------------------------------------------------------------------


class PipelineCancelled(Exception):
    """`should_stop` asked `run` to stop; `step_index` is the first step that did not run."""

    def __init__(self, step_index: int) -> None:
        self.step_index = step_index
        super().__init__(f"the pipeline run was cancelled before step {step_index}")


@dataclass(frozen=True)
class RunResult:
    """The output table and one report per step, in step order (DAT-104)."""

    table: pa.Table
    step_reports: list[run_pb.StepReport]


def fingerprint(pipeline: pb.Pipeline) -> str:
    """Lowercase hex SHA-256 of the deterministic serialization (spec/data.md §6.5, DAT-093)."""
    return hashlib.sha256(pipeline.SerializeToString(deterministic=True)).hexdigest()


def validate(pipeline: pb.Pipeline, schema: pa.Schema, field_path: str = "pipeline") -> pa.Schema:
    """The schema `pipeline` produces from `schema`; raises InvalidArgument if it does not fit.

    `schema` is a version schema (spec/data.md §4.1); check_supported's errors otherwise.

    `field_path` is where the pipeline sits in the request ("pipeline" for ValidatePipeline,
    "pipeline_run.pipeline" for CreatePipelineRun); violations are reported below it (§6.1).
    """
    schemas = step_output_schemas(pipeline, schema, field_path)
    return schemas[-1] if schemas else schema


def step_output_schemas(
    pipeline: pb.Pipeline, schema: pa.Schema, field_path: str = "pipeline"
) -> list[pa.Schema]:
    """The schema after each step, in order (ValidatePipelineResponse.step_output_schemas)."""
    return [plan.output_schema for plan in _compile(pipeline, schema, field_path)]


def run(
    pipeline: pb.Pipeline,
    table: pa.Table,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunResult:
    """_Evaluate `pipeline` on `table` (spec/data.md §6).

    Validates first (the same InvalidArgument as `validate` with field path "pipeline"), then
    runs the steps in order. `on_progress(completed, total)` is called with 0 before the first
    step and after every step (DAT-107); `should_stop()` is polled before every step and a true
    answer raises PipelineCancelled. Data that a step cannot process raises FailedPrecondition
    with reason CAST_FAILED or ARITHMETIC_OVERFLOW and metadata `step_index` (DAT-105).
    """
    table = decode_dictionaries(table)
    plans = _compile(pipeline, table.schema, "pipeline")
    if on_progress is not None:
        on_progress(0, len(plans))
    reports: list[run_pb.StepReport] = []
    for index, plan in enumerate(plans):
        if should_stop is not None and should_stop():
            raise PipelineCancelled(index)
        input_rows = table.num_rows
        table, fitted = plan.apply(table)
        if table.schema.names != plan.output_schema.names or not all(
            a.equals(b) for a, b in zip(table.schema.types, plan.output_schema.types, strict=True)
        ):
            raise Internal(
                reason="INTERNAL_ERROR",
                message=f"step {index} produced {table.schema}, not the schema it validated",
            )
        reports.append(
            run_pb.StepReport(
                step_index=index,
                input_row_count=input_rows,
                output_row_count=table.num_rows,
                fitted_columns=fitted,
            )
        )
        if on_progress is not None:
            on_progress(index + 1, len(plans))
    return RunResult(table, reports)


# --- Compilation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Path:
    """A field path in the request, and the step it belongs to, for validation errors."""

    step_index: int
    text: str

    def field(self, name: str) -> _Path:
        return _Path(self.step_index, f"{self.text}.{name}")

    def item(self, index: int) -> _Path:
        return _Path(self.step_index, f"{self.text}[{index}]")

    def invalid(self, description: str) -> InvalidArgument:
        return invalid_argument(
            "INVALID_FIELD", self.text, description, step_index=str(self.step_index)
        )

    def mismatch(self, description: str) -> InvalidArgument:
        return invalid_argument(
            "SCHEMA_MISMATCH", self.text, description, step_index=str(self.step_index)
        )

    def not_found(self, column: str) -> InvalidArgument:
        return invalid_argument(
            "COLUMN_NOT_FOUND",
            self.text,
            f"there is no column {column!r} at this step",
            step_index=str(self.step_index),
            column=column,
        )


_Apply = Callable[[pa.Table], tuple[pa.Table, _Fitted]]


@dataclass(frozen=True)
class _Plan:
    """One compiled step: the schema it produces and how to produce the table."""

    output_schema: pa.Schema
    apply: _Apply


def _compile(pipeline: pb.Pipeline, schema: pa.Schema, field_path: str) -> list[_Plan]:
    check_supported(schema)
    # Versions store dictionary columns decoded (§4.1), and `run` decodes its input.
    schema = decode_dictionaries(schema.empty_table()).schema
    if len(pipeline.steps) > MAX_STEPS:
        # No single step is at fault, so there is no step_index (DAT-097).
        raise invalid_argument(
            "INVALID_FIELD",
            f"{field_path}.steps",
            f"a pipeline has at most {MAX_STEPS} steps, not {len(pipeline.steps)}",
        )
    plans = []
    for index, step in enumerate(pipeline.steps):
        path = _Path(index, f"{field_path}.steps[{index}]")
        kind = step.WhichOneof("kind")
        if kind is None:
            raise path.invalid("exactly one step kind must be set")
        plan = _STEP_COMPILERS[kind](getattr(step, kind), schema, path.field(kind))
        plans.append(plan)
        schema = plan.output_schema
    return plans


def _column_index(schema: pa.Schema, name: str, path: _Path) -> int:
    if not name:
        raise path.invalid("a column name is required")
    index = schema.get_field_index(name)
    if index < 0:
        raise path.not_found(name)
    return index


def _column_indices(
    names: Sequence[str], schema: pa.Schema, path: _Path, *, required: bool, unique: bool
) -> list[int]:
    if required and not names:
        raise path.invalid("at least one column is required")
    seen: set[str] = set()
    indices = []
    for position, name in enumerate(names):
        item = path.item(position)
        if unique and name in seen:
            raise item.invalid(f"column {name!r} is listed twice")
        seen.add(name)
        indices.append(_column_index(schema, name, item))
    return indices


def _check_enum(value: int, allowed: Sequence[int], path: _Path, *, required: bool) -> None:
    if value not in allowed or (required and value == 0):
        raise path.invalid(f"{value} is not a valid value here" if value else "required")


def _new_column_name(name: str, schema: pa.Schema, path: _Path) -> None:
    if schema.get_field_index(name) >= 0:
        raise path.mismatch(f"a column named {name!r} exists already")


def _column(table: pa.Table, index: int) -> pa.Array:
    return table.column(index).combine_chunks()


def _type_string(t: pa.DataType) -> str:
    """The canonical type string (§4.2), for messages."""
    return canonical_type(t)


# --- Type classes ------------------------------------------------------------------------------


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_bytes(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)


# The rows of the §6.2 table: which column types compare with which.
_COMPARABLE_CLASSES: list[tuple[Callable[[pa.DataType], bool], str]] = [
    (_is_numeric, "number"),
    (_is_text, "string"),
    (_is_bytes, "binary"),
    (pa.types.is_boolean, "bool"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_date, "date"),
]


def _comparable_class(t: pa.DataType) -> str | None:
    """The row of the §6.2 table a column type belongs to, None for the incomparable types."""
    return next((name for matches, name in _COMPARABLE_CLASSES if matches(t)), None)


def _is_mode_type(t: pa.DataType) -> bool:
    return (
        pa.types.is_boolean(t)
        or _is_numeric(t)
        or _is_text(t)
        or _is_bytes(t)
        or pa.types.is_date(t)
        or pa.types.is_time(t)
        or pa.types.is_timestamp(t)
    )


def _integer_bounds(t: pa.DataType) -> tuple[int, int]:
    info = np.iinfo(t.to_pandas_dtype())
    return int(info.min), int(info.max)


# --- Literals (§6.2) ---------------------------------------------------------------------------

_LITERAL_TYPES = {
    "bool_value": pa.bool_(),
    "int64_value": pa.int64(),
    "double_value": pa.float64(),
    "string_value": pa.string(),
    "bytes_value": pa.binary(),
    "timestamp_value": _TIMESTAMP_NS_UTC,
    "date_value": pa.date32(),
}
_LITERAL_CLASSES = {
    "bool_value": "bool",
    "int64_value": "number",
    "double_value": "number",
    "string_value": "string",
    "bytes_value": "binary",
    "timestamp_value": "timestamp",
    "date_value": "date",
}


@dataclass(frozen=True)
class _Literal:
    """A checked Literal: its oneof member and value (nanoseconds for timestamps, days since
    the epoch for dates)."""

    kind: str
    value: bool | int | float | str | bytes

    @property
    def type(self) -> pa.DataType:
        return _LITERAL_TYPES[self.kind]

    @property
    def comparable_class(self) -> str:
        return _LITERAL_CLASSES[self.kind]

    def scalar(self) -> pa.Scalar:
        return pa.scalar(self.value, type=self.type)


def _literal(message: pb.Literal, path: _Path) -> _Literal:
    kind = message.WhichOneof("value")
    if kind is None:
        raise path.invalid("exactly one literal value must be set")
    if kind == "timestamp_value":
        stamp = message.timestamp_value
        if not 0 <= stamp.nanos <= 999_999_999:
            raise path.field(kind).invalid("nanos must be in 0..999999999")
        nanos = stamp.seconds * 1_000_000_000 + stamp.nanos
        if not _INT64_MIN <= nanos <= _INT64_MAX:
            raise path.field(kind).invalid("the instant is outside timestamp[ns, tz=UTC]")
        return _Literal(kind, nanos)
    if kind == "date_value":
        text = message.date_value
        try:
            if not _DATE_TEXT.fullmatch(text):
                raise ValueError(text)
            day = date(int(text[:4]), int(text[5:7]), int(text[8:]))
        except ValueError:
            raise path.field(kind).invalid(
                f"{text!r} is not a calendar date of the form YYYY-MM-DD"
            ) from None
        return _Literal(kind, (day - _EPOCH).days)
    return _Literal(kind, getattr(message, kind))


def _convert_literal(  # noqa: PLR0911, PLR0912 - one case per type
    literal: _Literal, t: pa.DataType
) -> object | None:
    """The literal as a value of type `t` if it converts exactly (§6.2), else None."""
    kind, value = literal.kind, literal.value
    if pa.types.is_boolean(t):
        return value if kind == "bool_value" else None
    if pa.types.is_integer(t):
        if kind == "double_value":
            if not (math.isfinite(value) and float(value).is_integer()):
                return None
            value = int(value)
        elif kind != "int64_value":
            return None
        low, high = _integer_bounds(t)
        return value if low <= value <= high else None
    if pa.types.is_floating(t):
        if kind not in ("int64_value", "double_value"):
            return None
        with np.errstate(over="ignore"):
            converted = float(t.to_pandas_dtype()(value))
        same = converted == value or (math.isnan(converted) and math.isnan(value))
        return converted if same else None
    if _is_text(t):
        return value if kind == "string_value" else None
    if pa.types.is_fixed_size_binary(t):
        return value if kind == "bytes_value" and len(value) == t.byte_width else None
    if _is_bytes(t):
        return value if kind == "bytes_value" else None
    if pa.types.is_timestamp(t):
        if kind != "timestamp_value":
            return None
        count, rest = divmod(value, _NS_PER_UNIT[t.unit])
        return count if rest == 0 else None
    if pa.types.is_date32(t):
        return value if kind == "date_value" else None
    if pa.types.is_date64(t):
        return value * _MS_PER_DAY if kind == "date_value" else None
    return None


def _fitted_literal(scalar: pa.Scalar) -> pb.Literal:  # noqa: PLR0911 - one case per type
    """A fill value as a Literal for FittedColumn.fill_value.

    Literal has no uint64, time or date64 member (spec gap): a uint64 above 2^63-1 is reported
    as double_value, a time as string_value in Arrow's text form, a date64 as its day.
    """
    t = scalar.type
    if pa.types.is_boolean(t):
        return pb.Literal(bool_value=scalar.as_py())
    if pa.types.is_integer(t):
        value = scalar.as_py()
        if value > _INT64_MAX:
            return pb.Literal(double_value=float(value))
        return pb.Literal(int64_value=value)
    if pa.types.is_floating(t):
        return pb.Literal(double_value=float(scalar.as_py()))
    if _is_text(t):
        return pb.Literal(string_value=scalar.as_py())
    if _is_bytes(t):
        return pb.Literal(bytes_value=scalar.as_py())
    if pa.types.is_timestamp(t):
        seconds, nanos = divmod(scalar.value * _NS_PER_UNIT[t.unit], 1_000_000_000)
        literal = pb.Literal()
        literal.timestamp_value.seconds = seconds
        literal.timestamp_value.nanos = nanos
        return literal
    if pa.types.is_date(t):
        days = pc.cast(pa.array([scalar]), pa.date32())[0].as_py()
        return pb.Literal(date_value=days.isoformat())
    return pb.Literal(string_value=pc.cast(pa.array([scalar]), pa.string())[0].as_py())


# --- Steps: nulls and duplicates -------------------------------------------------------------


def _drop_nulls(step: pb.DropNullsStep, schema: pa.Schema, path: _Path) -> _Plan:
    indices = _column_indices(
        step.columns, schema, path.field("columns"), required=False, unique=False
    ) or list(range(len(schema)))
    _check_enum(
        step.policy,
        (pb.NULL_ROW_POLICY_UNSPECIFIED, pb.NULL_ROW_POLICY_ANY, pb.NULL_ROW_POLICY_ALL),
        path.field("policy"),
        required=False,
    )
    combine = pc.and_ if step.policy == pb.NULL_ROW_POLICY_ALL else pc.or_

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        # A table without columns has nothing to consider: no row is removed (§6.4 is silent).
        if not indices:
            return table, []
        nulls = functools.reduce(combine, [pc.is_null(table.column(i)) for i in indices])
        return table.filter(pc.invert(nulls)), []

    return _Plan(schema, apply)


def _fill_nulls(step: pb.FillNullsStep, schema: pa.Schema, path: _Path) -> _Plan:
    columns_path = path.field("columns")
    indices = _column_indices(step.columns, schema, columns_path, required=True, unique=True)
    strategy = step.strategy
    _check_enum(strategy, list(pb.FillStrategy.values()), path.field("strategy"), required=True)
    value_path = path.field("value")
    constant = strategy == pb.FILL_STRATEGY_CONSTANT
    if constant and not step.HasField("value"):
        raise value_path.invalid("FILL_STRATEGY_CONSTANT requires a value")
    if not constant and step.HasField("value"):
        raise value_path.invalid("only FILL_STRATEGY_CONSTANT takes a value")
    fills: dict[int, pa.Scalar] = {}
    if constant:
        literal = _literal(step.value, value_path)
        for index in indices:
            t = schema.field(index).type
            converted = _convert_literal(literal, t)
            if converted is None:
                raise value_path.mismatch(
                    f"the value does not convert exactly to column {schema.field(index).name!r}"
                    f" of type {_type_string(t)}"
                )
            fills[index] = pa.scalar(converted, type=t)
    for position, index in enumerate(indices):
        t = schema.field(index).type
        numeric_only = strategy in (pb.FILL_STRATEGY_MEAN, pb.FILL_STRATEGY_MEDIAN)
        if (numeric_only and not _is_numeric(t)) or (
            strategy == pb.FILL_STRATEGY_MODE and not _is_mode_type(t)
        ):
            raise columns_path.item(position).mismatch(
                f"{pb.FillStrategy.Name(strategy)} does not accept a column of type "
                f"{_type_string(t)}"
            )

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        fitted = []
        for index in indices:
            array = _column(table, index)
            if strategy in (pb.FILL_STRATEGY_FORWARD, pb.FILL_STRATEGY_BACKWARD):
                filled = _fill_directional(array, forward=strategy == pb.FILL_STRATEGY_FORWARD)
            else:
                fill = fills[index] if constant else _fitted_fill(array, strategy)
                filled = array if fill is None else pc.fill_null(array, fill)
                if not constant:
                    column = run_pb.FittedColumn(column=table.field(index).name)
                    if fill is not None:
                        column.fill_value.CopyFrom(_fitted_literal(fill))
                    fitted.append(column)
            table = table.set_column(index, table.field(index), filled)
        return table, fitted

    return _Plan(schema, apply)


def _fill_directional(array: pa.Array, *, forward: bool) -> pa.Array:
    """Each null replaced by the nearest non-null above (forward) or below; any type."""
    if array.null_count == 0:
        return array
    valid = np.asarray(pc.is_valid(array), dtype=bool)
    n = len(array)
    if forward:
        source = np.maximum.accumulate(np.where(valid, np.arange(n), -1))
    else:
        source = np.minimum.accumulate(np.where(valid, np.arange(n), n)[::-1])[::-1]
        source = np.where(source == n, -1, source)
    return array.take(pa.array(source, pa.int64(), mask=source < 0))


def _fitted_fill(array: pa.Array, strategy: int) -> pa.Scalar | None:
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


def _deduplicate(step: pb.DeduplicateStep, schema: pa.Schema, path: _Path) -> _Plan:
    columns_path = path.field("columns")
    indices = _column_indices(step.columns, schema, columns_path, required=False, unique=False)
    for position, index in enumerate(indices or range(len(schema))):
        t = schema.field(index).type
        if pa.types.is_nested(t):
            where = columns_path.item(position) if indices else columns_path
            raise where.mismatch(
                f"column {schema.field(index).name!r} of nested type {_type_string(t)} "
                "cannot be a key"
            )
    keys = indices or list(range(len(schema)))
    _check_enum(
        step.keep,
        (pb.DUPLICATE_KEEP_UNSPECIFIED, pb.DUPLICATE_KEEP_FIRST, pb.DUPLICATE_KEEP_LAST),
        path.field("keep"),
        required=False,
    )
    keep_last = step.keep == pb.DUPLICATE_KEEP_LAST

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        n = table.num_rows
        if n == 0:
            return table, []
        key_columns = {f"k{i}": _canonical_key(_column(table, i)) for i in dict.fromkeys(keys)}
        if not key_columns:  # no columns at all: every row equals every other
            return table.take([n - 1 if keep_last else 0]), []
        key_columns["row"] = pa.array(np.arange(n, dtype=np.int64))
        groups = (
            pa.table(key_columns)
            .group_by([name for name in key_columns if name != "row"], use_threads=False)
            .aggregate([("row", "max" if keep_last else "min")])
        )
        rows = np.sort(groups.column(f"row_{'max' if keep_last else 'min'}").to_numpy())
        return table.take(rows), []

    return _Plan(schema, apply)


def _canonical_floats(array: pa.Array) -> pa.Array:
    """Float values as double with -0.0 made 0.0 and every NaN the same NaN."""
    values = pc.add(pc.cast(array, pa.float64()), 0.0)  # -0.0 + 0.0 == +0.0
    return pc.if_else(pc.is_nan(values), pa.scalar(math.nan), values)


def _canonical_key(array: pa.Array) -> pa.Array:
    """A grouping key in which values that §6.4 calls equal (null = null, NaN = NaN) are equal."""
    return _canonical_floats(array) if pa.types.is_floating(array.type) else array


# --- Steps: filter ---------------------------------------------------------------------------

_Evaluate = Callable[[pa.Table], pa.Array]


def _filter(step: pb.FilterStep, schema: pa.Schema, path: _Path) -> _Plan:
    predicate_path = path.field("predicate")
    if not step.HasField("predicate"):
        raise predicate_path.invalid("a predicate is required")
    predicate = _compile_predicate(step.predicate, schema, predicate_path)

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        # Filter drops rows whose mask is null: unknown removes the row, as false does.
        return table.filter(predicate(table)), []

    return _Plan(schema, apply)


def _compile_predicate(predicate: pb.Predicate, schema: pa.Schema, path: _Path) -> _Evaluate:
    kind = predicate.WhichOneof("kind")
    if kind is None:
        raise path.invalid("exactly one predicate kind must be set")
    inner = path.field(kind)
    if kind == "comparison":
        return _compile_comparison(predicate.comparison, schema, inner)
    if kind in ("all_of", "any_of"):
        items = getattr(predicate, kind).predicates
        if not items:
            raise inner.field("predicates").invalid("at least one predicate is required")
        parts = [
            _compile_predicate(item, schema, inner.field("predicates").item(position))
            for position, item in enumerate(items)
        ]
        combine = pc.and_kleene if kind == "all_of" else pc.or_kleene
        return lambda table: functools.reduce(combine, [part(table) for part in parts])
    if kind == "negate":
        negated = _compile_predicate(predicate.negate, schema, inner)
        return lambda table: pc.invert(negated(table))
    if kind == "is_null":
        index = _column_index(schema, predicate.is_null.column, inner.field("column"))
        return lambda table: pc.is_null(_column(table, index))
    if kind == "in_set":
        return _compile_in_set(predicate.in_set, schema, inner)
    return _compile_string_match(predicate.string_match, schema, inner)


_ARROW_COMPARISONS: dict[int, Callable[[object, object], pa.Array]] = {
    pb.COMPARISON_OPERATOR_EQUAL: pc.equal,
    pb.COMPARISON_OPERATOR_NOT_EQUAL: pc.not_equal,
    pb.COMPARISON_OPERATOR_LESS: pc.less,
    pb.COMPARISON_OPERATOR_LESS_OR_EQUAL: pc.less_equal,
    pb.COMPARISON_OPERATOR_GREATER: pc.greater,
    pb.COMPARISON_OPERATOR_GREATER_OR_EQUAL: pc.greater_equal,
}
_SIGN_COMPARISONS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    pb.COMPARISON_OPERATOR_EQUAL: lambda sign: sign == 0,
    pb.COMPARISON_OPERATOR_NOT_EQUAL: lambda sign: sign != 0,
    pb.COMPARISON_OPERATOR_LESS: lambda sign: sign < 0,
    pb.COMPARISON_OPERATOR_LESS_OR_EQUAL: lambda sign: sign <= 0,
    pb.COMPARISON_OPERATOR_GREATER: lambda sign: sign > 0,
    pb.COMPARISON_OPERATOR_GREATER_OR_EQUAL: lambda sign: sign >= 0,
}


def _compile_comparison(comparison: pb.Comparison, schema: pa.Schema, path: _Path) -> _Evaluate:
    left = _column_index(schema, comparison.column, path.field("column"))
    operator = comparison.operator
    _check_enum(operator, list(_ARROW_COMPARISONS), path.field("operator"), required=True)
    left_type = schema.field(left).type
    left_class = _comparable_class(left_type)
    if left_class is None:
        raise path.field("column").mismatch(
            f"a column of type {_type_string(left_type)} is not comparable"
        )
    operand = comparison.WhichOneof("operand")
    if operand is None:
        raise path.invalid("an operand (value or other_column) is required")
    operand_path = path.field(operand)
    literal: _Literal | None = None
    if operand == "value":
        literal = _literal(comparison.value, operand_path)
        right_type, right_class = literal.type, literal.comparable_class
    else:
        right = _column_index(schema, comparison.other_column, operand_path)
        right_type = schema.field(right).type
        right_class = _comparable_class(right_type)
    if right_class != left_class:
        raise operand_path.mismatch(
            f"{_type_string(left_type)} and {_type_string(right_type)} are not comparable "
            "(spec/data.md §6.2)"
        )
    if left_class == "bool" and operator not in (
        pb.COMPARISON_OPERATOR_EQUAL,
        pb.COMPARISON_OPERATOR_NOT_EQUAL,
    ):
        raise path.field("operator").mismatch("booleans support EQUAL and NOT_EQUAL only")

    def evaluate(table: pa.Table) -> pa.Array:
        values = _column(table, left)
        other: pa.Array | pa.Scalar | int = (
            literal.value if literal is not None else _column(table, right)
        )
        return _compare(operator, left_class, values, other, right_type)

    return evaluate


def _compare(
    operator: int, comparable: str, left: pa.Array, right: object, right_type: pa.DataType
) -> pa.Array:
    """`left <operator> right` by the rules of §6.2; `right` is an array or a literal value."""
    is_column = isinstance(right, pa.Array)
    if comparable == "number":
        if pa.types.is_floating(left.type) or pa.types.is_floating(right_type):
            # In double if either side is floating-point (§6.2).
            left = _as_double(left)
            right = _as_double(right) if is_column else pa.scalar(float(right))
            return _ARROW_COMPARISONS[operator](left, right)
        return _exact_compare(operator, left, 1, right, 1)
    if comparable == "timestamp":
        right_scale = _NS_PER_UNIT[right_type.unit]
        return _exact_compare(operator, left, _NS_PER_UNIT[left.type.unit], right, right_scale)
    if comparable == "date":
        return _exact_compare(operator, _days(left), 1, _days(right) if is_column else right, 1)
    if comparable in ("string", "binary"):
        wide = pa.large_string() if comparable == "string" else pa.large_binary()
        left = pc.cast(left, wide)
        right = pc.cast(right, wide) if is_column else pa.scalar(right, type=wide)
    return _ARROW_COMPARISONS[operator](left, right)


def _days(array: pa.Array) -> pa.Array:
    """Dates as int64 calendar days since the epoch (a date64 counts by the day it falls on)."""
    if pa.types.is_date32(array.type):
        return pc.cast(pc.cast(array, pa.int32()), pa.int64())
    millis, valid = _integers(array)
    return pa.array(millis // _MS_PER_DAY, pa.int64(), mask=None if valid is None else ~valid)


def _integers(array: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer-valued (or temporal) array as int64 or uint64 numbers with nulls as 0, and
    the validity (None when there are no nulls)."""
    numbers = array if pa.types.is_uint64(array.type) else pc.cast(array, pa.int64())
    valid = None if array.null_count == 0 else np.asarray(pc.is_valid(array), dtype=bool)
    return pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False), valid


def _exact_compare(
    operator: int, left: pa.Array, left_scale: int, right: pa.Array | int, right_scale: int
) -> pa.Array:
    """left·left_scale <operator> right·right_scale, exactly, for integer-valued data.

    Used for integers (uint64 values above 2^63-1 included), timestamps of any units (the
    scales are nanoseconds per unit) and dates; `right` is an array or a Python integer.
    """
    a, valid = _integers(left)
    if isinstance(right, pa.Array):
        b, right_valid = _integers(right)
        sign = _scaled_sign(a, left_scale, b, right_scale)
        if right_valid is not None:
            valid = right_valid if valid is None else valid & right_valid
    else:
        sign = _sign_against(a, left_scale, right * right_scale)
    result = _SIGN_COMPARISONS[operator](sign)
    return pa.array(result, pa.bool_(), mask=None if valid is None else ~valid)


def _sign_against(a: np.ndarray, scale: int, target: int) -> np.ndarray:
    """The sign of a·scale - target for each a, with `target` an exact Python integer."""
    quotient, remainder = divmod(target, scale)
    info = np.iinfo(a.dtype)
    if quotient < info.min:
        return np.ones(len(a), dtype=np.int8)
    if quotient > info.max:
        return -np.ones(len(a), dtype=np.int8)
    q = a.dtype.type(quotient)
    if remainder == 0:
        return (a > q).astype(np.int8) - (a < q).astype(np.int8)
    # target/scale lies strictly between q and q + 1.
    return np.where(a <= q, np.int8(-1), np.int8(1))


def _scaled_sign(a: np.ndarray, a_scale: int, b: np.ndarray, b_scale: int) -> np.ndarray:
    """The sign of a·a_scale - b·b_scale, elementwise; one scale divides the other."""
    if a_scale == b_scale:
        return _sign(a, b)
    if a_scale < b_scale:
        return -_scaled_sign(b, b_scale, a, a_scale)
    factor = np.int64(a_scale // b_scale)
    quotient, remainder = np.divmod(b, factor)  # b = quotient·factor + remainder, 0 <= r < f
    sign = _sign(a, quotient)
    return np.where(sign != 0, sign, -(remainder > 0).astype(np.int8))


def _sign(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sign of a - b for int64 or uint64 arrays, exactly."""
    if a.dtype == b.dtype:
        return (a > b).astype(np.int8) - (a < b).astype(np.int8)
    if a.dtype == np.uint64:
        return -_sign(b, a)
    non_negative = a >= 0
    unsigned = np.where(non_negative, a, 0).astype(np.uint64)
    sign = (unsigned > b).astype(np.int8) - (unsigned < b).astype(np.int8)
    return np.where(non_negative, sign, np.int8(-1))


def _compile_in_set(in_set: pb.InSet, schema: pa.Schema, path: _Path) -> _Evaluate:
    index = _column_index(schema, in_set.column, path.field("column"))
    values_path = path.field("values")
    if not in_set.values or len(in_set.values) > _MAX_IN_SET_VALUES:
        raise values_path.invalid(f"between 1 and {_MAX_IN_SET_VALUES} values are required")
    t = schema.field(index).type
    comparable = _comparable_class(t)
    if comparable is None:
        raise path.field("column").mismatch(f"a column of type {_type_string(t)} is not comparable")
    exact: list[object] = []  # literals converted to the column's type
    doubles: list[float] = []  # literals compared in double (§6.2)
    for position, message in enumerate(in_set.values):
        item = values_path.item(position)
        literal = _literal(message, item)
        converted = _convert_literal(literal, t)
        if literal.comparable_class != comparable:
            raise item.mismatch(f"the value is not comparable with {_type_string(t)} (§6.2)")
        if converted is None:
            raise item.mismatch(f"the value does not convert exactly to {_type_string(t)} (§6.2)")
        if pa.types.is_floating(t) or literal.kind == "double_value":
            doubles.append(float(literal.value))
        else:
            exact.append(converted)
    if pa.types.is_date64(t):
        exact = [days // _MS_PER_DAY for days in exact]
    # NaN is never equal to anything; -0.0 equals 0.0 (IEEE 754).
    double_set = pa.array([x + 0.0 for x in doubles if not math.isnan(x)], pa.float64())

    def evaluate(table: pa.Table) -> pa.Array:
        values = _column(table, index)
        found = pa.array(np.zeros(len(values), dtype=bool))
        if exact:
            keys = _days(values) if pa.types.is_date(t) else values
            found = pc.is_in(keys, value_set=pa.array(exact, keys.type))
        if doubles:
            as_double = pc.add(_as_double(values), 0.0)
            found = pc.or_(found, pc.is_in(as_double, value_set=double_set))
        return pc.if_else(pc.is_valid(values), found, pa.scalar(None, pa.bool_()))

    return evaluate


_STRING_MATCHERS = {
    pb.STRING_MATCH_OPERATOR_CONTAINS: pc.match_substring,
    pb.STRING_MATCH_OPERATOR_STARTS_WITH: pc.starts_with,
    pb.STRING_MATCH_OPERATOR_ENDS_WITH: pc.ends_with,
}


def _compile_string_match(match: pb.StringMatch, schema: pa.Schema, path: _Path) -> _Evaluate:
    index = _column_index(schema, match.column, path.field("column"))
    t = schema.field(index).type
    if not _is_text(t):
        raise path.field("column").mismatch(
            f"string_match needs a string column, not {_type_string(t)}"
        )
    _check_enum(match.operator, list(_STRING_MATCHERS), path.field("operator"), required=True)
    matcher = _STRING_MATCHERS[match.operator]
    pattern, ignore_case = match.pattern, match.ignore_case

    # ignore_case goes through RE2, whose case-insensitive matching equates the characters of
    # one Unicode simple case folding orbit: simple case folding of both sides (DAT-114).
    return lambda table: matcher(_column(table, index), pattern=pattern, ignore_case=ignore_case)


# --- Steps: columns ----------------------------------------------------------------------------


def _select_columns(step: pb.SelectColumnsStep, schema: pa.Schema, path: _Path) -> _Plan:
    indices = _column_indices(
        step.columns, schema, path.field("columns"), required=True, unique=True
    )
    output = pa.schema([schema.field(i) for i in indices], metadata=schema.metadata)
    return _Plan(output, lambda table: (table.select(indices), []))


def _rename_columns(step: pb.RenameColumnsStep, schema: pa.Schema, path: _Path) -> _Plan:
    renames_path = path.field("renames")
    if not step.renames:
        raise renames_path.invalid("at least one rename is required")
    names = list(schema.names)
    seen: set[str] = set()
    for position, rename in enumerate(step.renames):
        item = renames_path.item(position)
        if rename.old_name in seen:
            raise item.field("old_name").invalid(f"{rename.old_name!r} is renamed twice")
        seen.add(rename.old_name)
        index = _column_index(schema, rename.old_name, item.field("old_name"))
        if not rename.new_name:
            raise item.field("new_name").invalid("a new name is required")
        names[index] = rename.new_name
    counts = Counter(names)
    for position, rename in enumerate(step.renames):
        if counts[rename.new_name] > 1:
            raise (
                renames_path.item(position)
                .field("new_name")
                .mismatch(f"two columns would be named {rename.new_name!r}")
            )
    output = pa.schema(
        [f.with_name(name) for f, name in zip(schema, names, strict=True)],
        metadata=schema.metadata,
    )
    return _Plan(output, lambda table: (table.rename_columns(names), []))


def _cast_columns(step: pb.CastColumnsStep, schema: pa.Schema, path: _Path) -> _Plan:
    casts_path = path.field("casts")
    if not step.casts:
        raise casts_path.invalid("at least one cast is required")
    seen: set[str] = set()
    targets: list[tuple[int, pa.DataType, bool]] = []
    output = schema
    for position, cast in enumerate(step.casts):
        item = casts_path.item(position)
        if cast.column in seen:
            raise item.field("column").invalid(f"column {cast.column!r} is cast twice")
        seen.add(cast.column)
        index = _column_index(schema, cast.column, item.field("column"))
        target = _cast_target(cast.type, schema.field(index).type, item.field("type"))
        null_on_error = _cast_policy(cast.on_error, item.field("on_error"))
        targets.append((index, target, null_on_error))
        output = output.set(index, pa.field(cast.column, target))
    step_index = path.step_index

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        for index, target, null_on_error in targets:
            name = table.field(index).name
            array = _cast(_column(table, index), target, null_on_error, step_index, name)
            table = table.set_column(index, output.field(index), array)
        return table, []

    return _Plan(output, apply)


def _derive_column(step: pb.DeriveColumnStep, schema: pa.Schema, path: _Path) -> _Plan:
    name = step.column
    if not name:
        raise path.field("column").invalid("the name of the column to produce is required")
    existing = schema.get_field_index(name)
    if existing >= 0 and not step.replace:
        raise path.field("column").mismatch(
            f"a column named {name!r} exists; set replace to replace it"
        )
    expression_path = path.field("expression")
    if not step.HasField("expression"):
        raise expression_path.invalid("an expression is required")
    context = _ExpressionContext(schema, path.step_index, name)
    expression = _compile_expression(step.expression, context, expression_path)
    field = pa.field(name, expression.type)
    output = schema.set(existing, field) if existing >= 0 else schema.append(field)

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        array = expression.evaluate(table)
        if existing >= 0:
            return table.set_column(existing, field, array), []
        return table.append_column(field, array), []

    return _Plan(output, apply)


# --- Steps: scaling and anonymization ----------------------------------------------------------


def _numeric_columns(columns: Sequence[str], schema: pa.Schema, path: _Path) -> list[int]:
    indices = _column_indices(columns, schema, path, required=True, unique=True)
    for position, index in enumerate(indices):
        t = schema.field(index).type
        if not _is_numeric(t):
            raise path.item(position).mismatch(
                f"an integer or floating-point column is needed, not {_type_string(t)}"
            )
    return indices


def _normalize(step: pb.NormalizeStep, schema: pa.Schema, path: _Path) -> _Plan:
    return _rescale(step.columns, schema, path, standardize=False)


def _standardize(step: pb.StandardizeStep, schema: pa.Schema, path: _Path) -> _Plan:
    return _rescale(step.columns, schema, path, standardize=True)


def _rescale(columns: Sequence[str], schema: pa.Schema, path: _Path, *, standardize: bool) -> _Plan:
    indices = _numeric_columns(columns, schema, path.field("columns"))
    output = schema
    for index in indices:
        output = output.set(index, pa.field(schema.field(index).name, pa.float64()))

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        fitted = []
        for index in indices:
            array = _column(table, index)
            x = pc.fill_null(_as_double(array), 0.0).to_numpy(zero_copy_only=False)
            valid = np.asarray(pc.is_valid(array), dtype=bool)
            usable = valid & ~np.isnan(x)
            report = run_pb.FittedColumn(column=table.field(index).name)
            # Without usable values there are no statistics; FittedColumn cannot leave them
            # unset, so they are reported as NaN (spec silent).
            if standardize:
                center, spread = _mean_and_stddev(array, x[usable])
                report.mean, report.stddev = center, spread
                constant = spread == 0
            else:
                low = float(x[usable].min()) if usable.any() else math.nan
                high = float(x[usable].max()) if usable.any() else math.nan
                report.min, report.max = low, high
                with np.errstate(all="ignore"):
                    center, spread, constant = low, high - low, low == high
            result = x.copy()
            with np.errstate(all="ignore"):
                result[usable] = 0.0 if constant else (x[usable] - center) / spread
            fitted.append(report)
            rescaled = pa.array(result, pa.float64(), mask=~valid)
            table = table.set_column(index, output.field(index), rescaled)
        return table, fitted

    return _Plan(output, apply)


def _mean_and_stddev(array: pa.Array, usable: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation of the non-null, non-NaN values.

    The mean is the correctly rounded mean for integer columns and fsum(values) / n for
    floating-point ones; the stddev is sqrt(fsum((x - mean)²) / n) with x - mean and its
    square in double (§6.4 names no summation order; these are order-independent).
    """
    if len(usable) == 0:
        return math.nan, math.nan
    if pa.types.is_integer(array.type):
        values = _integer_values(array)
        mean = float(Fraction(_exact_sum(values), len(values)))
    else:
        mean = _float_mean(usable)
    with np.errstate(all="ignore"):
        squares = np.square(usable - mean)
    if np.isinf(squares).any() or np.isnan(squares).any():
        variance = float(np.inf if not np.isnan(squares).any() else np.nan)
    else:
        variance = math.fsum(squares.tolist()) / len(usable)
    return mean, math.sqrt(variance)


def _anonymize(step: pb.AnonymizeStep, schema: pa.Schema, path: _Path) -> _Plan:
    columns_path = path.field("columns")
    if not step.columns:
        raise columns_path.invalid("at least one column is required")
    # Per anonymized column: how its values change, or None when it is dropped.
    operations: dict[int, Callable[[pa.Array], pa.Array] | None] = {}
    output_types: dict[int, pa.DataType] = {}
    for position, entry in enumerate(step.columns):
        item = columns_path.item(position)
        if schema.get_field_index(entry.column) in operations:
            raise item.field("column").invalid(f"column {entry.column!r} is anonymized twice")
        index = _column_index(schema, entry.column, item.field("column"))
        operations[index] = _anonymizer(entry, schema.field(index).type, item)
        if operations[index] is not None:
            mask = entry.WhichOneof("operator") == "mask"
            output_types[index] = schema.field(index).type if mask else pa.string()
    fields = [
        field if index not in operations else pa.field(field.name, output_types[index])
        for index, field in enumerate(schema)
        if operations.get(index, _unchanged) is not None
    ]
    output = pa.schema(fields, metadata=schema.metadata)

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        arrays = []
        for index in range(table.num_columns):
            operation = operations.get(index, _unchanged)
            if operation is not None:
                arrays.append(operation(_column(table, index)))
        return pa.Table.from_arrays(arrays, schema=output), []

    return _Plan(output, apply)


def _anonymizer(
    entry: pb.ColumnAnonymization, t: pa.DataType, path: _Path
) -> Callable[[pa.Array], pa.Array] | None:
    """The operation of one ColumnAnonymization on a column of type `t`; None for drop."""
    operator = entry.WhichOneof("operator")
    if operator is None:
        raise path.invalid("exactly one operator (hash, mask, redact, drop) must be set")
    if operator == "hash":
        salt = entry.hash.salt.encode()
        if not 0 < len(salt) <= _MAX_SALT_BYTES:
            raise path.field("hash.salt").invalid(
                f"the salt must have 1 to {_MAX_SALT_BYTES} bytes"
            )
        if not (_is_text(t) or _is_bytes(t) or pa.types.is_integer(t)):
            raise path.field("column").mismatch(
                f"hash does not accept a column of type {_type_string(t)}"
            )
        return functools.partial(_hash_values, salt=salt)
    if operator == "mask":
        mask = entry.mask
        if len(mask.masking_char) > 1:
            raise path.field("mask.masking_char").invalid("must be a single code point")
        if mask.chars_to_keep < 0:
            raise path.field("mask.chars_to_keep").invalid("must not be negative")
        if not _is_text(t):
            raise path.field("column").mismatch(
                f"mask needs a string column, not {_type_string(t)}"
            )
        return functools.partial(
            _mask_values,
            character=mask.masking_char or "*",
            keep=mask.chars_to_keep,
            from_end=mask.from_end,
        )
    if operator == "redact":
        return functools.partial(_redact_values, text=entry.redact.replacement)
    return None


def _unchanged(array: pa.Array) -> pa.Array:
    return array


def _hash_values(array: pa.Array, *, salt: bytes) -> pa.Array:
    """hex(SHA-256(salt ‖ value bytes)) per non-null value, computed once per distinct value."""
    encoded = array.dictionary_encode()
    distinct = encoded.dictionary
    if pa.types.is_integer(distinct.type):
        distinct = pc.cast(distinct, pa.string())  # canonical decimal text
    salted = hashlib.sha256(salt)
    digests = []
    for value in distinct.to_pylist():
        digest = salted.copy()
        digest.update(value.encode() if isinstance(value, str) else value)
        digests.append(digest.hexdigest())
    return pa.array(digests, pa.string()).take(encoded.indices)


def _mask_values(array: pa.Array, *, character: str, keep: int, from_end: bool) -> pa.Array:
    lengths = pc.cast(pc.utf8_length(array), pa.int64())
    hidden = pc.max_element_wise(pc.subtract(lengths, keep), 0)
    masked = pc.binary_repeat(pa.scalar(character), hidden)
    if keep == 0:
        visible = pc.utf8_slice_codeunits(array, 0, 0)
    elif from_end:
        visible = pc.utf8_slice_codeunits(array, -keep)
    else:
        visible = pc.utf8_slice_codeunits(array, 0, keep)
    parts = (masked, visible) if from_end else (visible, masked)
    joined = pc.binary_join_element_wise(*(pc.cast(p, pa.string()) for p in parts), "")
    return pc.cast(joined, array.type)


def _redact_values(array: pa.Array, *, text: str) -> pa.Array:
    return pc.if_else(pc.is_valid(array), pa.scalar(text), pa.scalar(None, pa.string()))


# --- Steps: random -----------------------------------------------------------------------------


def _sample(step: pb.SampleStep, schema: pa.Schema, path: _Path) -> _Plan:
    size = step.WhichOneof("size")
    if size is None:
        raise path.invalid("exactly one of fraction and count must be set")
    if size == "fraction" and not 0 < step.fraction <= 1:
        raise path.field("fraction").invalid("the fraction must be in (0, 1]")
    if size == "count" and step.count < 1:
        raise path.field("count").invalid("the count must be at least 1")
    fraction = step.fraction if size == "fraction" else None
    count, seed = step.count, step.seed

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        n = table.num_rows
        k = _floor_of_share(fraction, n) if fraction is not None else min(count, n)
        draws = np.random.PCG64(seed).random_raw(n)
        chosen = np.sort(np.argsort(draws, kind="stable")[:k])
        return table.take(chosen), []

    return _Plan(schema, apply)


def _split(step: pb.SplitStep, schema: pa.Schema, path: _Path) -> _Plan:
    fractions = (step.train_fraction, step.validation_fraction, step.test_fraction)
    for name, value in zip(
        ("train_fraction", "validation_fraction", "test_fraction"), fractions, strict=True
    ):
        if not 0 <= value <= 1:
            raise path.field(name).invalid("the fraction must be in [0, 1]")
    if abs(math.fsum(fractions) - 1) > 1e-9:
        raise path.field("test_fraction").invalid("the three fractions must sum to 1")
    name = step.column or "split"
    _new_column_name(name, schema, path.field("column"))
    stratum = None
    if step.stratify_column:
        stratum = _column_index(schema, step.stratify_column, path.field("stratify_column"))
        t = schema.field(stratum).type
        if pa.types.is_nested(t):
            raise path.field("stratify_column").mismatch(
                f"cannot stratify by nested type {_type_string(t)}"
            )
    train, validation = step.train_fraction, step.validation_fraction
    field = pa.field(name, pa.string())
    seed = step.seed

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        n = table.num_rows
        strata = np.zeros(n, dtype=np.int64)
        if stratum is not None and not pa.types.is_null(table.field(stratum).type):
            key = _canonical_key(_column(table, stratum))
            strata = key.dictionary_encode(null_encoding="encode").indices.to_numpy()
            strata = strata.astype(np.int64)
        draws = np.random.PCG64(seed).random_raw(n)
        order = np.lexsort((draws, strata))  # by stratum, then draw; stable for equal draws
        sizes = np.bincount(strata, minlength=1)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - starts[strata[order]]
        # Fractions summing to 1 within 1e-9 could give one row more than the stratum holds;
        # validation then takes what train left (§6.4 is silent).
        train_counts = np.array([_floor_of_share(train, s) for s in sizes], dtype=np.int64)
        validation_counts = np.array(
            [
                min(_floor_of_share(validation, s), s - t)
                for s, t in zip(sizes, train_counts, strict=True)
            ],
            dtype=np.int64,
        )
        first = train_counts[strata]
        codes = np.where(rank < first, 0, np.where(rank < first + validation_counts[strata], 1, 2))
        return table.append_column(field, _SPLIT_LABELS.take(pa.array(codes))), []

    return _Plan(schema.append(field), apply)


def _floor_of_share(fraction: float, n: int) -> int:
    """floor(fraction · n) with the product in double (§6.4 does not say): 0.7 · 100 gives
    70, where exact arithmetic on the double nearest 0.7 would give 69."""
    return math.floor(fraction * n)


def _gaussian_noise(step: pb.GaussianNoiseStep, schema: pa.Schema, path: _Path) -> _Plan:
    columns_path = path.field("columns")
    indices = _column_indices(step.columns, schema, columns_path, required=True, unique=True)
    for position, index in enumerate(indices):
        t = schema.field(index).type
        if not pa.types.is_floating(t):
            raise columns_path.item(position).mismatch(
                f"gaussian_noise needs a floating-point column, not {_type_string(t)}"
            )
    stddev = step.stddev
    if not (math.isfinite(stddev) and stddev > 0):
        raise path.field("stddev").invalid("the standard deviation must be positive and finite")
    seed = step.seed

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        generator = np.random.Generator(np.random.PCG64(seed))
        for index in indices:
            array = _column(table, index)
            noise = generator.standard_normal(table.num_rows)
            x = pc.fill_null(pc.cast(array, pa.float64()), 0.0).to_numpy(zero_copy_only=False)
            valid = np.asarray(pc.is_valid(array), dtype=bool)
            with np.errstate(all="ignore"):
                noisy = np.where(np.isnan(x), x, x + stddev * noise)
                rounded = noisy.astype(array.type.to_pandas_dtype())
            result = pa.array(rounded, array.type, mask=~valid)
            table = table.set_column(index, table.field(index), result)
        return table, []

    return _Plan(schema, apply)


def _oversample(step: pb.OversampleStep, schema: pa.Schema, path: _Path) -> _Plan:
    label_path = path.field("label_column")
    label = _column_index(schema, step.label_column, label_path)
    t = schema.field(label).type
    if not (_is_text(t) or pa.types.is_boolean(t) or pa.types.is_integer(t)):
        raise label_path.mismatch(f"the label column cannot be of type {_type_string(t)}")
    output = schema
    indicator = None
    if step.indicator_column:
        _new_column_name(step.indicator_column, schema, path.field("indicator_column"))
        indicator = pa.field(step.indicator_column, pa.bool_())
        output = schema.append(indicator)
    seed = step.seed

    def apply(table: pa.Table) -> tuple[pa.Table, _Fitted]:
        n = table.num_rows
        encoded = _column(table, label).dictionary_encode()
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

    return _Plan(output, apply)


_STEP_COMPILERS: dict[str, Callable[[object, pa.Schema, _Path], _Plan]] = {
    "drop_nulls": _drop_nulls,
    "fill_nulls": _fill_nulls,
    "deduplicate": _deduplicate,
    "filter": _filter,
    "select_columns": _select_columns,
    "rename_columns": _rename_columns,
    "cast_columns": _cast_columns,
    "derive_column": _derive_column,
    "normalize": _normalize,
    "standardize": _standardize,
    "anonymize": _anonymize,
    "sample": _sample,
    "split": _split,
    "gaussian_noise": _gaussian_noise,
    "oversample": _oversample,
}


# --- Expressions (§6.3) ------------------------------------------------------------------------


@dataclass(frozen=True)
class _ExpressionContext:
    """What an expression is compiled against: the step's input schema, the step and the
    column it produces (metadata of CAST_FAILED)."""

    schema: pa.Schema
    step_index: int
    column: str


@dataclass(frozen=True)
class _Expression:
    type: pa.DataType
    evaluate: _Evaluate


_INT64_OR_DOUBLE = {
    pb.FUNCTION_ADD: (pc.add_checked, pc.add),
    pb.FUNCTION_SUBTRACT: (pc.subtract_checked, pc.subtract),
    pb.FUNCTION_MULTIPLY: (pc.multiply_checked, pc.multiply),
    pb.FUNCTION_NEGATE: (pc.negate_checked, pc.negate),
    pb.FUNCTION_ABS: (pc.abs_checked, pc.abs),
}
_DOUBLE_FUNCTIONS = {
    pb.FUNCTION_POWER: pc.power,
    pb.FUNCTION_SQRT: pc.sqrt,
    pb.FUNCTION_EXP: pc.exp,
    pb.FUNCTION_LOG: pc.ln,
    pb.FUNCTION_FLOOR: pc.floor,
    pb.FUNCTION_CEIL: pc.ceil,
}
_NUMERIC_FUNCTIONS = {
    *_INT64_OR_DOUBLE,
    *_DOUBLE_FUNCTIONS,
    pb.FUNCTION_DIVIDE,
    pb.FUNCTION_ROUND,
}
_STRING_FUNCTIONS = {
    pb.FUNCTION_CONCAT,
    pb.FUNCTION_UPPER,
    pb.FUNCTION_LOWER,
    pb.FUNCTION_TRIM,
    pb.FUNCTION_LENGTH,
    pb.FUNCTION_SUBSTRING,
    pb.FUNCTION_REPLACE,
}
# (fewest, most) arguments; None is unbounded.
_ARITY: dict[int, tuple[int, int | None]] = {
    pb.FUNCTION_ADD: (2, 2),
    pb.FUNCTION_SUBTRACT: (2, 2),
    pb.FUNCTION_MULTIPLY: (2, 2),
    pb.FUNCTION_DIVIDE: (2, 2),
    pb.FUNCTION_NEGATE: (1, 1),
    pb.FUNCTION_ABS: (1, 1),
    pb.FUNCTION_POWER: (2, 2),
    pb.FUNCTION_SQRT: (1, 1),
    pb.FUNCTION_EXP: (1, 1),
    pb.FUNCTION_LOG: (1, 1),
    pb.FUNCTION_ROUND: (1, 2),
    pb.FUNCTION_FLOOR: (1, 1),
    pb.FUNCTION_CEIL: (1, 1),
    pb.FUNCTION_CONCAT: (2, None),
    pb.FUNCTION_UPPER: (1, 1),
    pb.FUNCTION_LOWER: (1, 1),
    pb.FUNCTION_TRIM: (1, 1),
    pb.FUNCTION_LENGTH: (1, 1),
    pb.FUNCTION_SUBSTRING: (3, 3),
    pb.FUNCTION_REPLACE: (3, 3),
    pb.FUNCTION_COALESCE: (1, None),
}
# Argument positions that must be literals, and the Literal member they must set.
_LITERAL_ARGUMENTS: dict[int, dict[int, str]] = {
    pb.FUNCTION_ROUND: {1: "int64_value"},
    pb.FUNCTION_SUBSTRING: {1: "int64_value", 2: "int64_value"},
    pb.FUNCTION_REPLACE: {1: "string_value", 2: "string_value"},
}


def _compile_expression(
    expression: pb.Expression, context: _ExpressionContext, path: _Path
) -> _Expression:
    kind = expression.WhichOneof("kind")
    if kind is None:
        raise path.invalid("exactly one expression kind must be set")
    inner = path.field(kind)
    if kind == "column":
        index = _column_index(context.schema, expression.column, inner)
        return _Expression(context.schema.field(index).type, lambda t: _column(t, index))
    if kind == "literal":
        scalar = _literal(expression.literal, inner).scalar()
        return _Expression(scalar.type, lambda table: pa.repeat(scalar, table.num_rows))
    if kind == "cast":
        cast = expression.cast
        if not cast.HasField("input"):
            raise inner.field("input").invalid("an input expression is required")
        source = _compile_expression(cast.input, context, inner.field("input"))
        target = _cast_target(cast.type, source.type, inner.field("type"))
        null_on_error = _cast_policy(cast.on_error, inner.field("on_error"))

        def evaluate_cast(table: pa.Table) -> pa.Array:
            values = source.evaluate(table)
            return _cast(values, target, null_on_error, context.step_index, context.column)

        return _Expression(target, evaluate_cast)
    return _compile_call(expression.call, context, inner)


def _compile_call(call: pb.FunctionCall, context: _ExpressionContext, path: _Path) -> _Expression:
    function = call.function
    if function not in _ARITY:
        raise path.field("function").invalid(
            "a function is required" if function == 0 else f"{function} is not a function"
        )
    name = pb.Function.Name(function)
    fewest, most = _ARITY[function]
    arguments = call.arguments
    if len(arguments) < fewest or (most is not None and len(arguments) > most):
        expected = f"{fewest}" if fewest == most else f"at least {fewest}"
        if most is not None and most != fewest:
            expected = f"{fewest} or {most}"
        raise path.field("arguments").invalid(
            f"{name} takes {expected} arguments, not {len(arguments)}"
        )
    literal_kinds = _LITERAL_ARGUMENTS.get(function, {})
    operands: list[_Expression] = []
    constants: list[int | str] = []
    for position, argument in enumerate(arguments):
        item = path.field("arguments").item(position)
        if position in literal_kinds:
            constants.append(_literal_argument(function, position, argument, item))
            continue
        operand = _compile_expression(argument, context, item)
        if function in _NUMERIC_FUNCTIONS and not _is_numeric(operand.type):
            raise item.mismatch(
                f"{name} needs a numeric argument, not {_type_string(operand.type)}"
            )
        if function in _STRING_FUNCTIONS and not _is_text(operand.type):
            raise item.mismatch(f"{name} needs a string argument, not {_type_string(operand.type)}")
        operands.append(operand)
    if function == pb.FUNCTION_COALESCE:
        return _compile_coalesce(operands, context, path.field("arguments"))
    result_type, compute = _function_kernel(function, operands, constants, context.step_index)

    def evaluate(table: pa.Table) -> pa.Array:
        return compute([operand.evaluate(table) for operand in operands])

    return _Expression(result_type, evaluate)


def _literal_argument(function: int, position: int, argument: pb.Expression, path: _Path) -> object:
    wanted = _LITERAL_ARGUMENTS[function][position]
    kind = "an int64" if wanted == "int64_value" else "a string"
    if argument.WhichOneof("kind") != "literal":
        raise path.invalid(f"must be {kind} literal")
    literal = _literal(argument.literal, path.field("literal"))
    if literal.kind != wanted:
        raise path.invalid(f"must be {kind} literal")
    if function == pb.FUNCTION_SUBSTRING and literal.value < 0:
        raise path.invalid("must not be negative")
    if function == pb.FUNCTION_REPLACE and position == 1 and not literal.value:
        raise path.invalid("the pattern must not be empty")
    return literal.value


def _function_kernel(
    function: int, operands: list[_Expression], constants: list, step_index: int
) -> tuple[pa.DataType, Callable[[list[pa.Array]], pa.Array]]:
    """The result type and the computation of a function other than COALESCE."""
    if function in _INT64_OR_DOUBLE:
        checked, plain = _INT64_OR_DOUBLE[function]
        if all(pa.types.is_integer(operand.type) for operand in operands):
            # Integer arithmetic in int64; a uint64 above 2^63-1 overflows too (§6.3).
            def integer(values: list[pa.Array]) -> pa.Array:
                return _overflow_checked(
                    lambda: checked(*[pc.cast(v, pa.int64()) for v in values]), step_index
                )

            return pa.int64(), integer
        return pa.float64(), lambda values: plain(*[_as_double(v) for v in values])
    if function in _DOUBLE_FUNCTIONS:
        kernel = _DOUBLE_FUNCTIONS[function]
        return pa.float64(), lambda values: kernel(*[_as_double(v) for v in values])
    result_type, kernel = _OTHER_KERNELS[function]
    return result_type, functools.partial(kernel, constants=constants)


# Functions whose result type does not depend on the argument types: (type, kernel of the
# evaluated operands and the literal arguments).
_OTHER_KERNELS: dict[int, tuple[pa.DataType, Callable[..., pa.Array]]] = {
    pb.FUNCTION_DIVIDE: (
        pa.float64(),
        lambda values, constants: _divide(_as_double(values[0]), _as_double(values[1])),
    ),
    pb.FUNCTION_ROUND: (
        pa.float64(),
        lambda values, constants: _round_half_even(
            _as_double(values[0]), constants[0] if constants else 0
        ),
    ),
    pb.FUNCTION_LENGTH: (
        pa.int64(),
        lambda values, constants: pc.cast(pc.utf8_length(values[0]), pa.int64()),
    ),
    pb.FUNCTION_CONCAT: (
        pa.string(),
        lambda values, constants: pc.binary_join_element_wise(*map(_as_string, values), ""),
    ),
    pb.FUNCTION_UPPER: (
        pa.string(),
        lambda values, constants: _map_text(values[0], pc.ascii_upper, str.upper),
    ),
    pb.FUNCTION_LOWER: (
        pa.string(),
        lambda values, constants: _map_text(values[0], pc.ascii_lower, str.lower),
    ),
    pb.FUNCTION_TRIM: (
        pa.string(),
        lambda values, constants: pc.utf8_trim(_as_string(values[0]), characters=_WHITE_SPACE),
    ),
    pb.FUNCTION_SUBSTRING: (
        pa.string(),
        lambda values, constants: pc.utf8_slice_codeunits(
            _as_string(values[0]), constants[0], min(constants[0] + constants[1], _INT64_MAX)
        ),
    ),
    pb.FUNCTION_REPLACE: (
        pa.string(),
        lambda values, constants: pc.replace_substring(
            _as_string(values[0]), pattern=constants[0], replacement=constants[1]
        ),
    ),
}


def _compile_coalesce(
    operands: list[_Expression], context: _ExpressionContext, path: _Path
) -> _Expression:
    widened = [_widened(operand.type) for operand in operands]
    for position, t in enumerate(widened):
        if not t.equals(widened[0]):
            raise path.item(position).mismatch(
                "COALESCE arguments must share a type; "
                f"{_type_string(t)} is not {_type_string(widened[0])}"
            )
    result_type = widened[0]
    if not _coalesce_defined(result_type):
        raise path.item(0).mismatch(f"COALESCE does not accept {_type_string(result_type)}")

    def evaluate(table: pa.Table) -> pa.Array:
        values = [operand.evaluate(table) for operand in operands]
        converted = _overflow_checked(
            lambda: [pc.cast(v, result_type) for v in values], context.step_index
        )
        return converted[0] if len(converted) == 1 else pc.coalesce(*converted)

    return _Expression(result_type, evaluate)


def _widened(t: pa.DataType) -> pa.DataType:
    """Numeric widening of COALESCE (§6.3): integers to int64, floats to double."""
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    return t


@functools.cache
def _coalesce_defined(t: pa.DataType) -> bool:
    empty = pa.array([], type=t)
    try:
        pc.coalesce(empty, empty)
    except pa.ArrowException:
        return False
    return True


def _overflow_checked(compute: Callable[[], object], step_index: int) -> object:
    try:
        return compute()
    except pa.ArrowInvalid as error:
        raise FailedPrecondition(
            reason="ARITHMETIC_OVERFLOW",
            message=f"integer overflow in step {step_index}: {error}",
            metadata={"step_index": str(step_index)},
        ) from None


def _as_double(values: pa.Array) -> pa.Array:
    # Not a safe cast: an int64 beyond 2^53 rounds to the nearest double, as §6.2 and §6.3 ask.
    return pc.cast(values, pa.float64(), safe=False)


def _as_string(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def _divide(dividend: pa.Array, divisor: pa.Array) -> pa.Array:
    quotient = pc.divide(dividend, divisor)
    return pc.if_else(pc.equal(divisor, 0.0), pa.scalar(None, pa.float64()), quotient)


def _round_half_even(values: pa.Array, digits: int) -> pa.Array:
    """Each double rounded to `digits` decimal places, ties to even, correctly rounded.

    The result is the double nearest to the exact decimal rounding of the exact binary value,
    which is what Python's round(float, n) computes. The vectorized path scales by 10^|n| and
    rounds with rint; values whose scaled form is within a few ulps of a tie, beyond 2^52, or
    not finite (and every value when |n| > 22, where 10^|n| is inexact) are redone with round().
    """
    x = pc.fill_null(values, 0.0).to_numpy(zero_copy_only=False)
    result = np.empty_like(x)
    doubtful = np.ones(len(x), dtype=bool)
    if abs(digits) <= 22:
        scale = 10.0 ** abs(digits)
        with np.errstate(all="ignore"):
            scaled = x * scale if digits >= 0 else x / scale
            rounded = np.rint(scaled)
            result = rounded / scale if digits >= 0 else rounded * scale
            fraction = np.abs(scaled - np.trunc(scaled))
            doubtful = (
                ~np.isfinite(scaled)
                | (np.abs(scaled) >= 2.0**52)
                | (np.abs(fraction - 0.5) <= 4 * np.spacing(np.abs(scaled)))
            )
    if doubtful.any():
        result[doubtful] = [round(v, digits) for v in x[doubtful].tolist()]
    return pa.array(result, pa.float64(), mask=pc.is_null(values).to_numpy(zero_copy_only=False))


def _map_text(
    values: pa.Array, ascii_kernel: Callable[[pa.Array], pa.Array], method: Callable[[str], str]
) -> pa.Array:
    """Unicode default case mapping: Arrow for ASCII values, Python's str methods (full
    mappings such as ß → SS, final sigma) for the rest."""
    values = _as_string(values)
    result = ascii_kernel(values)
    others = pc.invert(pc.fill_null(pc.string_is_ascii(values), True))
    if not pc.any(others).as_py():
        return result
    mapped = [method(v) for v in values.filter(others).to_pylist()]
    return pc.replace_with_mask(result, others, pa.array(mapped, pa.string()))


# --- Casts (§4.2, ColumnCast) ------------------------------------------------------------------


def _cast_target(text: str, source: pa.DataType, path: _Path) -> pa.DataType:
    try:
        target = parse_cast_type(text)
    except ValueError as error:
        raise path.invalid(str(error)) from None
    if not _cast_defined(source, target):
        raise path.mismatch(f"Arrow defines no conversion from {_type_string(source)} to {text}")
    return target


def _cast_policy(policy: int, path: _Path) -> bool:
    """Whether values that do not convert become null (CAST_ERROR_POLICY_NULL)."""
    _check_enum(policy, list(pb.CastErrorPolicy.values()), path, required=False)
    return policy == pb.CAST_ERROR_POLICY_NULL


@functools.cache
def _cast_defined(source: pa.DataType, target: pa.DataType) -> bool:
    try:
        pc.cast(pa.array([], type=source), target)
    except pa.ArrowException:
        return False
    return True


def _cast(
    values: pa.Array, target: pa.DataType, null_on_error: bool, step_index: int, column: str
) -> pa.Array:
    if values.type.equals(target):
        return values
    try:
        return _exact_cast(values, target)
    except pa.ArrowInvalid as error:
        if not null_on_error:
            raise FailedPrecondition(
                reason="CAST_FAILED",
                message=f"column {column!r} in step {step_index}: {error}",
                metadata={"step_index": str(step_index), "column": column},
            ) from None
    return _cast_or_null(values, target)


def _exact_cast(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Arrow's safe cast, plus the two losses it lets through (DAT-116): a finite number that
    overflows a floating-point type to infinity, and a float whose fractional digits a decimal
    type cannot hold (Arrow rounds those). Raises ArrowInvalid."""
    result = pc.cast(values, target, safe=True)
    source = values.type
    if pa.types.is_floating(target) and (_is_numeric(source) or pa.types.is_decimal(source)):
        overflowed = pc.is_inf(result)
        if pa.types.is_floating(source):
            overflowed = pc.and_(overflowed, pc.invert(pc.is_inf(values)))
        if pc.any(overflowed).as_py():
            raise pa.ArrowInvalid(f"a value overflows {_type_string(target)}")
    if pa.types.is_decimal(target) and pa.types.is_floating(source):
        doubles = pc.cast(values, pa.float64())
        if pc.any(pc.not_equal(pc.round(doubles, target.scale), doubles)).as_py():
            raise pa.ArrowInvalid(f"a value has more than {target.scale} fractional digits")
    return result


def _cast_or_null(values: pa.Array, target: pa.DataType) -> pa.Array:
    """`values` cast to `target` with the values that do not convert made null.

    Arrow has no per-value error mode. Each distinct value is cast once (bad values tend to
    repeat: "", "n/a"); numbers bound for an integer type first lose, in one vectorized pass,
    the values whose round trip through the target type changes them; what remains is cast by
    bisection, which isolates each failing value in O(log n) casts.
    """
    try:
        encoded = values.dictionary_encode()
    except pa.ArrowException:
        return _bisected_cast(values, target)
    distinct = encoded.dictionary
    if pa.types.is_integer(target) and _is_numeric(distinct.type):
        if pa.types.is_float16(distinct.type):  # few kernels take halffloat; float is exact
            distinct = pc.cast(distinct, pa.float32())
        distinct = _without_integer_misfits(distinct, target)
    return _bisected_cast(distinct, target).take(encoded.indices)


def _without_integer_misfits(values: pa.Array, target: pa.DataType) -> pa.Array:
    """`values` with nulls where they certainly do not convert to the integer type `target`:
    NaN, infinities, fractions and values out of range (an unsafe cast there and back changes
    them, or flips their sign). Only a filter: the safe cast still decides the rest."""
    with np.errstate(all="ignore"):
        converted = pc.cast(values, target, safe=False)
        back = pc.cast(converted, values.type, safe=False)
    kept = pc.and_(
        pc.equal(back, values),
        pc.equal(
            pc.less(values, pa.scalar(0, values.type)), pc.less(converted, pa.scalar(0, target))
        ),
    )
    return pc.if_else(kept, values, pa.scalar(None, values.type))


def _bisected_cast(values: pa.Array, target: pa.DataType) -> pa.Array:
    try:
        return _exact_cast(values, target)
    except pa.ArrowInvalid:
        if len(values) == 1:
            return pa.nulls(1, target)
    middle = len(values) // 2
    return pa.concat_arrays(
        [
            _bisected_cast(values.slice(0, middle), target),
            _bisected_cast(values.slice(middle), target),
        ]
    )


# --- Statistics --------------------------------------------------------------------------------


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


def _float_values(array: pa.Array) -> np.ndarray:
    """The non-null, non-NaN values of a numeric array as doubles."""
    doubles = _as_double(array.drop_null()).to_numpy(zero_copy_only=False)
    return doubles[~np.isnan(doubles)]


def _float_mean(values: np.ndarray) -> float:
    """fsum(values) / n: the correctly rounded sum, then one IEEE division (spec silent)."""
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
