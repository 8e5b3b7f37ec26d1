"""annotation-core cases of annotation export jobs that succeed (feature
`data.annotation.export_jobs`): one version committed to the destination, OVERWRITE on its
head, with the columns, types, metadata and values of §3.6, the export lineage, description
and tags (ANN-047, ANN-050); the rows each selection and each set of task states chooses
(ANN-048, ANN-049); never a prediction (ANN-037)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import schema
from lepton_conformance.suites.annotation.annotation_client import (
    COMPLETED,
    NEW,
    AnnotationClient,
    unique_id,
)
from lepton_conformance.suites.annotation.annotation_data import FIRST_ROWS, shared_data
from lepton_conformance.suites.annotation.annotation_jobs import EXPORT, check_progress
from lepton_conformance.suites.annotation.export_setup import (
    ALL,
    ANNOTATION_TYPES,
    LABEL_TYPES,
    LATEST,
    PREFER,
    Annotated,
    annotated_project,
    check_label_fields,
    committed,
    destination,
    expected_row,
    export_job,
    run_export,
)
from lepton_conformance.suites.annotation.profiles import CORE
from lepton_conformance.suites.data.dataset_client import DatasetClient

CASES = CaseList()
SOURCES = FIRST_ROWS.column_names


def check_rows(table: pa.Table, wanted: list[dict[str, Any]], what: str) -> None:
    """The exported rows, in order, are exactly `wanted`."""
    got = table.to_pylist()
    expect.equal(
        [row.get("annotation.task") for row in got],
        [row["annotation.task"] for row in wanted],
        f"the tasks of the rows of {what}, in order",
    )
    for i, (row, expected) in enumerate(zip(got, wanted, strict=True)):
        differ = sorted(k for k in {*row, *expected} if row.get(k, "?") != expected.get(k, "?"))
        expect.holds(
            not differ,
            f"row {i} of {what} as §3.6 says",
            "; ".join(
                f"{k}: {row.get(k, '(no column)')!r}, wanted {expected.get(k)!r}" for k in differ
            ),
        )


def _chosen(made: Annotated, roles: dict[int, list[str | None]], sources: list[str]) -> list:
    """The expected rows: for each row index in order, one row per role (None: nulls)."""
    rows = []
    for row, names in sorted(roles.items()):
        for role in names:
            annotation = made.annotations[role] if role else None
            rows.append(expected_row(made.tasks[row], annotation, sources))
    return rows


@CASES.case(
    CORE,
    "exports.commit-one-version-with-the-columns-of-the-spec",
    "ANN-047",
    "ANN-048",
    "ANN-050",
    "ANN-037",
)
def columns(ctx: CaseContext) -> None:
    """An export of COMPLETED tasks commits one OVERWRITE version on the destination's head
    holding the source columns, the annotation columns and a label.<name> column per label,
    typed and described as §3.6 says, one row per task in row order with its ground-truth
    annotation (or nulls), never a prediction; lineage ANNOTATION_EXPORT naming the job and
    the versions of the rows, the job's description and tags; output_version and
    written_row_count report it."""
    EXPORT.require(ctx)
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client, destination(client) as (dataset, before):
        made = annotated_project(client, data)
        datasets = DatasetClient(ctx)
        head = datasets.dataset(dataset)
        job_id = unique_id("ex")
        request = export_job(
            dataset,
            description="annotations of the conformance suite",
            tags=["exported", "fresh"],
            labels={"suite": "conformance"},
        )
        final = run_export(client, made.project.name, request, job_id)
        expect.equal(final.name, f"{made.project.name}/exportJobs/{job_id}", "the job's name")
        version, table = committed(client, final)
        wanted = _chosen(
            made,
            {0: ["truth"], 1: ["empty"], 2: [None], 4: ["accepted"], 6: ["appended"]},
            SOURCES,
        )
        expect.equal(
            (final.output_version, final.written_row_count, version.row_count),
            (version.name, len(wanted), len(wanted)),
            "(output_version, written_row_count, row_count of the version)",
        )
        check_progress(final, len(wanted))
        expect.equal(
            (version.write_mode, version.parent_version),
            (resources.WRITE_MODE_OVERWRITE, before.name),
            "(write_mode, parent_version) of the committed version",
        )
        expect.equal(
            (version.lineage.origin, version.lineage.source, list(version.lineage.input_versions)),
            (resources.VERSION_ORIGIN_ANNOTATION_EXPORT, final.name, [data.first, data.second]),
            "(origin, source, input_versions) of the version's lineage",
        )
        expect.equal(
            (version.description, sorted(version.tags)),
            ("annotations of the conformance suite", ["exported", "fresh"]),
            "(description, tags) of the version",
        )
        after = datasets.dataset(dataset)
        expect.equal(
            (after.head_version, after.version_count),
            (version.name, head.version_count + 1),
            "(head_version, version_count) of the destination",
        )
        expect.equal(list(datasets.version(before.name).tags), [], "tags of the earlier head")
        source_types = [(f.name, str(f.type)) for f in FIRST_ROWS.schema]
        label_types = [(f"label.{s['name']}", LABEL_TYPES[s["kind"]]) for s in schema()]
        expect.equal(
            [(f.name, str(f.type)) for f in table.schema],
            source_types + ANNOTATION_TYPES + label_types,
            "the columns of the exported version and their types",
        )
        expect.equal(
            [f.name for f in table.schema if not f.nullable], [], "columns that are not nullable"
        )
        check_label_fields(table)
        check_rows(table, wanted, "the export")


def _export_rows(
    client: AnnotationClient, made: Annotated, dataset: str, **fields: Any
) -> pa.Table:
    final = run_export(client, made.project.name, export_job(dataset, **fields))
    return committed(client, final)[1]


@CASES.case(
    CORE,
    "exports.selections-and-task-states-choose-the-rows",
    "ANN-048",
    "ANN-049",
    "ANN-050",
    "ANN-037",
)
def selections(ctx: CaseContext) -> None:
    """PREFER_GROUND_TRUTH takes a task's newest ground-truth annotation, LATEST its newest
    (by update_time) and ALL every one in creation order; skipped annotations never, and
    predictions never, count; a task without an eligible annotation gives a row of nulls
    except with ALL; task_states selects the states (COMPLETED when empty); source_columns
    selects and orders the source columns."""
    EXPORT.require(ctx)
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client, destination(client) as (dataset, _):
        made = annotated_project(client, data)
        sources = ["note", "n"]
        common = {"source_columns": sources}
        prefer = {0: ["truth"], 1: ["empty"], 2: [None], 4: ["accepted"], 6: ["appended"]}
        runs = [
            ("PREFER_GROUND_TRUTH", {"selection": PREFER}, prefer),
            ("LATEST", {"selection": LATEST}, {**prefer, 0: ["late"]}),
            (
                "ALL",
                {"selection": ALL},
                {0: ["truth", "late"], 1: ["empty", "bird"], 4: ["accepted"], 6: ["appended"]},
            ),
            (
                "PREFER_GROUND_TRUTH of NEW and COMPLETED tasks",
                {"selection": PREFER, "task_states": [NEW, COMPLETED]},
                {**prefer, 3: [None], 5: [None]},
            ),
            (
                "LATEST of NEW tasks",
                {"selection": LATEST, "task_states": [NEW]},
                {3: [None], 5: [None]},
            ),
            ("ALL of NEW tasks", {"selection": ALL, "task_states": [NEW]}, {}),
        ]
        for what, fields, roles in runs:
            table = _export_rows(client, made, dataset, **common, **fields)
            expect.equal(
                table.column_names[:2], sources, f"the first columns of the export of {what}"
            )
            check_rows(table, _chosen(made, roles, sources), f"the export of {what}")
