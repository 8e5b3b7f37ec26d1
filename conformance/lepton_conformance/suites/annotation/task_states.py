"""annotation-core cases of task updates and states: masks and etags (ANN-022), the table of
explicit transitions (ANN-023), completion without annotations (ANN-024), stage changes
(ANN-025) and the automatic transitions (ANN-026)."""

from __future__ import annotations

from typing import Any

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as task_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    ABORTED,
    FAILED_PRECONDITION,
    INVALID,
    STALE_ETAG,
    TABLES,
    project_with_tasks,
    unchanged,
)
from lepton_conformance.suites.annotation.annotation_client import (
    ACCEPTANCE_STAGE,
    ANNOTATION_STAGE,
    COMPLETED,
    IN_PROGRESS,
    NEW,
    REJECTED,
    VALIDATION_STAGE,
    AnnotationClient,
    classification,
    mask,
    state_name,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Task = task_pb.AnnotationTask
STATES = (NEW, IN_PROGRESS, COMPLETED, REJECTED)
ALLOWED = {
    task_pb.TaskState.Value(state): {task_pb.TaskState.Value(to) for to in targets}
    for state, targets in TABLES["transitions"].items()
}


def _update(client: AnnotationClient, task: Task, *paths: str) -> Task:
    request = pb.UpdateAnnotationTaskRequest(annotation_task=task, update_mask=mask(*paths))
    return client.call("UpdateAnnotationTask", request).annotation_task


def bring_to(client: AnnotationClient, name: str, state: int) -> Task:
    """The task `name`, with one annotation, brought to `state` along allowed changes."""
    client.annotate(name, [classification("animal", "cat")])
    if state == NEW:
        return client.set_state(name, NEW)
    if state in (COMPLETED, REJECTED):
        client.set_state(name, COMPLETED)
    if state == REJECTED:
        client.set_state(name, REJECTED)
    return client.task(name, task_pb.ANNOTATION_TASK_VIEW_BASIC)


def check_transition_metadata(error: Any, current: int, to: int) -> None:
    """ErrorInfo metadata from and to name the two states: as the enum value name or as the
    name without its prefix (§3.3's table), one form for both."""
    info = expect.error_info(error)
    got = dict(info.metadata) if info is not None else {}
    full = {"from": state_name(current), "to": state_name(to)}
    short = {k: v.removeprefix("TASK_STATE_") for k, v in full.items()}
    pair = {k: got.get(k) for k in ("from", "to")}
    expect.holds(pair in (full, short), f"ErrorInfo metadata {short} (or {full})", str(got))


def refused_transition(client: AnnotationClient, task: Task, to: int, current: int) -> None:
    """Setting `to` is FAILED_PRECONDITION [INVALID_TASK_TRANSITION] with metadata from and
    to, and changes nothing."""
    error = expect.rejects(
        lambda: _update(client, Task(name=task.name, state=to), "state"),
        FAILED_PRECONDITION,
        "INVALID_TASK_TRANSITION",
    )
    check_transition_metadata(error, current, to)
    unchanged(
        task, client.task(task.name), f"the task after {state_name(current)} -> {state_name(to)}"
    )


@CASES.case(CORE, "states.explicit-transitions-follow-the-table", "ANN-023")
def transitions(ctx: CaseContext) -> None:
    """From each state, UpdateAnnotationTask reaches exactly the states of §3.3's table;
    setting the current state succeeds without a change; the others are
    INVALID_TASK_TRANSITION with metadata from and to, changing nothing."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        for current in STATES:
            _, tasks = project_with_tasks(client, data, len(STATES))
            for task, to in zip(tasks, STATES, strict=True):
                before = bring_to(client, task.name, current)
                expect.equal(before.state, current, "the state the task was brought to")
                if to in ALLOWED[current] or to == current:
                    after = expect.succeeds(
                        lambda task=task, to=to: _update(
                            client, Task(name=task.name, state=to), "state"
                        ),
                        f"{state_name(current)} -> {state_name(to)}",
                    )
                    expect.equal(
                        state_name(after.state),
                        state_name(to),
                        f"the state after {state_name(current)} -> {state_name(to)}",
                    )
                else:
                    refused_transition(client, before, to, current)
        (task,) = project_with_tasks(client, data, 1)[1]
        expect.rejects(
            lambda: _update(client, Task(name=task.name), "state"),
            INVALID,
            "INVALID_FIELD",
            field="annotation_task.state",
        )


@CASES.case(CORE, "states.completing-needs-an-annotation", "ANN-024")
def completing(ctx: CaseContext) -> None:
    """Completing a NEW or IN_PROGRESS task without annotations is FAILED_PRECONDITION
    [TASK_HAS_NO_ANNOTATIONS] and changes nothing; a skipped annotation is enough."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (fresh, started, skipped) = project_with_tasks(client, data, 3)
        client.set_state(started.name, IN_PROGRESS)
        for task in (fresh, started):
            before = client.task(task.name)
            expect.rejects(
                lambda task=task: _update(client, Task(name=task.name, state=COMPLETED), "state"),
                FAILED_PRECONDITION,
                "TASK_HAS_NO_ANNOTATIONS",
            )
            unchanged(before, client.task(task.name), "the task after the refusal")
        client.annotate(skipped.name, skipped=True)
        done = client.set_state(skipped.name, COMPLETED)
        expect.equal(
            state_name(done.state), state_name(COMPLETED), "state with a skipped annotation"
        )


@CASES.case(CORE, "states.stage-change-resets-the-state", "ANN-025", "ANN-023", "ANN-024")
def stage_changes(ctx: CaseContext) -> None:
    """A stage change alone resets the state to NEW; with a state it applies the transition
    from NEW, with its errors."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task, bare) = project_with_tasks(client, data, 2)
        client.annotate(task.name, [classification("animal", "dog")])
        moved = _update(client, Task(name=task.name, stage=VALIDATION_STAGE), "stage")
        expect.equal(
            (moved.stage, moved.state),
            (VALIDATION_STAGE, NEW),
            "(stage, state) after a stage change",
        )
        both = Task(name=task.name, stage=ACCEPTANCE_STAGE, state=IN_PROGRESS)
        moved = _update(client, both, "stage", "state")
        expect.equal(
            (moved.stage, moved.state),
            (ACCEPTANCE_STAGE, IN_PROGRESS),
            "(stage, state) with a state",
        )
        done = _update(
            client, Task(name=task.name, stage=ANNOTATION_STAGE, state=COMPLETED), "stage", "state"
        )
        expect.equal(
            (done.stage, done.state), (ANNOTATION_STAGE, COMPLETED), "(stage, state) completed"
        )
        error = expect.rejects(
            lambda: _update(
                client,
                Task(name=task.name, stage=VALIDATION_STAGE, state=REJECTED),
                "stage",
                "state",
            ),
            FAILED_PRECONDITION,
            "INVALID_TASK_TRANSITION",
        )
        check_transition_metadata(error, NEW, REJECTED)
        unchanged(done, client.task(task.name), "the task after a refused stage change")
        before = client.task(bare.name)
        expect.rejects(
            lambda: _update(
                client,
                Task(name=bare.name, stage=VALIDATION_STAGE, state=COMPLETED),
                "stage",
                "state",
            ),
            FAILED_PRECONDITION,
            "TASK_HAS_NO_ANNOTATIONS",
        )
        unchanged(before, client.task(bare.name), "the task without annotations")


@CASES.case(CORE, "states.annotations-move-new-and-rejected-tasks", "ANN-026")
def automatic(ctx: CaseContext) -> None:
    """CreateAnnotation moves NEW and REJECTED to IN_PROGRESS and leaves IN_PROGRESS and
    COMPLETED; updating or deleting annotations and creating or deleting predictions change
    no state."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, tasks = project_with_tasks(client, data, 4)
        for task, start, after in zip(
            tasks, STATES, (IN_PROGRESS, IN_PROGRESS, COMPLETED, IN_PROGRESS), strict=True
        ):
            bring_to(client, task.name, start)
            client.annotate(task.name, [classification("animal", "bird")])
            expect.equal(
                state_name(client.task(task.name).state),
                state_name(after),
                f"the state after an annotation of a {state_name(start)} task",
            )
        completed = tasks[2].name
        fresh = project_with_tasks(client, data, 1)[1][0].name
        for name, state in ((completed, COMPLETED), (fresh, NEW)):
            prediction = client.predict(name, [classification("animal", "cat")])
            client.ok("DeletePrediction", pb.DeletePredictionRequest(name=prediction.name))
            expect.equal(
                state_name(client.task(name).state), state_name(state), "state after predictions"
            )
        for annotation in client.annotations(completed):
            change = annotation.__class__(
                name=annotation.name, skipped=False, results=[classification("animal", "dog")]
            )
            client.ok(
                "UpdateAnnotation",
                pb.UpdateAnnotationRequest(annotation=change, update_mask=mask("results")),
            )
            client.ok("DeleteAnnotation", pb.DeleteAnnotationRequest(name=annotation.name))
        expect.equal(
            state_name(client.task(completed).state),
            state_name(COMPLETED),
            "state after annotation changes",
        )


@CASES.case(CORE, "states.update-changes-exactly-the-masked-fields", "ANN-022")
def update_task(ctx: CaseContext) -> None:
    """UpdateAnnotationTask changes the masked fields only (empty mask: the non-empty ones;
    `*`: every mutable one) with a new etag and update_time, refuses other paths on
    update_mask and a stale etag with ETAG_MISMATCH."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        task = client.update_task(
            Task(name=task.name, assignee="a@example.com", labels={"k": "v"}), "assignee", "labels"
        )
        only = client.update_task(
            Task(name=task.name, assignee="b@example.com", labels={"x": "y"}), "assignee"
        )
        expect.equal(
            (only.assignee, dict(only.labels)), ("b@example.com", {"k": "v"}), "(assignee, labels)"
        )
        expect.holds(
            only.etag != task.etag
            and only.update_time.ToNanoseconds() > task.update_time.ToNanoseconds(),
            "a new etag and a later update_time",
            f"etag {only.etag!r}, update_time {only.update_time.ToJsonString()}",
        )
        implicit = client.update_task(Task(name=task.name, labels={"z": "1"}))
        expect.equal(
            (implicit.assignee, dict(implicit.labels), implicit.state, implicit.stage),
            ("b@example.com", {"z": "1"}, NEW, ANNOTATION_STAGE),
            "(assignee, labels, state, stage) after an empty mask",
        )
        whole = Task(
            name=task.name,
            stage=ANNOTATION_STAGE,
            state=NEW,
            image_geometry=task_pb.ImageGeometry(width=4, height=3, orientation=1),
        )
        everything = client.update_task(whole, "*")
        expect.equal(
            (everything.assignee, dict(everything.labels), everything.image_geometry.width),
            ("", {}, 4),
            "(assignee, labels, image_geometry.width) after `*`",
        )
        for path in (
            "row_index",
            "dataset_version",
            "name",
            "annotation_count",
            "leases",
            "colour",
        ):
            expect.rejects(
                lambda path=path: _update(
                    client, Task(name=task.name, row_index=2, assignee="c"), "assignee", path
                ),
                INVALID,
                "INVALID_FIELD",
                field="update_mask",
            )
        stale = Task(name=task.name, assignee="d@example.com", etag=STALE_ETAG)
        expect.rejects(lambda: _update(client, stale, "assignee"), ABORTED, "ETAG_MISMATCH")
        unchanged(everything, client.task(task.name), "the task after refused updates")
        fresh = Task(name=task.name, assignee="e@example.com", etag=everything.etag)
        expect.equal(
            _update(client, fresh, "assignee").assignee, "e@example.com", "assignee with the etag"
        )
