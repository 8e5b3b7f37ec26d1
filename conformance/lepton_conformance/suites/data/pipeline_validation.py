"""data-processing cases of the golden vectors and of ValidatePipeline: validation errors,
schemas per step, the step limit and cast type strings (spec/data.md §6, §8.10)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lepton.data.v1 import processing_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import vector_tables
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_client import DatasetClient
from lepton_conformance.suites.data.pipeline_checks import (
    INVALID,
    NOT_FOUND,
    SHA256,
    VECTORS,
    check_output,
    expected_output,
    fitted_of,
    input_table,
    runs_of,
    wanted_fitted,
)
from lepton_conformance.suites.data.processing_client import (
    ProcessingClient,
    fingerprint,
    pipeline,
)
from lepton_conformance.suites.data.profiles import PROCESSING

CASES = CaseList()


# --- golden vectors -------------------------------------------------------------------------


def _register_golden() -> None:
    for row in VECTORS["golden"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client, processing = DatasetClient(ctx), ProcessingClient(ctx)
            given = input_table(row["input"])
            wanted = expected_output(row, given)
            with client.scratch() as name:
                version = client.write(name, given)
                run = processing.succeeded(version.name, pipeline(row["steps"]))
                output = client.version(run.output_version)
                check_output(client, output, wanted, f"the output of {run.name}")
                for step, entries in row.get("fitted", {}).items():
                    expect.equal(
                        fitted_of(run, int(step)),
                        wanted_fitted(entries),
                        f"step_reports[{step}].fitted_columns",
                    )

        body.__doc__ = f"Golden vector: {row['id'].replace('-', ' ')}"
        CASES.case(PROCESSING, f"golden.{row['id']}", "DAT-128", *row["requirements"])(body)


def _register_validation_errors() -> None:
    for row in VECTORS["validation_errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client, processing = DatasetClient(ctx), ProcessingClient(ctx)
            with client.scratch() as name:
                version = client.write(name, input_table("wide"))
                request = pb.ValidatePipelineRequest(
                    input_version=version.name, pipeline=pipeline(row["steps"])
                )
                metadata = {"step_index": str(row["step_index"])}
                if "column" in row:
                    metadata["column"] = row["column"]
                expect.rejects(
                    lambda: processing.call("ValidatePipeline", request),
                    INVALID,
                    row["reason"],
                    field=row["field"],
                    metadata=metadata,
                )

        body.__doc__ = f"ValidatePipeline, {row['id'].replace('-', ' ')}: {row['reason']}"
        requirements = ["DAT-094", *row.get("requirements", []), "DAT-002"]
        CASES.case(PROCESSING, f"validate.errors.{row['id']}", *requirements)(body)


_register_golden()
_register_validation_errors()


# --- validation -----------------------------------------------------------------------------


@CASES.case(
    PROCESSING, "validate.schemas-per-step-and-fingerprint", "DAT-092", "DAT-093", "DAT-004"
)
def validate_schemas(ctx: CaseContext) -> None:
    """ValidatePipeline through a tag returns the canonical input version, the schema after
    each step, the last as output_schema (the input's for no step) and the SHA-256 of the
    pipeline's deterministic encoding; it creates no run and no version."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    steps = pipeline(
        [
            {"select_columns": {"columns": ["b", "a"]}},
            {
                "derive_column": {
                    "column": "twice",
                    "expression": {
                        "call": {
                            "function": "FUNCTION_MULTIPLY",
                            "arguments": [{"column": "a"}, {"literal": {"int64_value": 2}}],
                        }
                    },
                }
            },
            {"rename_columns": {"renames": [{"old_name": "b", "new_name": "label"}]}},
            {"anonymize": {"columns": [{"column": "a", "hash": {"salt": "s"}}]}},
        ]
    )
    wanted = [
        [("b", "string"), ("a", "int64")],
        [("b", "string"), ("a", "int64"), ("twice", "int64")],
        [("label", "string"), ("a", "int64"), ("twice", "int64")],
        [("label", "string"), ("a", "string"), ("twice", "int64")],
    ]
    with client.scratch() as name:
        version = client.write(name, rows(3), tags=["input"])
        response = processing.validate(f"{name}/tags/input", steps)
        expect.equal(response.input_version, version.name, "input_version")
        got = [[(f.name, f.type) for f in s.fields] for s in response.step_output_schemas]
        expect.equal(got, wanted, "step_output_schemas")
        expect.equal(response.output_schema, response.step_output_schemas[-1], "output_schema")
        expect.equal(
            (response.pipeline_fingerprint.algorithm, response.pipeline_fingerprint.hex),
            (SHA256, fingerprint(steps)),
            "pipeline_fingerprint (algorithm, hex)",
        )
        empty = processing.validate(version.name, pipeline([]))
        expect.equal(list(empty.step_output_schemas), [], "step_output_schemas of no step")
        expect.equal(
            [(f.name, f.type) for f in empty.output_schema.fields],
            [(f.name, f.type) for f in version.schema.fields],
            "output_schema of no step",
        )
        expect.equal(empty.pipeline_fingerprint.hex, fingerprint(pipeline([])), "fingerprint")
        expect.equal(client.dataset(name).version_count, 1, "versions after ValidatePipeline")
        expect.equal(runs_of(processing, version.name), [], "runs after ValidatePipeline")
        expect.rejects(
            lambda: processing.call(
                "ValidatePipeline",
                pb.ValidatePipelineRequest(input_version=f"{name}/tags/absent", pipeline=steps),
            ),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(PROCESSING, "validate.at-most-1000-steps", "DAT-097", "DAT-002")
def too_many_steps(ctx: CaseContext) -> None:
    """A pipeline of 1000 steps validates; one of 1001 steps is INVALID_FIELD on
    pipeline.steps."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        step = {"drop_nulls": {}}
        accepted = processing.validate(version.name, pipeline([step] * 1000))
        expect.equal(len(accepted.step_output_schemas), 1000, "schemas of 1000 steps")
        request = pb.ValidatePipelineRequest(
            input_version=version.name, pipeline=pipeline([step] * 1001)
        )
        expect.rejects(
            lambda: processing.call("ValidatePipeline", request),
            INVALID,
            "INVALID_FIELD",
            field="pipeline.steps",
        )


@CASES.case(PROCESSING, "validate.cast-type-strings-accepted", "DAT-098", "DAT-116")
def cast_types_accepted(ctx: CaseContext) -> None:
    """Every string of the cast type grammar within its ranges is accepted, and the cast
    column's Field.type is that string, in ValidatePipeline and in the run's output."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    accepted = VECTORS["cast_types"]["accepted"]
    columns = [f"c{i}" for i in range(len(accepted))]
    table = pa.Table.from_arrays(
        [pa.nulls(2, vector_tables.arrow_type(t)) for t in accepted], names=columns
    )
    steps = pipeline(
        [
            {
                "cast_columns": {
                    "casts": [
                        {"column": c, "type": t} for c, t in zip(columns, accepted, strict=True)
                    ]
                }
            }
        ]
    )
    wanted = list(zip(columns, accepted, strict=True))
    with client.scratch() as name:
        version = client.write(name, table)
        response = processing.validate(version.name, steps)
        expect.equal(
            [(f.name, f.type) for f in response.output_schema.fields], wanted, "cast columns"
        )
        run = processing.succeeded(version.name, steps)
        output = client.version(run.output_version)
        expect.equal([(f.name, f.type) for f in output.schema.fields], wanted, "output columns")


@CASES.case(PROCESSING, "validate.cast-type-strings-rejected", "DAT-098", "DAT-002")
def cast_types_rejected(ctx: CaseContext) -> None:
    """Another spelling, extra spaces, nested and non-scalar types, decimals out of range and
    unknown or malformed time zones are INVALID_FIELD on the cast's type."""
    client, processing = DatasetClient(ctx), ProcessingClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        for text in VECTORS["cast_types"]["rejected"]:
            steps = pipeline([{"cast_columns": {"casts": [{"column": "a", "type": text}]}}])
            request = pb.ValidatePipelineRequest(input_version=version.name, pipeline=steps)
            try:
                expect.rejects(
                    lambda request=request: processing.call("ValidatePipeline", request),
                    INVALID,
                    "INVALID_FIELD",
                    field="pipeline.steps[0].cast_columns.casts[0].type",
                    metadata={"step_index": "0"},
                )
            except Failed as failure:
                raise Failed(f"{failure.wanted} for the type {text!r}", failure.got) from None
