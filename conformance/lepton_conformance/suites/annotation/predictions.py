"""annotation-core cases of predictions: creation and its refusals (ANN-036), predictions
and annotations kept apart (ANN-037), immutability and deletion (ANN-038) and listing
(ANN-039)."""

from __future__ import annotations

import re

from lepton.data.v1 import annotation_pb2
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    INVALID,
    gone,
    not_found,
    project_with_tasks,
)
from lepton_conformance.suites.annotation.annotation_client import (
    SERVER_ID,
    AnnotationClient,
    classification,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.principals import check_creator
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Prediction = annotation_pb2.Prediction


def _prediction(**fields: object) -> Prediction:
    base = {"inference_model": "conformance-model", "inference_model_version": "1", "score": 0.5}
    return Prediction(**{**base, **fields})


def _create(client: AnnotationClient, task: str, prediction: Prediction) -> Prediction:
    request = pb.CreatePredictionRequest(parent=task, prediction=prediction)
    return client.call("CreatePrediction", request).prediction


@CASES.case(CORE, "predictions.create-keeps-model-score-and-creator", "ANN-036", "GEN-014")
def create_prediction(ctx: CaseContext) -> None:
    """CreatePrediction assigns an id and keeps results with their scores, inference_model,
    its version and score; creator is the caller's principal and prediction_job empty."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        scored = classification("animal", "dog")
        scored.score = 0.875
        sent = _prediction(
            results=[scored], inference_model="resnet", inference_model_version="7", score=0.875,
            creator="mallory", prediction_job=f"{task.name}/predictionJobs/x",
        )  # fmt: skip
        created = expect.succeeds(lambda: _create(client, task.name, sent), "CreatePrediction")
        prefix = f"{task.name}/predictions/"
        expect.holds(
            created.name.startswith(prefix)
            and re.match(SERVER_ID, created.name[len(prefix) :]) is not None,
            f"a server-assigned id under {prefix}",
            created.name,
        )
        expect.equal(
            (
                list(created.results),
                created.inference_model,
                created.inference_model_version,
                created.score,
            ),
            ([scored], "resnet", "7", 0.875),
            "(results, inference_model, inference_model_version, score)",
        )
        expect.equal(created.prediction_job, "", "prediction_job of a client's prediction")
        check_creator(ctx, created.creator, "creator")
        expect.holds(created.creator != "mallory", "the request's creator ignored", created.creator)
        expect.equal(client.prediction(created.name), created, "GetPrediction")


@CASES.case(CORE, "predictions.create-refuses-bad-fields", "ANN-036", "ANN-002")
def create_refusals(ctx: CaseContext) -> None:
    """An empty or 257-character inference_model or version and a score outside [0, 1],
    overall or per result, are INVALID_FIELD and create nothing."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        high = classification("animal", "cat")
        high.score = 1.25
        negative = classification("animal", "cat")
        negative.score = -0.5
        refusals = [
            (_prediction(inference_model=""), "prediction.inference_model"),
            (_prediction(inference_model="m" * 257), "prediction.inference_model"),
            (_prediction(inference_model_version=""), "prediction.inference_model_version"),
            (_prediction(inference_model_version="v" * 257), "prediction.inference_model_version"),
            (_prediction(score=1.5), "prediction.score"),
            (_prediction(score=-0.01), "prediction.score"),
            (_prediction(results=[high]), "prediction.results[0]"),
            (_prediction(results=[negative]), "prediction.results[0]"),
        ]
        for prediction, field in refusals:
            expect.rejects(
                lambda prediction=prediction: _create(client, task.name, prediction),
                INVALID,
                "INVALID_FIELD",
                field=field,
            )
        expect.equal(client.predictions(task.name), [], "predictions after the refusals")
        edge = _create(client, task.name, _prediction(inference_model="m" * 256, score=1.0))
        expect.equal(
            (len(edge.inference_model), edge.score), (256, 1.0), "a 256-character model, score 1"
        )


@CASES.case(CORE, "predictions.never-mix-with-annotations", "ANN-037")
def kept_apart(ctx: CaseContext) -> None:
    """ListAnnotations and GetAnnotation never return a prediction, ListPredictions and
    GetPrediction never an annotation, and creating either leaves the other's count."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (task,) = project_with_tasks(client, data, 1)
        prediction = client.predict(task.name, [classification("animal", "cat")], score=0.9)
        annotation = client.annotate(
            task.name, [classification("animal", "cat")], source_prediction=prediction.name
        )
        every = f"{project.name}/tasks/-"
        for parent in (task.name, every):
            expect.equal(
                [a.name for a in client.annotations(parent)],
                [annotation.name],
                f"annotations of {parent}",
            )
            expect.equal(
                [p.name for p in client.predictions(parent)],
                [prediction.name],
                f"predictions of {parent}",
            )
        as_annotation = f"{task.name}/annotations/{prediction.name.rsplit('/', 1)[1]}"
        not_found(
            lambda: client.call("GetAnnotation", pb.GetAnnotationRequest(name=as_annotation)),
            as_annotation,
        )
        as_prediction = f"{task.name}/predictions/{annotation.name.rsplit('/', 1)[1]}"
        not_found(
            lambda: client.call("GetPrediction", pb.GetPredictionRequest(name=as_prediction)),
            as_prediction,
        )
        counts = client.task(task.name)
        expect.equal(
            (counts.annotation_count, counts.prediction_count),
            (1, 1),
            "(annotation_count, prediction_count)",
        )
        expect.equal(
            client.prediction(prediction.name),
            prediction,
            "the prediction an annotation started from",
        )


@CASES.case(CORE, "predictions.are-immutable-until-deleted", "ANN-038")
def immutable(ctx: CaseContext) -> None:
    """GetPrediction returns the same values whatever happens to the task and its
    annotations; DeletePrediction removes it, after which it is NOT_FOUND."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (task,) = project_with_tasks(client, data, 1)
        prediction = client.predict(task.name, [classification("animal", "cat")], score=0.4)
        client.annotate(
            task.name, [classification("animal", "dog")], source_prediction=prediction.name
        )
        client.ok(
            "AcceptPredictions",
            pb.AcceptPredictionsRequest(parent=project.name, complete_tasks=True),
        )
        client.predict(task.name, [classification("animal", "bird")], score=0.6)
        expect.equal(
            client.prediction(prediction.name), prediction, "the prediction after other work"
        )
        client.ok("DeletePrediction", pb.DeletePredictionRequest(name=prediction.name))
        gone(client, prediction.name)
        not_found(
            lambda: client.call(
                "DeletePrediction", pb.DeletePredictionRequest(name=prediction.name)
            ),
            prediction.name,
        )


@CASES.case(CORE, "predictions.list-orders-and-filters", "ANN-039", "ANN-002")
def list_predictions(ctx: CaseContext) -> None:
    """ListPredictions returns predictions by create_time (then name) or by score, in pages,
    filtered by model, version, prediction_job, score and create_time; other fields and
    orders are refused."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (one, two) = project_with_tasks(client, data, 2)
        made = [
            client.predict(one.name, score=0.5, model="alpha", version="1"),
            client.predict(two.name, score=0.25, model="beta", version="1"),
            client.predict(one.name, score=0.75, model="alpha", version="2"),
            client.predict(two.name, score=0.5, model="beta", version="2"),
        ]
        names = [p.name for p in made]
        every = f"{project.name}/tasks/-"

        def listed(parent: str = every, **fields: object) -> list[str]:
            return [p.name for p in client.predictions(parent, **fields)]

        expect.equal(listed(), names, "predictions by create_time")
        expect.equal(listed(page_size=1), names, "pages of one")
        expect.equal(listed(one.name), [names[0], names[2]], "the first task's predictions")
        ties = sorted([names[0], names[3]])
        expect.equal(listed(order_by="score"), [names[1], *ties, names[2]], "score, ties by name")
        expect.equal(
            listed(order_by="score desc", page_size=2), [names[2], *ties, names[1]], "score desc"
        )
        expect.equal(listed(order_by="create_time desc"), names[::-1], "create_time desc")
        cut, at = made[2].create_time.ToJsonString(), made[2].create_time.ToNanoseconds()
        since = [x.name for x in made if x.create_time.ToNanoseconds() >= at]
        for expression, wanted in (
            ('inference_model = "alpha"', [names[0], names[2]]),
            ('inference_model != "alpha"', [names[1], names[3]]),
            ('inference_model_version = "2"', [names[2], names[3]]),
            ('inference_model = "beta" AND inference_model_version != "2"', [names[1]]),
            ('prediction_job = ""', names),
            ("score >= 0.5", [names[0], names[2], names[3]]),
            ("score < 0.5", [names[1]]),
            ("score = 0.5", [names[0], names[3]]),
            (f'create_time >= "{cut}"', since),
        ):
            expect.equal(listed(filter=expression), wanted, f"predictions of filter {expression!r}")
        for field, fields, reason in (
            ("filter", {"filter": 'creator = "x"'}, "INVALID_FILTER"),
            ("filter", {"filter": 'prediction_job != ""'}, "INVALID_FILTER"),
            ("filter", {"filter": 'score = "high"'}, "INVALID_FILTER"),
            ("order_by", {"order_by": "inference_model"}, "INVALID_FIELD"),
            ("page_size", {"page_size": -1}, "INVALID_FIELD"),
        ):
            request = pb.ListPredictionsRequest(parent=every, **fields)
            expect.rejects(
                lambda request=request: client.call("ListPredictions", request),
                INVALID,
                reason,
                field=field,
            )
