"""Pipelines in protobuf text format, so that each test shows the message a client sends, and
the small table most pipeline tests run them on."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from google.protobuf import text_format

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.pipelines import run, validate
from lepton_server.runtime.errors import InvalidArgument


def pipeline(*steps: str) -> pb.Pipeline:
    """A pipeline from the text format of its steps, e.g. 'sample { count: 1 }'."""
    return text_format.Parse("".join(f"steps {{ {s} }}\n" for s in steps), pb.Pipeline())


def output(table: pa.Table, *steps: str) -> dict[str, list]:
    return run(pipeline(*steps), table).table.to_pydict()


def column(table: pa.Table, name: str, *steps: str) -> list:
    return output(table, *steps)[name]


def validation_error(schema: pa.Schema | pa.Table, *steps: str) -> InvalidArgument:
    if isinstance(schema, pa.Table):
        schema = schema.schema
    with pytest.raises(InvalidArgument) as caught:
        validate(pipeline(*steps), schema)
    return caught.value


def same_floats(actual: list, expected: list) -> bool:
    """Equal lists of floats, NaN equal to NaN and None to None."""
    return len(actual) == len(expected) and all(
        a == e or (a is not None and e is not None and math.isnan(a) and math.isnan(e))
        for a, e in zip(actual, expected, strict=True)
    )


NAN = math.nan
PEOPLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "name": pa.array(["ann", "bob", None, "dora"]),
        "age": pa.array([31, None, 27, 31], pa.int8()),
        "score": pa.array([0.5, NAN, None, 2.0]),
        "active": pa.array([True, False, None, True]),
    }
)


def compare(name: str, operator: str, operand: str) -> str:
    """A filter step of one comparison, e.g. compare("age", "LESS", "value { int64_value: 3 }")."""
    return (
        f'filter {{ predicate {{ comparison {{ column: "{name}"'
        f" operator: COMPARISON_OPERATOR_{operator} {operand} }} }} }}"
    )


def derive(expression: str, name: str = "out", replace: bool = False) -> str:
    """A derive_column step of the expression's text format."""
    flag = str(replace).lower()
    return f'derive_column {{ column: "{name}" replace: {flag} expression {{ {expression} }} }}'


def call(function: str, *arguments: str) -> str:
    """A function call expression, e.g. call("ADD", col("a"), int_literal(1))."""
    args = " ".join(f"arguments {{ {a} }}" for a in arguments)
    return f"call {{ function: FUNCTION_{function} {args} }}"


def col(name: str) -> str:
    return f'column: "{name}"'


def int_literal(value: int) -> str:
    return f"literal {{ int64_value: {value} }}"
