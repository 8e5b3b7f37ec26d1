"""annotation-core cases of the conventions the service shares with the data layer (ANN-002):
malformed names are INVALID_NAME, missing resources NOT_FOUND naming them, labels maps follow
GEN-056 and server-assigned ids the form of DAT-010."""

from __future__ import annotations

import re

from lepton.data.v1 import annotation_project_pb2 as project_pb
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as task_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    INVALID,
    not_found,
    project_with_tasks,
    schema,
)
from lepton_conformance.suites.annotation.annotation_client import (
    ACCEPTED_VERDICT,
    SERVER_ID,
    AnnotationClient,
    classification,
    label_specs,
    unique_id,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()


@CASES.case(CORE, "conventions.malformed-names-are-invalid-name", "ANN-002")
def malformed_names(ctx: CaseContext) -> None:
    """Get, List and Create requests whose name or parent does not match its pattern are
    INVALID_ARGUMENT [INVALID_NAME] on that field."""
    with AnnotationClient(ctx) as client:
        calls = [
            (
                "GetAnnotationProject",
                pb.GetAnnotationProjectRequest(name="annotationProjects/Bad_Id"),
                "name",
            ),
            ("GetAnnotationProject", pb.GetAnnotationProjectRequest(name="projects/p"), "name"),
            (
                "GetAnnotationTask",
                pb.GetAnnotationTaskRequest(name="annotationProjects/p/tasks"),
                "name",
            ),
            (
                "GetAnnotationTask",
                pb.GetAnnotationTaskRequest(name="annotationProjects/p/tasks/a/b"),
                "name",
            ),
            (
                "GetAnnotation",
                pb.GetAnnotationRequest(name="annotationProjects/p/tasks/row-0/annotations/"),
                "name",
            ),
            (
                "GetPrediction",
                pb.GetPredictionRequest(name="annotationProjects/p/tasks/row-0/notes/x"),
                "name",
            ),
            (
                "ListAnnotationTasks",
                pb.ListAnnotationTasksRequest(parent="annotationProjects/../x"),
                "parent",
            ),
            ("ListAnnotations", pb.ListAnnotationsRequest(parent="annotationProjects/p"), "parent"),
            ("CreateAnnotationTask", pb.CreateAnnotationTaskRequest(parent="datasets/d"), "parent"),
            (
                "ListReviews",
                pb.ListReviewsRequest(parent="annotationProjects/p/tasks/row-0"),
                "parent",
            ),
        ]
        for rpc, request, field in calls:
            expect.rejects(
                lambda rpc=rpc, request=request: client.call(rpc, request),
                INVALID,
                "INVALID_NAME",
                field=field,
            )


@CASES.case(CORE, "conventions.missing-resources-are-not-found", "ANN-002")
def missing_resources(ctx: CaseContext) -> None:
    """Well-formed names of missing projects, tasks, annotations, predictions and parents are
    NOT_FOUND [RESOURCE_NOT_FOUND] with metadata resource_name."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (task,) = project_with_tasks(client, data, 1)
        missing_project = f"annotationProjects/{unique_id()}"
        missing_task = f"{project.name}/tasks/row-4"
        missing_annotation = f"{task.name}/annotations/conf-missing"
        missing_prediction = f"{task.name}/predictions/conf-missing"
        calls = [
            (
                "GetAnnotationProject",
                pb.GetAnnotationProjectRequest(name=missing_project),
                missing_project,
            ),
            (
                "ListAnnotationTasks",
                pb.ListAnnotationTasksRequest(parent=missing_project),
                missing_project,
            ),
            ("GetAnnotationTask", pb.GetAnnotationTaskRequest(name=missing_task), missing_task),
            ("ListAnnotations", pb.ListAnnotationsRequest(parent=missing_task), missing_task),
            ("ListPredictions", pb.ListPredictionsRequest(parent=missing_task), missing_task),
            ("CreateAnnotation", pb.CreateAnnotationRequest(parent=missing_task), missing_task),
            ("GetAnnotation", pb.GetAnnotationRequest(name=missing_annotation), missing_annotation),
            (
                "DeleteAnnotation",
                pb.DeleteAnnotationRequest(name=missing_annotation),
                missing_annotation,
            ),
            ("ListReviews", pb.ListReviewsRequest(parent=missing_annotation), missing_annotation),
            ("GetPrediction", pb.GetPredictionRequest(name=missing_prediction), missing_prediction),
            (
                "DeletePrediction",
                pb.DeletePredictionRequest(name=missing_prediction),
                missing_prediction,
            ),
            (
                "DeleteAnnotationTask",
                pb.DeleteAnnotationTaskRequest(name=missing_task),
                missing_task,
            ),
        ]
        for rpc, request, name in calls:
            not_found(lambda rpc=rpc, request=request: client.call(rpc, request), name)
        review = pb.CreateReviewRequest(parent=missing_annotation)
        review.review.verdict = ACCEPTED_VERDICT
        not_found(lambda: client.call("CreateReview", review), missing_annotation)


@CASES.case(CORE, "conventions.labels-follow-the-labels-rule", "ANN-002", "GEN-056")
def labels_rule(ctx: CaseContext) -> None:
    """A labels key breaking GEN-056 is INVALID_FIELD on `<field>.labels.<key>` for
    projects and tasks, creating or changing nothing."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project_id = unique_id()
        request = pb.CreateAnnotationProjectRequest(
            annotation_project_id=project_id,
            annotation_project=project_pb.AnnotationProject(
                dataset_version=data.first, label_specs=label_specs(schema()), labels={"Team": "x"}
            ),
        )
        expect.rejects(
            lambda: client.call("CreateAnnotationProject", request),
            INVALID,
            "INVALID_FIELD",
            field="annotation_project.labels.Team",
        )
        project, _ = project_with_tasks(client, data, 1)
        task = pb.CreateAnnotationTaskRequest(
            parent=project.name,
            annotation_task=task_pb.AnnotationTask(row_index=2, labels={"k": "Bad Value"}),
        )
        expect.rejects(
            lambda: client.call("CreateAnnotationTask", task),
            INVALID,
            "INVALID_FIELD",
            field="annotation_task.labels.k",
        )
        expect.equal(len(client.tasks(project.name)), 1, "tasks after the refusal")


@CASES.case(CORE, "conventions.server-assigned-ids", "ANN-002")
def server_ids(ctx: CaseContext) -> None:
    """Annotation and prediction ids are assigned by the server in the form of DAT-010,
    unique within their parent, and usable in every request naming them."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        names = [
            client.annotate(task.name, [classification("animal", "cat")]).name for _ in range(3)
        ]
        names += [
            client.predict(task.name, [classification("animal", "dog")]).name for _ in range(3)
        ]
        ids = [name.rsplit("/", 1)[1] for name in names]
        for server_id in ids:
            expect.holds(
                re.match(SERVER_ID, server_id) is not None,
                f"an id of the form {SERVER_ID}",
                server_id,
            )
        expect.equal(len(set(names)), len(names), "distinct names")
        for name in names[:3]:
            expect.equal(client.annotation(name).name, name, "GetAnnotation by the assigned name")
        for name in names[3:6]:
            expect.equal(client.prediction(name).name, name, "GetPrediction by the assigned name")
