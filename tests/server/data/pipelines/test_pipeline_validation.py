"""Pipeline validation, fingerprint and runs: field paths of the errors, the schema after
every step, step reports, progress and cancellation (spec/data.md §6.1, §6.5, DAT-092 to
DAT-107)."""

from __future__ import annotations

import hashlib

import pytest
from support.pipelines import PEOPLE, pipeline, validation_error

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data import pipelines
from lepton_server.data.pipelines import PipelineCancelled, fingerprint, run, validate
from lepton_server.data.table_digest import content_digest
from lepton_server.runtime.errors import InvalidArgument

# --- Fingerprint (§6.5, DAT-093) ---------------------------------------------------------------


def test_fingerprint_is_sha256_of_the_deterministic_serialization() -> None:
    p = pipeline('select_columns { columns: "id" }', "sample { count: 2 seed: 7 }")
    expected = hashlib.sha256(p.SerializeToString(deterministic=True)).hexdigest()
    assert fingerprint(p) == expected


def test_fingerprint_of_the_empty_pipeline_is_sha256_of_no_bytes() -> None:
    assert fingerprint(pb.Pipeline()) == hashlib.sha256(b"").hexdigest()


def test_fingerprint_changes_with_a_seed() -> None:
    assert fingerprint(pipeline("sample { count: 2 seed: 1 }")) != fingerprint(
        pipeline("sample { count: 2 seed: 2 }")
    )


def test_an_unknown_column_is_named_in_the_metadata() -> None:
    error = validation_error(PEOPLE, 'select_columns { columns: "nope" }')
    assert error.metadata == {"step_index": "0", "column": "nope"}


def test_field_paths_start_at_the_given_request_field() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate(pipeline("sample {}"), PEOPLE.schema, "pipeline_run.pipeline")
    assert caught.value.violations[0].field == "pipeline_run.pipeline.steps[0].sample"


def test_more_than_1000_steps_are_rejected_on_the_steps_field() -> None:
    error = validation_error(PEOPLE, *["drop_nulls {}"] * 1001)
    assert (error.reason, error.violations[0].field) == ("INVALID_FIELD", "pipeline.steps")


def test_validation_reports_the_output_schema_of_every_step() -> None:
    p = pipeline(
        'cast_columns { casts { column: "age" type: "decimal128(5, 1)" } }',
        'select_columns { columns: "age" columns: "id" }',
        'derive_column { column: "half" expression { call { function: FUNCTION_DIVIDE'
        ' arguments { column: "id" } arguments { literal { int64_value: 2 } } } } }',
    )
    schemas = pipelines.step_output_schemas(p, PEOPLE.schema)
    assert [str(s.field("age").type) for s in schemas[:2]] == ["decimal128(5, 1)"] * 2
    assert validate(p, PEOPLE.schema) == schemas[2]
    assert [(f.name, str(f.type)) for f in schemas[2]] == [
        ("age", "decimal128(5, 1)"),
        ("id", "int64"),
        ("half", "double"),
    ]


def test_an_empty_pipeline_returns_the_input_unchanged() -> None:
    result = run(pb.Pipeline(), PEOPLE)
    assert validate(pb.Pipeline(), PEOPLE.schema) == PEOPLE.schema
    assert content_digest(result.table) == content_digest(PEOPLE)
    assert result.step_reports == []


def test_run_validates_before_it_touches_data() -> None:
    with pytest.raises(InvalidArgument) as caught:
        run(pipeline('select_columns { columns: "nope" }'), PEOPLE)
    assert caught.value.reason == "COLUMN_NOT_FOUND"


# --- Runs: reports, progress, cancellation (DAT-104, DAT-107) --------------------------------


def test_step_reports_chain_row_counts() -> None:
    result = run(pipeline("drop_nulls {}", "sample { count: 1 }"), PEOPLE)
    counts = [(r.step_index, r.input_row_count, r.output_row_count) for r in result.step_reports]
    assert counts == [(0, 4, 2), (1, 2, 1)]


def test_progress_counts_finished_steps() -> None:
    calls: list[tuple[int, int]] = []
    run(pipeline("drop_nulls {}", "drop_nulls {}"), PEOPLE, on_progress=lambda *c: calls.append(c))
    assert calls == [(0, 2), (1, 2), (2, 2)]


def test_should_stop_cancels_between_steps() -> None:
    polls = iter([False, True])
    with pytest.raises(PipelineCancelled) as caught:
        run(pipeline("drop_nulls {}", "drop_nulls {}"), PEOPLE, should_stop=lambda: next(polls))
    assert caught.value.step_index == 1
