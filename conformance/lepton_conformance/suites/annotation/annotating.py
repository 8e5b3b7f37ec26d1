"""annotation-core cases of annotations: creation with the caller as creator and its
refusals (ANN-029), source predictions (ANN-032), updates (ANN-033), listing (ANN-034),
deletion (ANN-035) and request_id retries (ANN-040)."""

from __future__ import annotations

import re

from lepton.data.v1 import annotation_pb2
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    ABORTED,
    ALREADY_EXISTS,
    INVALID,
    NOT_FOUND,
    STALE_ETAG,
    gone,
    project_with_tasks,
    unchanged,
)
from lepton_conformance.suites.annotation.annotation_client import (
    SERVER_ID,
    AnnotationClient,
    classification,
    mask,
    request_id,
    seconds,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.principals import check_creator
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Annotation = annotation_pb2.Annotation


def _create(
    client: AnnotationClient, task: str, annotation: Annotation, key: str = ""
) -> Annotation:
    request = pb.CreateAnnotationRequest(parent=task, annotation=annotation, request_id=key)
    return client.call("CreateAnnotation", request).annotation


def _update(client: AnnotationClient, annotation: Annotation, *paths: str) -> Annotation:
    request = pb.UpdateAnnotationRequest(annotation=annotation, update_mask=mask(*paths))
    return client.call("UpdateAnnotation", request).annotation


@CASES.case(
    CORE, "annotations.create-records-the-callers-principal", "ANN-029", "GEN-014", "ANN-002"
)
def create_annotation(ctx: CaseContext) -> None:
    """CreateAnnotation assigns an id, keeps the requested fields, sets creator to the
    caller's principal whatever the request says, create_time = update_time and an etag."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        sent = Annotation(
            results=[classification("animal", "cat")],
            creator="mallory@example.com",
            lead_duration=seconds(12.5),
            ground_truth=True,
            name=f"{task.name}/annotations/chosen",
            etag="client",
        )
        created = expect.succeeds(lambda: _create(client, task.name, sent), "CreateAnnotation")
        prefix = f"{task.name}/annotations/"
        expect.holds(
            created.name.startswith(prefix)
            and re.match(SERVER_ID, created.name[len(prefix) :]) is not None
            and created.name != sent.name,
            f"a server-assigned id under {prefix}",
            created.name,
        )
        expect.equal(
            (list(created.results), created.lead_duration, created.ground_truth, created.skipped),
            (list(sent.results), sent.lead_duration, True, False),
            "(results, lead_duration, ground_truth, skipped)",
        )
        check_creator(ctx, created.creator, "creator")
        expect.holds(
            created.creator != "mallory@example.com",
            "the request's creator ignored",
            created.creator,
        )
        expect.equal(created.create_time, created.update_time, "create_time = update_time")
        expect.holds(
            bool(created.etag) and created.etag != "client", "a server-set etag", created.etag
        )
        expect.equal(created.review_verdict, 0, "review_verdict of a new annotation")
        expect.equal(client.annotation(created.name), created, "GetAnnotation")
        second = client.annotate(task.name, [classification("animal", "dog")])
        expect.equal(
            second.creator,
            created.creator,
            "the creator of a second annotation by the same credential",
        )


@CASES.case(CORE, "annotations.output-only-fields-are-ignored", "ANN-029", "ANN-002")
def output_only(ctx: CaseContext) -> None:
    """CreateAnnotation ignores the output-only fields a client sets (DAT-009): name, creator,
    external_author (set only by imports, and counted by agreement as the annotator), times,
    etag and review_verdict."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        plain = client.annotate(task.name, [classification("animal", "cat")])
        sent = Annotation(
            results=[classification("animal", "cat")],
            name=f"{task.name}/annotations/chosen",
            creator="mallory@example.com",
            external_author="someone-else@example.com",
            etag="client",
            review_verdict=annotation_pb2.REVIEW_VERDICT_ACCEPTED,
        )
        sent.create_time.FromSeconds(86400)
        created = expect.succeeds(lambda: _create(client, task.name, sent), "CreateAnnotation")
        expect.equal(
            (created.creator, created.external_author, created.review_verdict),
            (plain.creator, "", 0),
            "(creator, external_author, review_verdict) of an annotation that sent them",
        )
        expect.holds(
            created.name != sent.name and created.etag != "client",
            "a server-assigned name and etag",
            f"{created.name}, {created.etag!r}",
        )
        expect.holds(
            created.create_time.ToSeconds() != 86400,
            "a server-set create_time",
            created.create_time.ToJsonString(),
        )
        expect.equal(client.annotation(created.name), created, "GetAnnotation")


@CASES.case(CORE, "annotations.create-refuses-bad-fields", "ANN-029", "ANN-002")
def create_refusals(ctx: CaseContext) -> None:
    """A negative lead_duration, ground_truth with skipped, results with skipped, more than
    10000 results and a non-zero result score are INVALID_FIELD and create nothing."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        scored = classification("animal", "cat")
        scored.score = 0.5
        box = annotation_pb2.LabelResult(
            label="box",
            bounding_box=annotation_pb2.BoundingBoxValue(
                class_name="cat", x=0.1, y=0.1, width=0.1, height=0.1
            ),
        )
        refusals = [
            (Annotation(lead_duration=seconds(-1)), "annotation.lead_duration"),
            (Annotation(ground_truth=True, skipped=True), None),
            (Annotation(skipped=True, results=[classification("animal", "cat")]), None),
            (Annotation(results=[box] * 10001), "annotation.results"),
            (Annotation(results=[scored]), "annotation.results[0]"),
        ]
        for annotation, field in refusals:
            expect.rejects(
                lambda annotation=annotation: _create(client, task.name, annotation),
                INVALID,
                "INVALID_FIELD",
                field=field,
            )
        expect.equal(client.annotations(task.name), [], "annotations after the refusals")
        expect.equal(
            client.task(task.name).annotation_count, 0, "annotation_count after the refusals"
        )


@CASES.case(CORE, "annotations.source-prediction-of-the-same-task", "ANN-032", "ANN-037")
def source_prediction(ctx: CaseContext) -> None:
    """source_prediction names a prediction of the same task and stays after it is deleted;
    one of another task is INVALID_FIELD; a missing one NOT_FOUND."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task, other) = project_with_tasks(client, data, 2)
        mine = client.predict(task.name, [classification("animal", "cat")])
        theirs = client.predict(other.name, [classification("animal", "dog")])
        annotation = client.annotate(
            task.name, [classification("animal", "cat")], source_prediction=mine.name
        )
        expect.equal(annotation.source_prediction, mine.name, "source_prediction")
        expect.rejects(
            lambda: _create(client, task.name, Annotation(source_prediction=theirs.name)),
            INVALID,
            "INVALID_FIELD",
            field="annotation.source_prediction",
        )
        missing = f"{task.name}/predictions/conf-missing"
        expect.rejects(
            lambda: _create(client, task.name, Annotation(source_prediction=missing)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        expect.equal(len(client.annotations(task.name)), 1, "annotations after the refusals")
        client.ok("DeletePrediction", pb.DeletePredictionRequest(name=mine.name))
        expect.equal(
            client.annotation(annotation.name).source_prediction,
            mine.name,
            "source_prediction after the delete",
        )
        expect.equal(
            client.task(task.name).prediction_count,
            0,
            "prediction_count (no annotation became one)",
        )


@CASES.case(CORE, "annotations.update-changes-exactly-the-masked-fields", "ANN-033")
def update_annotation(ctx: CaseContext) -> None:
    """UpdateAnnotation changes the masked fields only (empty mask: the non-empty ones; `*`:
    all), validates the result as creation does, sets a new etag and update_time, refuses
    other paths on update_mask and a stale etag with ETAG_MISMATCH."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        first = client.annotate(
            task.name, [classification("animal", "cat")], lead_duration=seconds(3)
        )
        change = Annotation(
            name=first.name, results=[classification("animal", "dog")], lead_duration=seconds(9)
        )
        updated = expect.succeeds(lambda: _update(client, change, "results"), "UpdateAnnotation")
        expect.equal(
            (list(updated.results), updated.lead_duration, updated.creator, updated.create_time),
            (list(change.results), first.lead_duration, first.creator, first.create_time),
            "(results, lead_duration, creator, create_time)",
        )
        expect.holds(
            updated.etag != first.etag
            and updated.update_time.ToNanoseconds() > first.update_time.ToNanoseconds(),
            "a new etag and a later update_time",
            f"etag {updated.etag!r}, update_time {updated.update_time.ToJsonString()}",
        )
        implicit = expect.succeeds(
            lambda: _update(client, Annotation(name=first.name, ground_truth=True)), "empty mask"
        )
        expect.equal(
            (list(implicit.results), implicit.lead_duration, implicit.ground_truth),
            (list(change.results), first.lead_duration, True),
            "(results, lead_duration, ground_truth) after an empty mask",
        )
        everything = expect.succeeds(
            lambda: _update(client, Annotation(name=first.name, skipped=True), "*"), "`*`"
        )
        expect.equal(
            (
                list(everything.results),
                everything.lead_duration.ToNanoseconds(),
                everything.ground_truth,
                everything.skipped,
            ),
            ([], 0, False, True),
            "(results, lead_duration, ground_truth, skipped) after `*`",
        )
        bad = Annotation(name=first.name, results=[classification("animal", "cat")])
        expect.rejects(lambda: _update(client, bad, "results"), INVALID, "INVALID_FIELD")
        for path in (
            "author",
            "creator",
            "source_prediction",
            "name",
            "create_time",
            "review_verdict",
        ):
            expect.rejects(
                lambda path=path: _update(
                    client,
                    Annotation(name=first.name, lead_duration=seconds(1)),
                    "lead_duration",
                    path,
                ),
                INVALID,
                "INVALID_FIELD",
                field="update_mask",
            )
        stale = Annotation(name=first.name, lead_duration=seconds(1), etag=STALE_ETAG)
        expect.rejects(lambda: _update(client, stale, "lead_duration"), ABORTED, "ETAG_MISMATCH")
        unchanged(everything, client.annotation(first.name), "the annotation after refused updates")
        current = Annotation(name=first.name, lead_duration=seconds(2), etag=everything.etag)
        expect.equal(
            _update(client, current, "lead_duration").lead_duration, seconds(2), "with the etag"
        )


@CASES.case(CORE, "annotations.list-oldest-first-with-filters", "ANN-034", "ANN-002")
def list_annotations(ctx: CaseContext) -> None:
    """ListAnnotations returns a task's annotations, or a project's (tasks/-), oldest first,
    in pages, filtered by creator, source_prediction, review_verdict, ground_truth, skipped
    and the times; other fields are INVALID_FILTER."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (one, two) = project_with_tasks(client, data, 2)
        prediction = client.predict(one.name, [classification("animal", "cat")])
        made = [
            client.annotate(one.name, [classification("animal", "cat")]),
            client.annotate(two.name, [classification("animal", "dog")], ground_truth=True),
            client.annotate(
                one.name, [classification("animal", "cat")], source_prediction=prediction.name
            ),
            client.annotate(two.name, skipped=True),
        ]
        names = [a.name for a in made]
        every = f"{project.name}/tasks/-"

        def listed(parent: str = every, **fields: object) -> list[str]:
            return [a.name for a in client.annotations(parent, **fields)]

        expect.equal(listed(), names, "the project's annotations, oldest first")
        expect.equal(listed(page_size=1), names, "pages of one")
        expect.equal(listed(one.name), [names[0], names[2]], "the first task's annotations")
        creator = made[0].creator
        cut, at = made[2].create_time.ToJsonString(), made[2].create_time.ToNanoseconds()
        since = [x.name for x in made if x.create_time.ToNanoseconds() >= at]
        filters = [
            (f'creator = "{creator}"', names),
            (f'creator != "{creator}"', []),
            ('source_prediction != ""', [names[2]]),
            (f'source_prediction = "{prediction.name}"', [names[2]]),
            ("ground_truth = true", [names[1]]),
            ("skipped != false", [names[3]]),
            ("review_verdict != ACCEPTED", names),
            ("review_verdict = REJECTED", []),
            (f'create_time >= "{cut}"', since),
            (
                f'update_time < "{cut}"',
                [x.name for x in made if x.update_time.ToNanoseconds() < at],
            ),
        ]
        for expression, wanted in filters:
            expect.equal(listed(filter=expression), wanted, f"annotations of filter {expression!r}")
        for expression in (
            'author = "x"',
            'ground_truth = "true"',
            "review_verdict = MAYBE",
            "skipped > false",
        ):
            request = pb.ListAnnotationsRequest(parent=every, filter=expression)
            expect.rejects(
                lambda request=request: client.call("ListAnnotations", request),
                INVALID,
                "INVALID_FILTER",
                field="filter",
            )
        for _ in range(99):
            client.annotate(one.name, [classification("animal", "bird")])
        page = client.ok("ListAnnotations", pb.ListAnnotationsRequest(parent=every))
        expect.equal(len(page.annotations), 100, "annotations on a default page")
        expect.holds(bool(page.next_page_token), "a next_page_token", "none")


@CASES.case(CORE, "annotations.delete-and-stale-etags", "ANN-035")
def delete_annotation(ctx: CaseContext) -> None:
    """DeleteAnnotation with a stale etag is ABORTED [ETAG_MISMATCH] and keeps it; otherwise
    the annotation is NOT_FOUND afterwards."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        annotation = client.annotate(task.name, [classification("animal", "cat")])
        expect.rejects(
            lambda: client.call(
                "DeleteAnnotation",
                pb.DeleteAnnotationRequest(name=annotation.name, etag=STALE_ETAG),
            ),
            ABORTED,
            "ETAG_MISMATCH",
        )
        expect.equal(
            client.annotation(annotation.name), annotation, "the annotation after the refusal"
        )
        client.ok(
            "DeleteAnnotation",
            pb.DeleteAnnotationRequest(name=annotation.name, etag=annotation.etag),
        )
        gone(client, annotation.name)
        expect.equal(
            client.task(task.name).annotation_count, 0, "annotation_count after the delete"
        )


@CASES.case(CORE, "annotations.request-id-retry-returns-the-first", "ANN-040")
def annotation_request_id(ctx: CaseContext) -> None:
    """CreateAnnotation and CreatePrediction retried with the same request_id return the
    first resource without a second; another request with it is REQUEST_ID_CONFLICT."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        _, (task,) = project_with_tasks(client, data, 1)
        key = request_id()
        sent = Annotation(results=[classification("animal", "cat")])
        first = _create(client, task.name, sent, key)
        expect.equal(
            _create(client, task.name, sent, key), first, "the annotation the retry returns"
        )
        other = Annotation(results=[classification("animal", "dog")])
        expect.rejects(
            lambda: _create(client, task.name, other, key), ALREADY_EXISTS, "REQUEST_ID_CONFLICT"
        )
        key = request_id()
        prediction = client.predict(task.name, [classification("animal", "dog")], request_id=key)
        again = client.predict(task.name, [classification("animal", "dog")], request_id=key)
        expect.equal(again, prediction, "the prediction the retry returns")
        conflict = pb.CreatePredictionRequest(
            parent=task.name,
            prediction=annotation_pb2.Prediction(
                results=[classification("animal", "bird")],
                inference_model="conformance-model",
                inference_model_version="1",
                score=0.5,
            ),
            request_id=key,
        )
        expect.rejects(
            lambda: client.call("CreatePrediction", conflict), ALREADY_EXISTS, "REQUEST_ID_CONFLICT"
        )
        counts = client.task(task.name)
        expect.equal(
            (counts.annotation_count, counts.prediction_count),
            (1, 1),
            "(annotation_count, prediction_count)",
        )
