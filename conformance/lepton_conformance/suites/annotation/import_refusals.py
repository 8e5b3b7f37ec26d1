"""annotation-core cases of the imports ImportAnnotations refuses (ANN-072): a file that is not
UTF-8 JSON of its format, a result that does not fit the label schema (named by its place in
the file), an unknown match column, a COCO import without a match column or with a label of
another kind. Each refusal leaves the project's tasks, annotations and predictions exactly
as they were, also when the file's earlier items matched rows that had no task."""

from __future__ import annotations

from typing import Any

import grpc

from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import INVALID, task_summary
from lepton_conformance.suites.annotation.annotation_client import (
    AnnotationClient,
    classification,
)
from lepton_conformance.suites.annotation.annotation_data import own_dataset
from lepton_conformance.suites.annotation.import_files import (
    COCO,
    LABEL_STUDIO,
    ROWS,
    choices,
    coco_file,
    import_project,
    import_request,
    ls_annotation,
    ls_task,
    rectangle,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
# (what, format, content, request fields, code, reason, field the violation names or None)
Refusal = tuple[str, int, Any, dict[str, Any], grpc.StatusCode, str, str | None]
MATCH = {"match_column": "file", "match_key": "image"}


def _valid_task(task_id: int, image: str) -> dict[str, Any]:
    """A Label Studio task that fits the schema and matches a row without a task."""
    annotation = ls_annotation([choices("animal", "cat"), rectangle(10, 10, 20, 20, "dog")], 1)
    prediction = {"model_version": "v1", "score": 0.5, "result": [choices("animal", "dog")]}
    return ls_task(task_id, image, [annotation], [prediction])


def _state(client: AnnotationClient, project: Any) -> tuple[Any, ...]:
    """What an import may change: every task, annotation and prediction of the project."""
    every = f"{project.name}/tasks/-"
    return (
        [task_summary(t) for t in client.tasks(project.name)],
        client.annotations(every),
        client.predictions(every),
    )


def _check_refusals(ctx: CaseContext, refusals: list[Refusal]) -> None:
    with (
        own_dataset(ctx, ROWS) as (_, version),
        AnnotationClient(ctx) as client,
    ):
        project = import_project(client, version)
        task = client.create_task(project.name, 3)
        client.annotate(task.name, [classification("animal", "dog")])
        client.predict(task.name, [classification("animal", "cat")], score=0.5)
        before = _state(client, project)
        for what, format_, content, fields, code, reason, field in refusals:
            request = import_request(project.name, format_, content, **fields)
            expect.rejects(
                lambda request=request: client.call("ImportAnnotations", request),
                code,
                reason,
                field=field,
            )
            expect.equal(
                _state(client, project),
                before,
                f"the project's tasks, annotations and predictions after {what}",
            )


@CASES.case(CORE, "imports.refuses-files-that-do-not-parse", "ANN-072")
def parse_refusals(ctx: CaseContext) -> None:
    """Bytes that are not UTF-8, text that is not JSON, and JSON that is not a Label Studio
    export (an object) or a COCO file (an array) are INVALID_ARGUMENT [IMPORT_PARSE_ERROR]
    and change nothing."""
    _check_refusals(
        ctx,
        [
            ("bytes that are not UTF-8", LABEL_STUDIO, b"\xff\xfe[]", MATCH, INVALID,
             "IMPORT_PARSE_ERROR", None),
            ("text that is not JSON", LABEL_STUDIO, b"[{not json", MATCH, INVALID,
             "IMPORT_PARSE_ERROR", None),
            ("a JSON object as a Label Studio export", LABEL_STUDIO, {"tasks": []}, MATCH,
             INVALID, "IMPORT_PARSE_ERROR", None),
            ("a JSON array as a COCO file", COCO, [1, 2],
             {"match_column": "file", "label": "box"}, INVALID, "IMPORT_PARSE_ERROR", None),
        ],
    )  # fmt: skip


@CASES.case(CORE, "imports.schema-mismatch-stores-nothing-of-the-file", "ANN-072", "ANN-030")
def schema_refusals(ctx: CaseContext) -> None:
    """A result that does not fit the label schema — a class the label lacks, a from_name no
    label has, a box leaving the image, a COCO box leaving the image — is INVALID_ARGUMENT
    [LABEL_SCHEMA_MISMATCH] with a violation naming the result (e.g.
    content[1].annotations[0].result[1]); the earlier items of the file, which matched rows
    without a task, leave no task, annotation or prediction behind."""
    zebra = ls_annotation([choices("animal", "cat"), choices("animal", "zebra")], 2)
    stranger = ls_annotation([rectangle(10, 10, 20, 20, "cat"), choices("colour", "red")], 2)
    outside = ls_annotation([rectangle(90.0, 10.0, 20.0, 20.0, "cat")], 2)
    first = _valid_task(1, "/data/upload/1/a.jpg")
    images = [(1, "a.jpg", 100, 100), (2, "b.jpg", 100, 100)]
    objects = [(1, 3, [10.0, 10.0, 20.0, 20.0], None), (2, 7, [90.0, 10.0, 20.0, 20.0], None)]
    coco = coco_file(images, objects)
    boxes = {"match_column": "file", "label": "box"}
    _check_refusals(
        ctx,
        [
            ("a class the label lacks", LABEL_STUDIO, [first, ls_task(2, "b.jpg", [zebra])],
             MATCH, INVALID, "LABEL_SCHEMA_MISMATCH", "content[1].annotations[0].result[1]"),
            ("a from_name no label has", LABEL_STUDIO, [first, ls_task(2, "b.jpg", [stranger])],
             MATCH, INVALID, "LABEL_SCHEMA_MISMATCH", "content[1].annotations[0].result[1]"),
            ("a box leaving the image", LABEL_STUDIO, [first, ls_task(2, "c.png", [outside])],
             MATCH, INVALID, "LABEL_SCHEMA_MISMATCH", "content[1].annotations[0].result[0]"),
            ("a COCO box leaving the image", COCO, coco, boxes, INVALID,
             "LABEL_SCHEMA_MISMATCH", None),
        ],
    )  # fmt: skip


@CASES.case(CORE, "imports.refuses-unknown-columns-and-coco-without-a-box-label", "ANN-072")
def request_refusals(ctx: CaseContext) -> None:
    """An unknown match_column is INVALID_ARGUMENT [COLUMN_NOT_FOUND]; a COCO import without
    match_column INVALID_FIELD; one whose label is not a BOUNDING_BOX or POLYGON label (or no
    label of the project) LABEL_SCHEMA_MISMATCH; none changes anything."""
    content = [_valid_task(1, "a.jpg")]
    coco = coco_file([(1, "a.jpg", 100, 100)], [(1, 3, [10.0, 10.0, 20.0, 20.0], None)])
    _check_refusals(
        ctx,
        [
            ("an unknown match_column", LABEL_STUDIO, content,
             {"match_column": "nope", "match_key": "image"}, INVALID, "COLUMN_NOT_FOUND", None),
            ("an unknown COCO match_column", COCO, coco, {"match_column": "nope", "label": "box"},
             INVALID, "COLUMN_NOT_FOUND", None),
            ("a COCO import without match_column", COCO, coco, {"label": "box"}, INVALID,
             "INVALID_FIELD", None),
            ("a COCO import into a CLASSIFICATION label", COCO, coco,
             {"match_column": "file", "label": "animal"}, INVALID, "LABEL_SCHEMA_MISMATCH",
             None),
            ("a COCO import into a label the project lacks", COCO, coco,
             {"match_column": "file", "label": "nope"}, INVALID, "LABEL_SCHEMA_MISMATCH", None),
        ],
    )  # fmt: skip
