"""The task lifecycle of spec/annotation.md §3.3: the allowed explicit transitions, and the
check every state change goes through (ANN-023, ANN-024)."""

from __future__ import annotations

from lepton.data.v1 import annotation_task_pb2 as at
from lepton_server.runtime.errors import FailedPrecondition

NEW, IN_PROGRESS = at.TASK_STATE_NEW, at.TASK_STATE_IN_PROGRESS
COMPLETED, REJECTED = at.TASK_STATE_COMPLETED, at.TASK_STATE_REJECTED
ALLOWED = {
    NEW: {IN_PROGRESS, COMPLETED},
    IN_PROGRESS: {NEW, COMPLETED},
    COMPLETED: {IN_PROGRESS, REJECTED},
    REJECTED: {IN_PROGRESS},
}


def state_name(state: int) -> str:
    return at.TaskState.Name(state).removeprefix("TASK_STATE_")


def check_transition(current: int, target: int, annotation_count: int) -> None:
    """FAILED_PRECONDITION when `target` is not reachable from `current` (INVALID_TASK_TRANSITION,
    metadata from/to) or is COMPLETED for a task without annotations (TASK_HAS_NO_ANNOTATIONS).
    Staying in the current state is always allowed."""
    if target == current:
        return
    if target not in ALLOWED[current]:
        raise FailedPrecondition(
            reason="INVALID_TASK_TRANSITION",
            message=f"a task cannot go from {state_name(current)} to {state_name(target)}",
            metadata={"from": state_name(current), "to": state_name(target)},
        )
    if target == COMPLETED and annotation_count == 0:
        raise FailedPrecondition(
            reason="TASK_HAS_NO_ANNOTATIONS",
            message="a task without annotations cannot be COMPLETED",
        )
