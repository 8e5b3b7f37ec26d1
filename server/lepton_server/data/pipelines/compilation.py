"""A pipeline checked against a schema (spec/data.md §6.1): compiled step by step into Plans,
each against the schema the step before it produces; the output schemas validation reports;
and the pipeline's fingerprint (§6.5)."""

from __future__ import annotations

import hashlib

import pyarrow as pa

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.arrow_types import check_supported, decode_dictionaries
from lepton_server.data.pipelines.plans import FieldPath, Plan
from lepton_server.data.pipelines.steps import STEP_COMPILERS
from lepton_server.runtime.errors import invalid_argument

# The most steps a pipeline may have (DAT-097); processing checks requests against it too.
MAX_STEPS = 1000


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
    return [plan.output_schema for plan in compile_pipeline(pipeline, schema, field_path)]


def compile_pipeline(pipeline: pb.Pipeline, schema: pa.Schema, field_path: str) -> list[Plan]:
    """The Plan of every step of `pipeline`, in order, each compiled against the schema the
    step before it produces; raises the InvalidArgument of the first step that does not fit."""
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
        path = FieldPath(index, f"{field_path}.steps[{index}]")
        kind = step.WhichOneof("kind")
        if kind is None:
            raise path.invalid("exactly one step kind must be set")
        plan = STEP_COMPILERS[kind](getattr(step, kind), schema, path.field(kind))
        plans.append(plan)
        schema = plan.output_schema
    return plans
