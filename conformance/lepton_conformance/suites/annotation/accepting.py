"""annotation-core cases of AcceptPredictions: the best selected prediction of each task turned
into an annotation of the caller that names it, once (ANN-062), and its refusals (ANN-063)."""

from __future__ import annotations

from typing import Any

from lepton.data.v1 import annotation_pb2
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    INVALID,
    NOT_FOUND,
    one,
    project_with_tasks,
)
from lepton_conformance.suites.annotation.annotation_client import (
    COMPLETED,
    IN_PROGRESS,
    NEW,
    REJECTED,
    AnnotationClient,
    classification,
    results,
    state_name,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.principals import check_creator
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
SPAN = {"label": "entity", "span": {"class_name": "PER", "start": 0, "end": 5}}


def accept(client: AnnotationClient, parent: str, **fields: Any) -> tuple[int, int]:
    """AcceptPredictions, which must succeed: (accepted_count, already_accepted_count)."""
    request = pb.AcceptPredictionsRequest(parent=parent, **fields)
    response = client.ok("AcceptPredictions", request)
    return response.accepted_count, response.already_accepted_count


def _scored(label: str, class_name: str, score: float) -> annotation_pb2.LabelResult:
    result = classification(label, class_name)
    result.score = score
    return result


def best(predictions: list[Any]) -> Any:
    """§3.8: the highest score, then the newest create_time, then the greatest name."""
    return max(predictions, key=lambda p: (p.score, p.create_time.ToNanoseconds(), p.name))


def check_accepted(ctx: CaseContext, annotation: Any, prediction: Any) -> None:
    """An accepted annotation: the prediction's results with scores 0 (span text kept), its
    source link, the caller as creator, neither ground truth nor skipped."""
    wanted = []
    for result in prediction.results:
        copy = annotation_pb2.LabelResult()
        copy.CopyFrom(result)
        copy.score = 0
        wanted.append(copy)
    expect.equal(list(annotation.results), wanted, "the accepted annotation's results")
    expect.equal(
        (annotation.source_prediction, annotation.ground_truth, annotation.skipped),
        (prediction.name, False, False),
        "(source_prediction, ground_truth, skipped)",
    )
    check_creator(ctx, annotation.creator, "the accepted annotation's creator")


@CASES.case(
    CORE, "accepting.best-prediction-becomes-an-annotation-once", "ANN-062", "ANN-026", "ANN-038"
)
def accept_best(ctx: CaseContext) -> None:
    """AcceptPredictions creates, per task, one annotation from its best prediction (score,
    then newest, then name) with the link kept, moves NEW to IN_PROGRESS, leaves the
    predictions as they were, and counts a repeat as already accepted."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, tasks = project_with_tasks(client, data, 4)
        names = [t.name for t in tasks]
        made = {
            0: [
                client.predict(names[0], [_scored("animal", "cat", 0.4)], score=0.4, model="m1"),
                client.predict(
                    names[0],
                    [_scored("animal", "dog", 0.9), *results([SPAN])],
                    score=0.9,
                    model="m2",
                ),
            ],
            1: [client.predict(names[1], [_scored("animal", "bird", 0.3)], score=0.3, model="m1")],
            3: [
                client.predict(names[3], [_scored("animal", "cat", 0.5)], score=0.5, model="m2"),
                client.predict(names[3], [_scored("animal", "dog", 0.5)], score=0.5, model="m2"),
            ],
        }
        before = {p.name: p for found in made.values() for p in found}
        expect.equal(
            accept(client, project.name), (3, 0), "(accepted_count, already_accepted_count)"
        )
        for row, found in made.items():
            annotation = one(client.annotations(names[row]), f"annotations of row {row}")
            check_accepted(ctx, annotation, best(found))
            expect.equal(
                state_name(client.task(names[row]).state),
                state_name(IN_PROGRESS),
                f"state of row {row}",
            )
        annotation = one(client.annotations(names[0]), "annotations of row 0")
        expect.equal(
            annotation.results[1].span.text, "Alice", "the span text the accepted annotation keeps"
        )
        expect.equal(
            client.annotations(names[2]), [], "annotations of the task without predictions"
        )
        expect.equal(
            state_name(client.task(names[2]).state),
            state_name(NEW),
            "state of the task without predictions",
        )
        expect.equal(accept(client, project.name), (0, 3), "counts of a repeat")
        expect.equal(
            len(client.annotations(f"{project.name}/tasks/-")), 3, "annotations after the repeat"
        )
        for name, prediction in before.items():
            expect.equal(client.prediction(name), prediction, "a prediction after accepting")


@CASES.case(CORE, "accepting.filter-min-score-and-one-task", "ANN-062")
def accept_selected(ctx: CaseContext) -> None:
    """Only predictions matching filter with score >= min_score are considered; a task's
    best among them is accepted even when another prediction was; a task parent limits
    the call to that task."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (first, second, third) = project_with_tasks(client, data, 3)
        low = client.predict(first.name, [_scored("animal", "cat", 0.3)], score=0.3, model="m1")
        high = client.predict(first.name, [_scored("animal", "dog", 0.8)], score=0.8, model="m2")
        client.predict(second.name, [_scored("animal", "cat", 0.2)], score=0.2, model="m1")
        only = client.predict(third.name, [_scored("animal", "bird", 0.6)], score=0.6, model="m1")
        expect.equal(accept(client, third.name), (1, 0), "counts with a task parent")
        expect.equal(client.annotations(first.name), [], "annotations of a task outside the parent")
        expect.equal(
            accept(client, project.name, min_score=0.5), (1, 1), "counts with min_score 0.5"
        )
        annotation = one(client.annotations(first.name), "annotations of the first task")
        check_accepted(ctx, annotation, high)
        expect.equal(client.annotations(second.name), [], "annotations of a task below min_score")
        counts = accept(client, project.name, filter='inference_model = "m1"', min_score=0.25)
        expect.equal(counts, (1, 1), "counts with the filter m1 (first's m1 new, third's seen)")
        sources = sorted(a.source_prediction for a in client.annotations(first.name))
        expect.equal(
            sources, sorted([high.name, low.name]), "the first task's accepted predictions"
        )
        expect.equal(client.annotations(second.name), [], "annotations of the task under min_score")
        expect.equal(
            client.annotations(third.name)[0].source_prediction, only.name, "the third's source"
        )


@CASES.case(CORE, "accepting.complete-tasks", "ANN-062", "ANN-026")
def accept_completing(ctx: CaseContext) -> None:
    """With complete_tasks, each task that receives an annotation moves to COMPLETED, a
    REJECTED one through IN_PROGRESS; tasks that receive none keep their state."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (fresh, rejected, skipped) = project_with_tasks(client, data, 3)
        client.annotate(rejected.name, [classification("animal", "cat")])
        client.set_state(rejected.name, COMPLETED)
        client.set_state(rejected.name, REJECTED)
        for task in (fresh, rejected):
            client.predict(task.name, [_scored("animal", "dog", 0.7)], score=0.7)
        client.predict(skipped.name, [_scored("animal", "dog", 0.1)], score=0.1)
        expect.equal(
            accept(client, project.name, complete_tasks=True, min_score=0.5), (2, 0), "counts"
        )
        for task in (fresh, rejected):
            expect.equal(
                state_name(client.task(task.name).state),
                state_name(COMPLETED),
                "state of an accepted task",
            )
        expect.equal(
            state_name(client.task(skipped.name).state),
            state_name(NEW),
            "state of a task below min_score",
        )


@CASES.case(CORE, "accepting.refusals-create-nothing", "ANN-063", "ANN-002")
def accept_refusals(ctx: CaseContext) -> None:
    """A min_score outside [0, 1] is INVALID_FIELD, a filter ListPredictions would refuse
    INVALID_FILTER, a missing project or task NOT_FOUND; none creates an annotation."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (task,) = project_with_tasks(client, data, 1)
        client.predict(task.name, [_scored("animal", "cat", 0.7)], score=0.7)
        refusals = [
            ({"parent": project.name, "min_score": 1.5}, INVALID, "INVALID_FIELD", "min_score"),
            ({"parent": project.name, "min_score": -0.1}, INVALID, "INVALID_FIELD", "min_score"),
            (
                {"parent": project.name, "filter": 'creator = "x"'},
                INVALID,
                "INVALID_FILTER",
                "filter",
            ),
            ({"parent": project.name, "filter": "score >"}, INVALID, "INVALID_FILTER", "filter"),
            ({"parent": f"{project.name}-missing"}, NOT_FOUND, "RESOURCE_NOT_FOUND", None),
            ({"parent": f"{project.name}/tasks/row-5"}, NOT_FOUND, "RESOURCE_NOT_FOUND", None),
        ]
        for fields, code, reason, field in refusals:
            request = pb.AcceptPredictionsRequest(**fields)
            expect.rejects(
                lambda request=request: client.call("AcceptPredictions", request),
                code,
                reason,
                field=field,
            )
        expect.equal(client.annotations(task.name), [], "annotations after the refusals")
