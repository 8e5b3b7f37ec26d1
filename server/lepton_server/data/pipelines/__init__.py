"""The pipeline engine: checks a declarative pipeline against a schema and runs it on a table.

A pipeline (proto/lepton/data/v1/pipeline.proto) is an ordered list of typed steps; spec/data.md
§6 fixes what each step accepts and what it computes. Everything here is plain pyarrow and
protobuf: no gRPC, no storage. Errors are the domain errors of `lepton_server.runtime.errors`:
INVALID_ARGUMENT (COLUMN_NOT_FOUND, SCHEMA_MISMATCH, INVALID_FIELD) from validation, with
ErrorInfo metadata `step_index` and one field violation; FAILED_PRECONDITION (CAST_FAILED,
ARITHMETIC_OVERFLOW) from data met during a run.

Each step is compiled once against the schema it receives into a Plan (`plans`): its output
schema and a function from table to table. `validate` compiles and discards (`compilation`);
`run` compiles against the table's own schema and applies the plans (`execution`), so the two
can never disagree about types. The step compilers live in `steps`, one module per family;
predicates, expressions, casts, literals and statistics are what they are built from.
"""

from __future__ import annotations

from lepton_server.data.pipelines.compilation import (
    MAX_STEPS,
    fingerprint,
    step_output_schemas,
    validate,
)
from lepton_server.data.pipelines.execution import PipelineCancelled, RunResult, run

__all__ = [
    "MAX_STEPS",
    "PipelineCancelled",
    "RunResult",
    "fingerprint",
    "run",
    "step_output_schemas",
    "validate",
]
