"""`Task`: an annotation task as the SDK hands it out, with its row decoded to a one-row
pyarrow.Table; and how a selection of rows becomes a BatchCreateAnnotationTasks request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as tasks

AnnotationTask = tasks.AnnotationTask
# Rows of a version: a range (step 1 becomes a row range), indexes, or None for every row.
Rows = range | Iterable[int] | None


@dataclass(frozen=True)
class Task:
    """One task: `message` is the AnnotationTask as the server returned it, `row` its row as
    a one-row pyarrow.Table (None when the read returned no row, as lists do by default),
    and `lease_expire_time` when the caller's lease ends (tasks from `acquire_next_task`).
    Every field of the message reads as an attribute: `task.row_index`, `task.state`, ..."""

    message: AnnotationTask
    row: pa.Table | None = None
    lease_expire_time: datetime | None = None

    @classmethod
    def of(cls, message: AnnotationTask, lease_expire_time: datetime | None = None) -> Task:
        """The task of `message`, its row decoded when it carries one."""
        row = pa.ipc.open_stream(message.row).read_all() if message.row else None
        return cls(message, row, lease_expire_time)

    @property
    def name(self) -> str:
        return self.message.name

    def __getattr__(self, name: str) -> Any:
        # Only the message's fields and methods: never dunders (copy, pickle), never before
        # `message` is set.
        message = self.__dict__.get("message")
        if message is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(message, name)

    def __repr__(self) -> str:
        state = tasks.TaskState.Name(self.message.state).removeprefix("TASK_STATE_")
        return f"Task({self.message.name!r}, row_index={self.message.row_index}, state={state})"


TaskRef = str | AnnotationTask | Task


def task_name(task: TaskRef) -> str:
    """The resource name of a task given by name, message or Task."""
    return task if isinstance(task, str) else task.name


def with_rows(request: pb.BatchCreateAnnotationTasksRequest, rows: Rows) -> int | None:
    """Select `rows` in `request`; the number of rows selected when known here."""
    if rows is None:
        return None
    if isinstance(rows, range) and rows.step == 1:
        if rows.start < 0 or len(rows) == 0:
            raise ValueError(f"a row range must start at 0 or later and hold a row: {rows}")
        request.row_range.CopyFrom(pb.RowRange(offset=rows.start, limit=len(rows)))
        return len(rows)
    indexes = sorted(set(rows))
    request.row_index_list.CopyFrom(pb.RowIndexList(row_indices=indexes))
    return len(indexes)
