"""annotation-core case of ListAnnotationTasks: its default and requested orders, pages and
every filter field with its operators (ANN-021)."""

from __future__ import annotations

from typing import Any

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as task_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import INVALID, standard_project
from lepton_conformance.suites.annotation.annotation_client import (
    VALIDATION_STAGE,
    AnnotationClient,
    classification,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Task = task_pb.AnnotationTask


def _rows(client: AnnotationClient, parent: str, **fields: Any) -> list[int]:
    return [t.row_index for t in client.tasks(parent, **fields)]


@CASES.case(CORE, "tasks.list-orders-pages-and-filters", "ANN-021", "ANN-002")
def list_tasks(ctx: CaseContext) -> None:
    """ListAnnotationTasks orders by row_index (or create_time, update_time, desc), pages
    by page_size, and filters on state, stage, assignee, row_index, the counts,
    dataset_version and labels; other fields, operators and orders are refused."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        parent = standard_project(client, data).name
        # Created out of row order, so create_time order differs from row order.
        for row in (3, 0, 5, 1, 4, 2):
            client.create_task(
                parent, row, assignee="a@x" if row % 2 else "", labels={"odd": str(row % 2)}
            )
        grown = client.create_task(parent, 7, dataset_version=data.second)
        names = {t.row_index: t.name for t in client.tasks(parent)}
        client.annotate(names[1], [classification("animal", "cat")])
        client.annotate(names[1], [classification("animal", "dog")])
        client.annotate(names[4], skipped=True)
        client.predict(names[5], [classification("animal", "cat")])
        client.update_task(Task(name=names[2], stage=VALIDATION_STAGE), "stage")
        expect.equal(_rows(client, parent), [0, 1, 2, 3, 4, 5, 7], "the default order")
        expect.equal(_rows(client, parent, page_size=2), [0, 1, 2, 3, 4, 5, 7], "pages of 2")
        expect.equal(
            _rows(client, parent, order_by="row_index desc"),
            [7, 5, 4, 3, 2, 1, 0],
            "row_index desc",
        )
        expect.equal(
            _rows(client, parent, order_by="create_time"), [3, 0, 5, 1, 4, 2, 7], "create_time"
        )
        expect.equal(
            _rows(client, parent, order_by="create_time desc", page_size=3),
            [7, 2, 4, 1, 5, 0, 3],
            "create_time desc",
        )
        by_update = sorted(
            client.tasks(parent), key=lambda t: (t.update_time.ToNanoseconds(), t.row_index)
        )
        expect.equal(
            _rows(client, parent, order_by="update_time"),
            [t.row_index for t in by_update],
            "update_time",
        )
        filters = [
            ("state = NEW", [0, 2, 3, 5, 7]),
            ("state = TASK_STATE_IN_PROGRESS", [1, 4]),
            ("state != NEW", [1, 4]),
            ("stage = VALIDATION", [2]),
            ("stage != ANNOTATION", [2]),
            ('assignee = "a@x"', [1, 3, 5]),
            ('assignee = ""', [0, 2, 4, 7]),
            ('assignee != "a@x"', [0, 2, 4, 7]),
            ("row_index >= 3 AND row_index < 5", [3, 4]),
            ("row_index != 0 AND row_index <= 2", [1, 2]),
            ("annotation_count = 2", [1]),
            ("annotation_count > 0", [1, 4]),
            ("annotator_count >= 1", [1, 4]),
            ("prediction_count = 1", [5]),
            (f'dataset_version = "{data.first}"', [0, 1, 2, 3, 4, 5]),
            (f'dataset_version != "{data.first}"', [7]),
            ('labels.odd = "1"', [1, 3, 5]),
            ('labels.odd != "1"', [0, 2, 4, 7]),
        ]
        for expression, rows in filters:
            expect.equal(
                _rows(client, parent, filter=expression), rows, f"tasks of filter {expression!r}"
            )
        expect.equal(grown.row_index, 7, "the grown task's row")
        _refusals(client, parent)


@CASES.case(CORE, "tasks.list-ties-by-name", "ANN-021", "ANN-054")
def ties(ctx: CaseContext) -> None:
    """Tasks of two versions share row indexes; the default order puts them by row_index,
    then by name."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        parent = standard_project(client, data).name
        made = [
            client.create_task(parent, 3, dataset_version=data.second),
            client.create_task(parent, 3),
            client.create_task(parent, 0, dataset_version=data.second),
            client.create_task(parent, 0),
        ]
        wanted = [t.name for t in sorted(made, key=lambda t: (t.row_index, t.name))]
        for page_size in (0, 1):
            listed = [t.name for t in client.tasks(parent, page_size=page_size)]
            expect.equal(listed, wanted, f"tasks by row_index, then name (page_size {page_size})")


def _refusals(client: AnnotationClient, parent: str) -> None:
    for field, fields, reason in (
        ("filter", {"filter": 'name = "x"'}, "INVALID_FILTER"),
        ("filter", {"filter": "state = DONE"}, "INVALID_FILTER"),
        ("filter", {"filter": "state = UNSPECIFIED"}, "INVALID_FILTER"),
        ("filter", {"filter": "state > NEW"}, "INVALID_FILTER"),
        ("filter", {"filter": 'row_index = "1"'}, "INVALID_FILTER"),
        ("filter", {"filter": 'dataset_version > "x"'}, "INVALID_FILTER"),
        ("order_by", {"order_by": "name"}, "INVALID_FIELD"),
        ("order_by", {"order_by": "row_index sideways"}, "INVALID_FIELD"),
        ("page_size", {"page_size": -1}, "INVALID_FIELD"),
        ("page_token", {"page_token": "garbage"}, "INVALID_PAGE_TOKEN"),
    ):
        request = pb.ListAnnotationTasksRequest(parent=parent, **fields)
        expect.rejects(
            lambda request=request: client.call("ListAnnotationTasks", request),
            INVALID,
            reason,
            field=field,
        )
