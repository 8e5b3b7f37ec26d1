"""What a compiled step is, and how step compilers find the columns a step names.

Each step is compiled once against the schema it receives into a `Plan`: the schema it
produces and a function from table to table (which also returns the statistics it fitted).
A `FieldPath` is where the step's fields sit in the request: validation errors name it
(spec/data.md §6.1) as INVALID_ARGUMENT with reason COLUMN_NOT_FOUND, SCHEMA_MISMATCH or
INVALID_FIELD, ErrorInfo metadata `step_index` and one field violation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa

from lepton.data.v1 import pipeline_run_pb2 as run_pb
from lepton_server.runtime.errors import InvalidArgument, invalid_argument

# The statistics a step fitted on the table it ran on (StepReport.fitted_columns).
Fitted = list[run_pb.FittedColumn]
Entry = TypeVar("Entry")


@dataclass(frozen=True)
class FieldPath:
    """A field path in the request, and the step it belongs to, for validation errors."""

    step_index: int
    text: str

    def field(self, name: str) -> FieldPath:
        return FieldPath(self.step_index, f"{self.text}.{name}")

    def item(self, index: int) -> FieldPath:
        return FieldPath(self.step_index, f"{self.text}[{index}]")

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


Apply = Callable[[pa.Table], tuple[pa.Table, Fitted]]
# A compiled predicate or expression: one value per row of the table.
Evaluate = Callable[[pa.Table], pa.Array]


@dataclass(frozen=True)
class Plan:
    """One compiled step: the schema it produces and how to produce the table."""

    output_schema: pa.Schema
    apply: Apply
    # Each output row depends on its input row alone, so an executor may apply the step to
    # row ranges separately and concatenate the results in order (spec/data.md §6.6).
    row_wise: bool = False
    # A global step with a two-pass plan (§6.6): its parameters, whose type names the plan.
    # None for a global step without one, which an executor runs on the whole table.
    global_step: object | None = None


def column_index(schema: pa.Schema, name: str, path: FieldPath) -> int:
    if not name:
        raise path.invalid("a column name is required")
    index = schema.get_field_index(name)
    if index < 0:
        raise path.not_found(name)
    return index


def column_indices(
    names: Sequence[str], schema: pa.Schema, path: FieldPath, *, required: bool, unique: bool
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
        indices.append(column_index(schema, name, item))
    return indices


def columns_named_once(
    entries: Sequence[Entry], field: str, schema: pa.Schema, path: FieldPath, twice: str
) -> Iterator[tuple[Entry, FieldPath, int]]:
    """Each entry of a repeated field, its path and the index of the column its `field` names;
    an entry that names a column an earlier one named is INVALID_FIELD, described by `twice`
    (e.g. "column {!r} is cast twice"). Lazy: each entry is checked only once the caller is
    done with the one before, so the first fault in request order is the one reported."""
    seen: set[str] = set()
    for position, entry in enumerate(entries):
        item = path.item(position)
        name = getattr(entry, field)
        if name in seen:
            raise item.field(field).invalid(twice.format(name))
        seen.add(name)
        yield entry, item, column_index(schema, name, item.field(field))


def check_enum(value: int, allowed: Sequence[int], path: FieldPath, *, required: bool) -> None:
    if value not in allowed or (required and value == 0):
        raise path.invalid(f"{value} is not a valid value here" if value else "required")


def new_column_name(name: str, schema: pa.Schema, path: FieldPath) -> None:
    if schema.get_field_index(name) >= 0:
        raise path.mismatch(f"a column named {name!r} exists already")


def column_array(table: pa.Table, index: int) -> pa.Array:
    return table.column(index).combine_chunks()


# A step compiler: the step message, the schema the step receives and where the step sits.
StepCompiler = Callable[[object, pa.Schema, FieldPath], Plan]
