"""Checks, pipelines and tables the `data-processing` cases share (spec/data.md §6,
§8.10-§8.12).

Non-random steps are checked against golden vectors (vectors/processing.yaml: an input
table, the steps and the exact output), compared by the content digest the independent
encoder of table_digest.py computes and by values, so they apply to every conforming server
(DAT-128). Random steps, whose exact output is implementation-defined, are checked for
determinism and for the properties §6.4 fixes (sizes, proportions, order, which values
change). Every case works in scratch datasets of its own; pipeline runs cannot be deleted and
stay on the target."""

from __future__ import annotations

import math
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf import json_format

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import pipeline_run_pb2
from lepton.data.v1 import processing_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_conformance.harness import expect, vectors
from lepton_conformance.suites.data import table_digest, vector_tables
from lepton_conformance.suites.data.dataset_client import DatasetClient
from lepton_conformance.suites.data.processing_client import (
    ProcessingClient,
)

VECTORS = vectors.load("lepton_conformance.suites.data", "processing.yaml")
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
SHA256 = digest_pb2.DIGEST_ALGORITHM_SHA256
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


# --- helpers ----------------------------------------------------------------------------------


def input_table(spec: str | list[dict[str, Any]]) -> pa.Table:
    columns = VECTORS["tables"][spec] if isinstance(spec, str) else spec
    return vector_tables.table(columns)


def expected_output(row: dict[str, Any], given: pa.Table) -> pa.Table:
    """The output a golden vector describes."""
    output = row["output"]
    if "keep_rows" in output:
        return given.take(pa.array(output["keep_rows"], pa.int64()))
    if "append" in output:
        for spec in output["append"]:
            field, array = vector_tables.column(spec)
            given = given.append_column(field, array)
        return given
    return vector_tables.table(output["columns"])


def values_of(table: pa.Table) -> list[list[Any]]:
    """Rows as lists, NaN spelled "NaN" so that equal tables compare equal."""
    return [
        [
            "NaN" if isinstance(v, float) and math.isnan(v) else v
            for v in (table.column(i)[r].as_py() for i in range(table.num_columns))
        ]
        for r in range(table.num_rows)
    ]


def check_output(
    client: DatasetClient, version: resources.DatasetVersion, wanted: pa.Table, what: str
) -> None:
    """The version holds exactly `wanted`: names, canonical types, values, content digest."""
    expect.equal(
        [(f.name, f.type) for f in version.schema.fields],
        [(f.name, table_digest.canonical_type(f.type)) for f in wanted.schema],
        f"columns of {what}",
    )
    got = client.read_table(version.name)
    expect.equal(values_of(got), values_of(wanted), f"rows of {what}")
    expect.equal(
        version.content_digest.hex, table_digest.content_digest(wanted), f"digest of {what}"
    )


def fitted_of(run: pipeline_run_pb2.PipelineRun, step: int) -> list[dict[str, Any]]:
    """The fitted columns the run reports for a step, as protobuf JSON."""
    expect.holds(
        step < len(run.step_reports),
        f"a StepReport for step {step} of {run.name}",
        f"{len(run.step_reports)} step reports",
    )
    return [
        json_format.MessageToDict(c, preserving_proto_field_name=True)
        for c in run.step_reports[step].fitted_columns
    ]


def wanted_fitted(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        json_format.MessageToDict(
            json_format.ParseDict(e, pipeline_run_pb2.FittedColumn()),
            preserving_proto_field_name=True,
        )
        for e in entries
    ]


def runs_of(processing: ProcessingClient, input_version: str) -> list[str]:
    """The runs of an input version, from the first page (enough to see whether any exist)."""
    request = pb.ListPipelineRunsRequest(filter=f'input_version = "{input_version}"')
    page = expect.succeeds(lambda: processing.call("ListPipelineRuns", request), "ListPipelineRuns")
    return [r.name for r in page.pipeline_runs]


CLEAN = [
    {
        "filter": {
            "predicate": {
                "comparison": {
                    "column": "a",
                    "operator": "COMPARISON_OPERATOR_GREATER",
                    "value": {"int64_value": 0},
                }
            }
        }
    },
    {"normalize": {"columns": ["a"]}},
]


RANDOM_STEPS = [
    {"sample": {"fraction": 0.75, "seed": 5}},
    {"split": {"train_fraction": 0.5, "validation_fraction": 0.25, "test_fraction": 0.25}},
    {"gaussian_noise": {"columns": ["x"], "stddev": 0.5, "seed": 9}},
    {"oversample": {"label_column": "label", "seed": 1, "indicator_column": "copy"}},
]


def random_input(count: int = 40) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(count), pa.int64()),
            "x": pa.array([i / 4 if i % 7 else None for i in range(count)], pa.float64()),
            "label": pa.array(["a" if i % 4 else ("b" if i % 8 else "c") for i in range(count)]),
        }
    )
