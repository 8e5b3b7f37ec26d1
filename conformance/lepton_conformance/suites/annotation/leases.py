"""annotation-core cases of AcquireNextTask and leases: which tasks qualify (ANN-058), least
confident first (ANN-059), renewal (ANN-060), release, expiry and annotation ending a lease
(ANN-061), and overlap between principals (ANN-057, ANN-058). Cases of more than one principal
need --annotator-token (principals.py); the expiry cases wait out a lease of about a second."""

from __future__ import annotations

import time
from typing import Any

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as task_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    FAILED_PRECONDITION,
    INVALID,
    not_found,
    project_with_tasks,
)
from lepton_conformance.suites.annotation.annotation_client import (
    COMPLETED,
    VALIDATION_STAGE,
    AnnotationClient,
    classification,
    seconds,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.principals import annotators, check_creator
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Task = task_pb.AnnotationTask
SHORT_S = 1.0  # a lease the expiry cases wait out
WAIT_S = SHORT_S + 0.6
DEFAULT_S = 600.0


def acquired(client: AnnotationClient, parent: str, lease_s: float | None = None) -> str | None:
    """The name of the task AcquireNextTask leases the caller, or None; checks the shape of
    the answer (ANN-058)."""
    response = client.acquire(parent, lease_s)
    has_task, has_time = (
        response.HasField("annotation_task"),
        response.HasField("lease_expire_time"),
    )
    expect.equal(has_task, has_time, "annotation_task and lease_expire_time set together")
    return response.annotation_task.name if has_task else None


def sequence(client: AnnotationClient, parent: str, count: int) -> list[str | None]:
    """Acquire, annotate the leased task (ending the lease) and repeat: the order tasks come."""
    order = []
    for _ in range(count):
        name = acquired(client, parent)
        order.append(name)
        if name is not None:
            client.annotate(name, [classification("animal", "cat")])
    return order


def release(client: AnnotationClient, name: str) -> Any:
    return client.call("ReleaseTaskLease", pb.ReleaseTaskLeaseRequest(name=name))


@CASES.case(
    CORE, "leases.acquire-returns-the-full-task-with-the-lease", "ANN-058", "ANN-060", "ANN-057"
)
def acquire_shape(ctx: CaseContext) -> None:
    """AcquireNextTask returns the task in the FULL view with one lease of the caller whose
    expire_time is lease_expire_time, 10 minutes by default; acquiring again renews that
    lease (same task, lease_duration after the call), never adding a second one."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, _ = project_with_tasks(client, data, 2)
        started = time.monotonic()
        first = client.acquire(project.name)
        task = first.annotation_task
        expect.equal(task.name, f"{project.name}/tasks/row-0", "the task leased")
        expect.holds(bool(task.row), "the FULL view (with its row)", "an empty row")
        expect.equal(len(task.leases), 1, "leases of the leased task")
        check_creator(ctx, task.leases[0].holder, "the lease's holder")
        expect.equal(task.leases[0].expire_time, first.lease_expire_time, "the lease's expire_time")
        renewed = client.acquire(project.name, 3 * DEFAULT_S)
        elapsed = time.monotonic() - started
        expect.equal(renewed.annotation_task.name, task.name, "the task a renewal returns")
        expect.equal(len(renewed.annotation_task.leases), 1, "leases after a renewal")
        # Skew-free: both times are the server's, lease_duration after each call.
        gained = (
            renewed.lease_expire_time.ToNanoseconds() - first.lease_expire_time.ToNanoseconds()
        ) / 1e9
        expect.holds(
            2 * DEFAULT_S - 1 <= gained <= 2 * DEFAULT_S + elapsed + 1,
            "a renewal of 30 minutes to end about 20 minutes after a default lease of 10 "
            f"(within {elapsed + 1:.1f} s)",
            f"{gained:.3f} s later",
        )
        expect.equal(
            client.task(task.name).leases,
            renewed.annotation_task.leases,
            "the leases GetAnnotationTask lists",
        )
        for bad in (-1.0, 24 * 3600 + 1.0):
            request = pb.AcquireNextTaskRequest(parent=project.name, lease_duration=seconds(bad))
            expect.rejects(
                lambda request=request: client.call("AcquireNextTask", request),
                INVALID,
                "INVALID_FIELD",
                field="lease_duration",
            )
        missing = f"{project.name}-missing"
        not_found(
            lambda: client.call("AcquireNextTask", pb.AcquireNextTaskRequest(parent=missing)),
            missing,
        )


@CASES.case(CORE, "leases.only-tasks-that-need-the-caller", "ANN-058", "ANN-061")
def eligibility(ctx: CaseContext) -> None:
    """AcquireNextTask skips tasks out of stage ANNOTATION and tasks the caller annotated,
    hands out the others, and answers with neither field when none is left."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, tasks = project_with_tasks(client, data, 4)
        client.update_task(Task(name=tasks[0].name, stage=VALIDATION_STAGE), "stage")
        client.annotate(tasks[1].name, skipped=True)
        expect.equal(
            sequence(client, project.name, 3),
            [tasks[2].name, tasks[3].name, None],
            "the tasks handed out",
        )


@CASES.case(CORE, "leases.least-confident-first", "ANN-059", "ANN-057", "ANN-061")
def least_confident(ctx: CaseContext) -> None:
    """Tasks with predictions come first by ascending prediction_score (the highest score of
    a task's predictions), ties by row_index, then tasks without one in row order."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, tasks = project_with_tasks(client, data, 6)
        names = [t.name for t in tasks]
        for row, scores in ((1, [0.9]), (2, [0.2, 0.7]), (4, [0.2]), (3, [0.2])):
            for score in scores:
                client.predict(names[row], [classification("animal", "dog")], score=score)
        expect.equal(
            client.task(names[2]).prediction_score, 0.7, "prediction_score of two predictions"
        )
        wanted = [names[3], names[4], names[2], names[1], names[0], names[5], None]
        expect.equal(sequence(client, project.name, 7), wanted, "the order tasks are handed out")


@CASES.case(CORE, "leases.release-ends-the-lease", "ANN-061")
def release_lease(ctx: CaseContext) -> None:
    """ReleaseTaskLease ends the caller's lease (no longer listed); releasing again, or a
    task never leased, is FAILED_PRECONDITION [LEASE_NOT_HELD]; a missing task NOT_FOUND;
    creating an annotation ends the creator's lease."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (leased, other) = project_with_tasks(client, data, 2)
        expect.equal(acquired(client, project.name), leased.name, "the task leased")
        released = expect.succeeds(
            lambda: release(client, leased.name), "ReleaseTaskLease"
        ).annotation_task
        expect.equal(
            (released.name, list(released.leases)),
            (leased.name, []),
            "(name, leases) after a release",
        )
        for name in (leased.name, other.name):
            expect.rejects(
                lambda name=name: release(client, name), FAILED_PRECONDITION, "LEASE_NOT_HELD"
            )
        missing = f"{project.name}/tasks/row-999"
        not_found(lambda: release(client, missing), missing)
        expect.equal(acquired(client, project.name), leased.name, "the released task, leased again")
        client.annotate(leased.name, [classification("animal", "cat")])
        expect.equal(list(client.task(leased.name).leases), [], "leases after the holder annotates")
        expect.rejects(lambda: release(client, leased.name), FAILED_PRECONDITION, "LEASE_NOT_HELD")


@CASES.case(CORE, "leases.expire-at-their-time", "ANN-061", "ANN-057")
def expiry(ctx: CaseContext) -> None:
    """A lease of 1 s is listed until it expires and not after; its task is then no longer
    held (LEASE_NOT_HELD)."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (task,) = project_with_tasks(client, data, 1)
        expect.equal(acquired(client, project.name, SHORT_S), task.name, "the task leased")
        expect.equal(len(client.task(task.name).leases), 1, "leases before expiry")
        time.sleep(WAIT_S)
        expect.equal(list(client.task(task.name).leases), [], "leases after expiry")
        expect.rejects(lambda: release(client, task.name), FAILED_PRECONDITION, "LEASE_NOT_HELD")


@CASES.case(CORE, "leases.overlap-between-principals", "ANN-058", "ANN-057", "ANN-060", "GEN-014")
def overlap(ctx: CaseContext) -> None:
    """With required_annotation_count 2, two principals lease the same task (leases oldest
    first, one per holder) and a third gets none; annotator_count counts distinct creators;
    an annotated or COMPLETED task is not handed out."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as owner:
        first, second = annotators(owner, 2)
        project, tasks = project_with_tasks(owner, data, 3, required_annotation_count=2)
        owner.annotate(tasks[1].name, [classification("animal", "cat")])
        owner.set_state(tasks[1].name, COMPLETED)
        owner.annotate(tasks[2].name, [classification("animal", "cat")])
        owner.annotate(tasks[2].name, [classification("animal", "dog")])
        expect.equal(acquired(first, project.name), tasks[0].name, "the first principal's task")
        expect.equal(acquired(second, project.name), tasks[0].name, "the second principal's task")
        # Oldest first: the first principal's lease, then the second's (before any renewal).
        holders = [lease.holder for lease in owner.task(tasks[0].name).leases]
        expect.equal(len(holders), 2, "leases of the shared task")
        expect.equal(acquired(first, project.name), tasks[0].name, "the first principal's renewal")
        renewed = [lease.holder for lease in owner.task(tasks[0].name).leases]
        expect.equal(sorted(renewed), sorted(holders), "the holders after a renewal")
        expect.equal(
            acquired(owner, project.name), None, "a third principal's task (both places leased)"
        )
        first.annotate(tasks[0].name, [classification("animal", "cat")])
        second.annotate(tasks[0].name, [classification("animal", "dog")])
        shared = owner.task(tasks[0].name)
        expect.equal(
            (shared.annotator_count, list(shared.leases)), (2, []), "(annotator_count, leases)"
        )
        expect.equal(
            owner.task(tasks[2].name).annotator_count, 1, "annotator_count of one creator's two"
        )
        creators = [a.creator for a in owner.annotations(tasks[0].name)]
        expect.equal(holders, creators, "the lease holders, oldest first: the two creators")
        # tasks[2] needs one more annotator and the first has none on it; tasks[1] is done.
        expect.equal(acquired(first, project.name), tasks[2].name, "the task still needing one")
        expect.equal(acquired(second, project.name), None, "nothing left for the second")


@CASES.case(CORE, "leases.expired-lease-frees-the-place", "ANN-061", "ANN-058")
def expired_place(ctx: CaseContext) -> None:
    """An unexpired lease of another holder fills a place of required_annotation_count; once
    it expires the place is free again."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as owner:
        (other,) = annotators(owner, 1)
        project, (task,) = project_with_tasks(owner, data, 1)
        expect.equal(
            acquired(other, project.name, SHORT_S), task.name, "the other principal's lease"
        )
        expect.equal(acquired(owner, project.name), None, "a task while its one place is leased")
        time.sleep(WAIT_S)
        expect.equal(acquired(owner, project.name), task.name, "the task after the lease expired")
        released = expect.succeeds(
            lambda: release(owner, task.name), "ReleaseTaskLease"
        ).annotation_task
        expect.equal(list(released.leases), [], "leases after the owner's release")
