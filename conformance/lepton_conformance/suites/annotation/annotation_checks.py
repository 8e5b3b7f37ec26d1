"""What the annotation-core cases share: the vectors (vectors/annotation.yaml), the standard
project every kind of label is in, and strict checks of refusals that change nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import grpc

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect, vectors
from lepton_conformance.suites.annotation.annotation_client import (
    AnnotationClient,
    label_specs,
)
from lepton_conformance.suites.annotation.annotation_data import AnnotationData

TABLES = vectors.load("lepton_conformance.suites.annotation", "annotation.yaml")
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
ABORTED = grpc.StatusCode.ABORTED
OUT_OF_RANGE = grpc.StatusCode.OUT_OF_RANGE
STALE_ETAG = "stale-etag-of-the-conformance-suite"


def schema() -> list[dict[str, Any]]:
    """The standard label schema as JSON data (a fresh copy)."""
    return copy.deepcopy(TABLES["schema"])


def standard_project(
    client: AnnotationClient, data: AnnotationData, version: str = "", **fields: Any
) -> Any:
    """A new project over the fixture's first version with the standard schema."""
    return client.create_project(version or data.first, label_specs(schema()), **fields)


def project_with_tasks(
    client: AnnotationClient, data: AnnotationData, count: int, **fields: Any
) -> tuple[Any, list[Any]]:
    """A standard project with the tasks of rows 0 to count - 1."""
    project = standard_project(client, data, **fields)
    return project, client.create_tasks(project.name, count)


def not_found(call: Callable[[], Any], name: str) -> None:
    """`call` fails with NOT_FOUND [RESOURCE_NOT_FOUND] naming `name` (DAT-003)."""
    expect.rejects(call, NOT_FOUND, "RESOURCE_NOT_FOUND", metadata={"resource_name": name})


def gone(client: AnnotationClient, name: str) -> None:
    """The resource `name` (project, task, annotation or prediction) is NOT_FOUND."""
    kind = name.split("/")[-2]
    rpc, request = {
        "annotationProjects": ("GetAnnotationProject", pb.GetAnnotationProjectRequest),
        "tasks": ("GetAnnotationTask", pb.GetAnnotationTaskRequest),
        "annotations": ("GetAnnotation", pb.GetAnnotationRequest),
        "predictions": ("GetPrediction", pb.GetPredictionRequest),
    }[kind]
    not_found(lambda: client.call(rpc, request(name=name)), name)


def unchanged(before: Any, after: Any, what: str) -> None:
    """A resource is as it was (etag and update_time included) after a refused call."""
    expect.equal(
        (after.etag, after.update_time), (before.etag, before.update_time), f"{what} unchanged"
    )


def one(items: list[Any], what: str) -> Any:
    """The single item of a listing, or Failed."""
    expect.equal(len(items), 1, f"the number of {what}")
    return items[0]


def task_summary(task: Any) -> tuple[Any, ...]:
    """What a task is apart from its row, leases and times."""
    return (
        task.name,
        task.row_index,
        task.dataset_version,
        task.stage,
        task.state,
        task.annotation_count,
        task.prediction_count,
    )
