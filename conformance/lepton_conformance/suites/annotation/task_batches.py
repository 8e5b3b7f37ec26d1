"""annotation-core cases of BatchCreateAnnotationTasks: the rows it selects and skips
(ANN-015), its refusals (ANN-016), its progress stream (ANN-017, ANN-018), a broken stream
resumed by repeating it (ANN-019) and batches over a later version (ANN-054)."""

from __future__ import annotations

import contextlib
import itertools
import time
from typing import Any

import pyarrow as pa

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    INVALID,
    OUT_OF_RANGE,
    standard_project,
)
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient, label_specs
from lepton_conformance.suites.annotation.annotation_data import (
    ALL_TEXTS,
    TEXTS,
    own_dataset,
    shared_data,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
BIG_ROWS = 2100  # more than two progress intervals of 1000 rows (ANN-018)
SETTLE_S = 60.0


def batch(parent: str, **fields: Any) -> pb.BatchCreateAnnotationTasksRequest:
    return pb.BatchCreateAnnotationTasksRequest(parent=parent, **fields)


def check_stream(responses: list[Any], total: int, rows: list[int], existing: int) -> list[Any]:
    """ANN-017: cumulative counts that never decrease, `total` distinct rows, every created
    task once in ascending row order, and a last response that accounts for every row.
    Returns the created tasks."""
    expect.holds(bool(responses), "at least one response", "none")
    previous = (0, 0, 0)
    created = []
    for response in responses:
        counts = (response.processed_row_count, response.created_count, response.existing_count)
        expect.holds(
            all(a >= b for a, b in zip(counts, previous, strict=True)),
            "(processed_row_count, created_count, existing_count) never decreasing",
            f"{previous} then {counts}",
        )
        expect.equal(response.total_row_count, total, "total_row_count of every response")
        previous = counts
        created += list(response.created_tasks)
    last = responses[-1]
    expect.equal(
        (last.processed_row_count, last.created_count, last.existing_count),
        (total, len(rows), existing),
        "(processed_row_count, created_count, existing_count) of the last response",
    )
    expect.equal([t.row_index for t in created], rows, "the created tasks' rows, in order")
    expect.equal(len({t.name for t in created}), len(created), "each created task once")
    return created


@CASES.case(CORE, "batches.create-the-selected-rows-and-skip-existing", "ANN-015", "ANN-017")
def batch_rows(ctx: CaseContext) -> None:
    """Listed rows (duplicates ignored), a range and every row each get tasks with the
    request's assignee and labels, in ascending order, skipping rows that have one."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data)
        parent = project.name
        client.create_task(parent, 1)
        listed = batch(
            parent,
            row_index_list=pb.RowIndexList(row_indices=[3, 1, 1, 0, 3]),
            assignee="batch@example.com",
            labels={"wave": "one"},
        )
        created = check_stream(client.call("BatchCreateAnnotationTasks", listed), 3, [0, 3], 1)
        for task in created:
            expect.equal(
                (task.name, task.assignee, dict(task.labels), task.state, task.row),
                (f"{parent}/tasks/row-{task.row_index}", "batch@example.com", {"wave": "one"},
                 1, b""),
                "(name, assignee, labels, state, row) of a created task",
            )  # fmt: skip
        ranged = batch(parent, row_range=pb.RowRange(offset=2, limit=2))
        check_stream(client.call("BatchCreateAnnotationTasks", ranged), 2, [2], 1)
        to_end = batch(parent, row_range=pb.RowRange(offset=4))
        check_stream(client.call("BatchCreateAnnotationTasks", to_end), 2, [4, 5], 0)
        everything = client.call("BatchCreateAnnotationTasks", batch(parent))
        check_stream(everything, len(TEXTS), [], len(TEXTS))
        fresh = standard_project(client, data)
        whole = client.call("BatchCreateAnnotationTasks", batch(fresh.name))
        check_stream(whole, len(TEXTS), list(range(len(TEXTS))), 0)
        expect.equal(
            [t.name for t in client.tasks(fresh.name)],
            [f"{fresh.name}/tasks/row-{i}" for i in range(len(TEXTS))],
            "the tasks of a batch of every row",
        )
        at_end = batch(parent, row_range=pb.RowRange(offset=len(TEXTS)))
        check_stream(client.call("BatchCreateAnnotationTasks", at_end), 0, [], 0)


@CASES.case(CORE, "batches.refuse-bad-selections-creating-nothing", "ANN-016", "ANN-002")
def batch_refusals(ctx: CaseContext) -> None:
    """An empty or too long list, a negative index, offset or limit are INVALID_FIELD; an
    index or offset past the version OFFSET_OUT_OF_RANGE; none creates a task."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        parent = standard_project(client, data).name
        rows = len(TEXTS)
        indices = "row_index_list.row_indices"
        refusals = [
            (pb.RowIndexList(row_indices=[]), None, INVALID, "INVALID_FIELD", indices),
            (pb.RowIndexList(row_indices=list(range(100001))), None, INVALID, "INVALID_FIELD",
             indices),
            (pb.RowIndexList(row_indices=[0, -1]), None, INVALID, "INVALID_FIELD", indices),
            (pb.RowIndexList(row_indices=[0, rows]), None, OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE",
             None),
            (None, pb.RowRange(offset=-1), INVALID, "INVALID_FIELD", "row_range.offset"),
            (None, pb.RowRange(limit=-1), INVALID, "INVALID_FIELD", "row_range.limit"),
            (None, pb.RowRange(offset=rows + 1), OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE", None),
        ]  # fmt: skip
        for listed, ranged, code, reason, field in refusals:
            request = batch(parent)
            if listed is not None:
                request.row_index_list.CopyFrom(listed)
            else:
                request.row_range.CopyFrom(ranged)
            expect.rejects(
                lambda request=request: client.call("BatchCreateAnnotationTasks", request),
                code,
                reason,
                field=field,
            )
            expect.equal(client.tasks(parent), [], f"tasks after a refused batch ({reason})")


@CASES.case(CORE, "batches.over-a-later-version", "ANN-054", "ANN-015")
def batch_growth(ctx: CaseContext) -> None:
    """A batch with a later version's dataset_version creates `{version}-row-{i}` tasks of
    that version's rows (row_range.offset the earlier row count) and leaves the earlier
    tasks as they were; another dataset's version is INVALID_FIELD."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        parent = standard_project(client, data).name
        check_stream(client.call("BatchCreateAnnotationTasks", batch(parent)), len(TEXTS),
                     list(range(len(TEXTS))), 0)  # fmt: skip
        before = client.tasks(parent)
        grow = batch(parent, dataset_version=data.second, row_range=pb.RowRange(offset=len(TEXTS)))
        appended = list(range(len(TEXTS), len(ALL_TEXTS)))
        created = check_stream(client.call("BatchCreateAnnotationTasks", grow), len(appended),
                               appended, 0)  # fmt: skip
        expect.equal(
            [(t.name, t.dataset_version) for t in created],
            [(f"{parent}/tasks/{data.second_id}-row-{i}", data.second) for i in appended],
            "(name, dataset_version) of the grown tasks",
        )
        after = client.tasks(parent)
        expect.equal(after[: len(before)], before, "the earlier tasks, unchanged and first")
        by_tag = batch(parent, dataset_version=data.second_tag, row_range=pb.RowRange(offset=6))
        check_stream(client.call("BatchCreateAnnotationTasks", by_tag), len(appended), [],
                     len(appended))  # fmt: skip
        foreign = batch(parent, dataset_version=data.other)
        expect.rejects(
            lambda: client.call("BatchCreateAnnotationTasks", foreign),
            INVALID,
            "INVALID_FIELD",
            field="dataset_version",
        )
        past = batch(parent, dataset_version=data.second,
                     row_index_list=pb.RowIndexList(row_indices=[len(ALL_TEXTS)]))  # fmt: skip
        expect.rejects(
            lambda: client.call("BatchCreateAnnotationTasks", past),
            OUT_OF_RANGE,
            "OFFSET_OUT_OF_RANGE",
        )


def settled(client: AnnotationClient, parent: str) -> list[Any]:
    """The project's tasks once their number has stopped changing for a second: a server
    may finish work of a cancelled stream after the client has left it."""
    tasks, deadline = client.tasks(parent, page_size=1000), time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        time.sleep(1.0)
        again = client.tasks(parent, page_size=1000)
        if len(again) == len(tasks):
            return again
        tasks = again
    raise Failed("the tasks of a cancelled batch to stop growing", f"{len(tasks)} and counting")


def _big_project(client: AnnotationClient, version: str) -> str:
    specs = label_specs([{"name": "caption", "kind": "LABEL_KIND_TEXT"}])
    return client.create_project(version, specs).name


@CASES.case(CORE, "batches.progress-at-least-every-1000-rows", "ANN-018")
def batch_progress(ctx: CaseContext) -> None:
    """A batch of 2100 rows sends a response at least every 1000 processed rows."""
    table = pa.table({"n": pa.array(range(BIG_ROWS), pa.int64())})
    with own_dataset(ctx, table) as (_, version), AnnotationClient(ctx) as client:
        parent = _big_project(client, version)
        responses = client.call("BatchCreateAnnotationTasks", batch(parent), ctx.timeout * 12)
        check_stream(responses, BIG_ROWS, list(range(BIG_ROWS)), 0)
        processed = [0] + [r.processed_row_count for r in responses]
        steps = [b - a for a, b in itertools.pairwise(processed)]
        expect.holds(max(steps) <= 1000, "at most 1000 rows between responses", str(steps))


@CASES.case(CORE, "batches.broken-stream-resumes-by-repeating", "ANN-019", "ANN-017", "ANN-021")
def batch_resume(ctx: CaseContext) -> None:
    """Tasks created before a client cancels a batch remain; repeating it creates exactly
    the missing ones; ListAnnotationTasks then pages them by 100 by default, in row order."""
    table = pa.table({"n": pa.array(range(BIG_ROWS), pa.int64())})
    with own_dataset(ctx, table) as (_, version), AnnotationClient(ctx) as client:
        parent = _big_project(client, version)
        stream = client.stream("BatchCreateAnnotationTasks", batch(parent), ctx.timeout * 12)
        with contextlib.suppress(StopIteration):
            next(stream)
        stream.cancel()
        kept = {t.row_index for t in settled(client, parent)}
        responses = client.call("BatchCreateAnnotationTasks", batch(parent), ctx.timeout * 12)
        missing = [i for i in range(BIG_ROWS) if i not in kept]
        check_stream(responses, BIG_ROWS, missing, len(kept))
        page = client.ok("ListAnnotationTasks", pb.ListAnnotationTasksRequest(parent=parent))
        expect.equal(len(page.annotation_tasks), 100, "tasks on a default page")
        everything = client.tasks(parent, page_size=1000)
        expect.equal(
            [t.row_index for t in everything], list(range(BIG_ROWS)), "every row's task once"
        )
