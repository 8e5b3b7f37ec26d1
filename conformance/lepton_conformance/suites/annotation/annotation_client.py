"""A client of lepton.data.v1.AnnotationService for the annotation profile: calls made with one
principal's credential, projects that delete themselves (with force) when the case ends, tasks,
annotations and predictions built from compact JSON results, and listings read whole. Written
apart from any server, from the contract and spec/annotation.md only."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import duration_pb2, json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from lepton.data.v1 import annotation_pb2, annotation_project_pb2, annotation_task_pb2
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.target import bearer
from lepton_conformance.suites.data.dataset_client import walk_pages

SERVICE = pb.DESCRIPTOR.services_by_name["AnnotationService"].full_name
_METHODS = pb.DESCRIPTOR.services_by_name["AnnotationService"].methods_by_name

NEW = annotation_task_pb2.TASK_STATE_NEW
IN_PROGRESS = annotation_task_pb2.TASK_STATE_IN_PROGRESS
COMPLETED = annotation_task_pb2.TASK_STATE_COMPLETED
REJECTED = annotation_task_pb2.TASK_STATE_REJECTED
ANNOTATION_STAGE = annotation_task_pb2.TASK_STAGE_ANNOTATION
VALIDATION_STAGE = annotation_task_pb2.TASK_STAGE_VALIDATION
ACCEPTANCE_STAGE = annotation_task_pb2.TASK_STAGE_ACCEPTANCE
BASIC = annotation_task_pb2.ANNOTATION_TASK_VIEW_BASIC
FULL = annotation_task_pb2.ANNOTATION_TASK_VIEW_FULL
ACCEPTED_VERDICT = annotation_pb2.REVIEW_VERDICT_ACCEPTED
REJECTED_VERDICT = annotation_pb2.REVIEW_VERDICT_REJECTED
# DAT-010: the form of a server-assigned id.
SERVER_ID = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"


def state_name(state: int) -> str:
    return annotation_task_pb2.TaskState.Name(state)


def unique_id(prefix: str = "conf") -> str:
    """A fresh AIP-122 id, so that runs never collide."""
    return f"{prefix}-{secrets.token_hex(4)}"


def label_specs(rows: Sequence[dict[str, Any]]) -> list[annotation_project_pb2.LabelSpec]:
    """LabelSpecs from their JSON form (vectors)."""
    return [json_format.ParseDict(row, annotation_project_pb2.LabelSpec()) for row in rows]


def results(rows: Sequence[dict[str, Any]]) -> list[annotation_pb2.LabelResult]:
    """LabelResults from their JSON form, e.g. {"label": "animal", "classification":
    {"className": "cat"}}."""
    return [json_format.ParseDict(row, annotation_pb2.LabelResult()) for row in rows]


def classification(label: str, class_name: str) -> annotation_pb2.LabelResult:
    return annotation_pb2.LabelResult(
        label=label, classification=annotation_pb2.ClassificationValue(class_name=class_name)
    )


def seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(value * 1e9))
    return duration


def mask(*paths: str) -> FieldMask:
    return FieldMask(paths=list(paths))


class AnnotationClient:
    """AnnotationService calls with one credential (the run's --token unless `token` is
    given) and the case's deadline. In a `with` block, the projects it created are deleted
    with force at the end."""

    def __init__(self, ctx: CaseContext, token: str | None = None) -> None:
        self.ctx = ctx
        self.metadata = ctx.metadata if token is None else bearer(token)
        self.created: list[str] = []

    def __enter__(self) -> AnnotationClient:
        return self

    def __exit__(self, *_: object) -> None:
        for name in self.created:
            with contextlib.suppress(grpc.RpcError):
                self.call(
                    "DeleteAnnotationProject",
                    pb.DeleteAnnotationProjectRequest(name=name, force=True),
                )

    def acting_as(self, token: str) -> AnnotationClient:
        """A client of the same case calling with `token`; it deletes nothing."""
        return AnnotationClient(self.ctx, token)

    def call(self, rpc: str, request: Message, timeout: float | None = None) -> Any:
        """A unary call, or a server stream read to its end as a list."""
        method = _METHODS[rpc]
        factory = (
            self.ctx.channel.unary_stream
            if method.server_streaming
            else self.ctx.channel.unary_unary
        )
        stub = factory(
            f"/{SERVICE}/{rpc}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=getattr(pb, method.output_type.name).FromString,
        )
        answer = stub(request, metadata=self.metadata, timeout=timeout or self.ctx.timeout * 2)
        return list(answer) if method.server_streaming else answer

    def stream(self, rpc: str, request: Message, timeout: float | None = None) -> Any:
        """A server stream as its call object (iterate it; cancel it)."""
        stub = self.ctx.channel.unary_stream(
            f"/{SERVICE}/{rpc}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=getattr(pb, _METHODS[rpc].output_type.name).FromString,
        )
        return stub(request, metadata=self.metadata, timeout=timeout or self.ctx.timeout * 6)

    def ok(self, rpc: str, request: Message, timeout: float | None = None) -> Any:
        """`call`, which must succeed."""
        return expect.succeeds(lambda: self.call(rpc, request, timeout), rpc)

    def walk(self, rpc: str, request: Message) -> list[Any]:
        """Every item of a listing, following next_page_token."""
        return walk_pages(lambda page: self.call(rpc, page), rpc, request, limit=1000)

    # --- projects ---------------------------------------------------------------------------

    def create_project(
        self,
        dataset_version: str,
        specs: Sequence[dict[str, Any]] | Sequence[Message],
        project_id: str | None = None,
        **fields: Any,
    ) -> Any:
        """CreateAnnotationProject, which must succeed; the project (deleted at the end)."""
        specs = [s if isinstance(s, Message) else label_specs([s])[0] for s in specs]
        project_id = project_id or unique_id()
        request = pb.CreateAnnotationProjectRequest(
            annotation_project_id=project_id,
            annotation_project=annotation_project_pb2.AnnotationProject(
                dataset_version=dataset_version, label_specs=specs, **fields
            ),
        )
        self.created.append(f"annotationProjects/{project_id}")
        return self.ok("CreateAnnotationProject", request).annotation_project

    def project(self, name: str) -> Any:
        request = pb.GetAnnotationProjectRequest(name=name)
        return self.ok("GetAnnotationProject", request).annotation_project

    def update_project(self, project: Any, *paths: str) -> Any:
        request = pb.UpdateAnnotationProjectRequest(
            annotation_project=project, update_mask=mask(*paths)
        )
        return self.ok("UpdateAnnotationProject", request).annotation_project

    # --- tasks ------------------------------------------------------------------------------

    def create_task(self, parent: str, row_index: int, request_id: str = "", **fields: Any) -> Any:
        """CreateAnnotationTask, which must succeed; the task (BASIC view)."""
        request = pb.CreateAnnotationTaskRequest(
            parent=parent,
            annotation_task=annotation_task_pb2.AnnotationTask(row_index=row_index, **fields),
            request_id=request_id,
        )
        return self.ok("CreateAnnotationTask", request).annotation_task

    def create_tasks(self, parent: str, count: int) -> list[Any]:
        """The tasks of rows 0 to count - 1."""
        return [self.create_task(parent, i) for i in range(count)]

    def task(self, name: str, view: int = 0) -> Any:
        request = pb.GetAnnotationTaskRequest(name=name, view=view)
        return self.ok("GetAnnotationTask", request).annotation_task

    def tasks(self, parent: str, **fields: Any) -> list[Any]:
        return self.walk(
            "ListAnnotationTasks", pb.ListAnnotationTasksRequest(parent=parent, **fields)
        )

    def update_task(self, task: Any, *paths: str) -> Any:
        request = pb.UpdateAnnotationTaskRequest(annotation_task=task, update_mask=mask(*paths))
        return self.ok("UpdateAnnotationTask", request).annotation_task

    def set_state(self, name: str, state: int) -> Any:
        """UpdateAnnotationTask of `state` alone, which must succeed."""
        task = annotation_task_pb2.AnnotationTask(name=name, state=state)
        return self.update_task(task, "state")

    def acquire(self, parent: str, lease_s: float | None = None) -> Any:
        """AcquireNextTask, which must succeed; the response."""
        request = pb.AcquireNextTaskRequest(parent=parent)
        if lease_s is not None:
            request.lease_duration.CopyFrom(seconds(lease_s))
        return self.ok("AcquireNextTask", request)

    # --- annotations and predictions -------------------------------------------------------

    def annotate(
        self,
        task: str,
        found: Sequence[Message] | Sequence[dict[str, Any]] = (),
        request_id: str = "",
        **fields: Any,
    ) -> Any:
        """CreateAnnotation, which must succeed; the annotation."""
        items = [r if isinstance(r, Message) else results([r])[0] for r in found]
        request = pb.CreateAnnotationRequest(
            parent=task,
            annotation=annotation_pb2.Annotation(results=items, **fields),
            request_id=request_id,
        )
        return self.ok("CreateAnnotation", request).annotation

    def annotation(self, name: str) -> Any:
        return self.ok("GetAnnotation", pb.GetAnnotationRequest(name=name)).annotation

    def annotations(self, parent: str, **fields: Any) -> list[Any]:
        return self.walk("ListAnnotations", pb.ListAnnotationsRequest(parent=parent, **fields))

    def predict(
        self,
        task: str,
        found: Sequence[Message] | Sequence[dict[str, Any]] = (),
        *,
        score: float = 0.5,
        model: str = "conformance-model",
        version: str = "1",
        request_id: str = "",
    ) -> Any:
        """CreatePrediction, which must succeed; the prediction."""
        items = [r if isinstance(r, Message) else results([r])[0] for r in found]
        request = pb.CreatePredictionRequest(
            parent=task,
            prediction=annotation_pb2.Prediction(
                results=items, score=score, inference_model=model, inference_model_version=version
            ),
            request_id=request_id,
        )
        return self.ok("CreatePrediction", request).prediction

    def prediction(self, name: str) -> Any:
        return self.ok("GetPrediction", pb.GetPredictionRequest(name=name)).prediction

    def predictions(self, parent: str, **fields: Any) -> list[Any]:
        return self.walk("ListPredictions", pb.ListPredictionsRequest(parent=parent, **fields))

    def review(self, annotation: str, verdict: int, comment: str = "") -> Any:
        request = pb.CreateReviewRequest(
            parent=annotation, review=annotation_pb2.Review(verdict=verdict, comment=comment)
        )
        return self.ok("CreateReview", request).review


def request_id() -> str:
    """A fresh idempotency key (a UUID)."""
    return str(uuid.uuid4())
