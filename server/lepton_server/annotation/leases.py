"""Leases (spec/annotation.md §3.7, ANN-058 to ANN-061): AcquireNextTask hands the caller the
least confident task that still needs an annotator it has not had, under a lease that
expires; a caller holds one lease per project, renewed by acquiring again."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at
from lepton_server.aip.standard_fields import now_ns, timestamp
from lepton_server.annotation.annotation_store import AnnotationStore, TaskFacts
from lepton_server.annotation.projects import Projects, required_count
from lepton_server.annotation.task_states import COMPLETED
from lepton_server.annotation.tasks import Tasks, project_of, render
from lepton_server.runtime.errors import FailedPrecondition, invalid_field
from lepton_server.runtime.principals import current_principal

DEFAULT_LEASE_NS = 10 * 60 * 10**9
MAX_LEASE_NS = 24 * 3600 * 10**9


def lease_ns(duration: Duration) -> int:
    ns = duration.ToNanoseconds()
    if ns < 0 or ns > MAX_LEASE_NS:
        raise invalid_field("lease_duration", "a lease lasts up to 24 hours")
    return ns or DEFAULT_LEASE_NS


class Leases:
    """Who works on which task."""

    def __init__(self, store: AnnotationStore, projects: Projects, tasks: Tasks) -> None:
        self.store = store
        self.projects = projects
        self.tasks = tasks

    def acquire(self, request: pb.AcquireNextTaskRequest) -> pb.AcquireNextTaskResponse:
        duration = lease_ns(request.lease_duration)
        caller = current_principal()
        with self.store.atomic():
            project = self.projects.stored(request.parent, "parent")
            now = now_ns()
            held = self.store.lease_of(project.name, caller, now)
            chosen = held[0] if held else self._next(project.name, required_count(project), now)
            if chosen is None:
                return pb.AcquireNextTaskResponse()
            expire = now + duration
            self.store.put_lease(project.name, caller, chosen, now, expire)
        return pb.AcquireNextTaskResponse(
            annotation_task=self.tasks.get(chosen), lease_expire_time=timestamp(expire)
        )

    def _next(self, project: str, required: int, now: int) -> str | None:
        """The task §3.7 picks for the caller, or None."""
        caller = current_principal()
        facts = self.store.task_facts(project, now)
        creators = self.store.creators_by_task(project)
        best: tuple | None = None
        for task in self.store.tasks(project):
            if task.stage != at.TASK_STAGE_ANNOTATION or task.state == COMPLETED:
                continue
            fact = facts.get(task.name, TaskFacts())
            if caller in creators.get(task.name, ()):
                continue
            others = sum(1 for holder, _ in fact.leases if holder != caller)
            if fact.annotator_count + others >= required:
                continue
            score = fact.prediction_score
            key = (score is None, score or 0.0, task.row_index, task.name)
            if best is None or key < best:
                best = key
        return best[3] if best else None

    def release(self, name: str) -> at.AnnotationTask:
        caller = current_principal()
        with self.store.atomic():
            task = self.tasks.stored(name)
            held = self.store.lease_of(project_of(task.name), caller, now_ns())
            if held is None or held[0] != task.name:
                raise FailedPrecondition(
                    reason="LEASE_NOT_HELD",
                    message=f"the caller holds no lease on {task.name}",
                    metadata={"resource_name": task.name},
                )
            self.store.end_lease(task.name, caller)
        return render(self.tasks.stored(name), self.store.facts_of(name, now_ns()))
