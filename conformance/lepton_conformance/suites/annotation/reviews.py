"""annotation-core cases of reviews (ANN-064): verdicts recorded by another principal, the
annotation's review_verdict, REJECTED sending a COMPLETED task back, refusals, self-review on
a server that requires credentials, listing, and reviews deleted with their annotation.

With --token the reviewer is the first --annotator-token's principal; without credentials the
server has one principal, which may review its own annotations."""

from __future__ import annotations

from lepton.data.v1 import annotation_pb2
from lepton.data.v1 import annotation_service_pb2 as pb
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
    ACCEPTED_VERDICT,
    COMPLETED,
    IN_PROGRESS,
    REJECTED,
    REJECTED_VERDICT,
    AnnotationClient,
    classification,
    state_name,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.principals import (
    annotators,
    check_creator,
    credentialed,
    distinct,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Review = annotation_pb2.Review


def reviewer_of(client: AnnotationClient) -> AnnotationClient:
    """Who reviews the case's annotations: another principal when the server has them."""
    return annotators(client, 1)[0] if credentialed(client.ctx) else client


def _review(client: AnnotationClient, annotation: str, review: Review) -> Review:
    return client.call(
        "CreateReview", pb.CreateReviewRequest(parent=annotation, review=review)
    ).review


@CASES.case(CORE, "reviews.verdicts-mark-the-annotation-and-reject-the-task", "ANN-064", "GEN-014")
def verdicts(ctx: CaseContext) -> None:
    """CreateReview records the verdict, comment, creator and create_time under the
    annotation; review_verdict follows the newest review without a new etag or update_time;
    REJECTED moves a COMPLETED task to REJECTED and leaves other states."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        reviewer = reviewer_of(client)
        _, (task, other) = project_with_tasks(client, data, 2)
        annotation = client.annotate(task.name, [classification("animal", "cat")])
        client.set_state(task.name, COMPLETED)
        accepted = reviewer.review(annotation.name, ACCEPTED_VERDICT, "looks right")
        expect.holds(
            accepted.name.startswith(f"{annotation.name}/reviews/"),
            "a review under the annotation",
            accepted.name,
        )
        expect.equal(
            (accepted.verdict, accepted.comment),
            (ACCEPTED_VERDICT, "looks right"),
            "(verdict, comment)",
        )
        expect.holds(accepted.HasField("create_time"), "a create_time", "none")
        check_creator(ctx, accepted.creator, "the review's creator")
        if credentialed(ctx):
            distinct(
                [annotation.creator, accepted.creator], "the annotation's and the review's creators"
            )
        marked = client.annotation(annotation.name)
        expect.equal(marked.review_verdict, ACCEPTED_VERDICT, "review_verdict after ACCEPTED")
        expect.equal(
            (marked.etag, marked.update_time),
            (annotation.etag, annotation.update_time),
            "(etag, update_time)",
        )
        expect.equal(
            state_name(client.task(task.name).state), state_name(COMPLETED), "state after ACCEPTED"
        )
        reviewer.review(annotation.name, REJECTED_VERDICT, "wrong animal")
        expect.equal(
            client.annotation(annotation.name).review_verdict,
            REJECTED_VERDICT,
            "review_verdict after REJECTED",
        )
        expect.equal(
            state_name(client.task(task.name).state), state_name(REJECTED), "state after REJECTED"
        )
        open_one = client.annotate(other.name, [classification("animal", "dog")])
        reviewer.review(open_one.name, REJECTED_VERDICT)
        expect.equal(
            state_name(client.task(other.name).state),
            state_name(IN_PROGRESS),
            "an IN_PROGRESS task's state",
        )
        rejected = client.annotations(
            f"{task.name.rsplit('/tasks/', 1)[0]}/tasks/-", filter="review_verdict = REJECTED"
        )
        expect.equal(
            sorted(a.name for a in rejected),
            sorted([annotation.name, open_one.name]),
            "REJECTED annotations",
        )


@CASES.case(CORE, "reviews.refusals-and-listing", "ANN-064", "ANN-002")
def refusals_and_listing(ctx: CaseContext) -> None:
    """An UNSPECIFIED verdict or a comment over 16384 characters is INVALID_FIELD;
    ListReviews returns the reviews oldest first, in pages; deleting the annotation deletes
    its reviews."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        reviewer = reviewer_of(client)
        _, (task,) = project_with_tasks(client, data, 1)
        annotation = client.annotate(task.name, [classification("animal", "cat")])
        for review, field in (
            (Review(comment="no verdict"), "review.verdict"),
            (Review(verdict=ACCEPTED_VERDICT, comment="c" * 16385), "review.comment"),
        ):
            expect.rejects(
                lambda review=review: _review(reviewer, annotation.name, review),
                INVALID,
                "INVALID_FIELD",
                field=field,
            )
        made = [
            reviewer.review(annotation.name, ACCEPTED_VERDICT, "c" * 16384),
            reviewer.review(annotation.name, REJECTED_VERDICT, "second"),
            reviewer.review(annotation.name, ACCEPTED_VERDICT, "third"),
        ]
        for page_size in (0, 1):
            listed = client.walk(
                "ListReviews", pb.ListReviewsRequest(parent=annotation.name, page_size=page_size)
            )
            expect.equal(listed, made, f"the reviews, oldest first (page_size {page_size})")
        expect.equal(
            client.annotation(annotation.name).review_verdict,
            ACCEPTED_VERDICT,
            "the newest verdict",
        )
        client.ok("DeleteAnnotation", pb.DeleteAnnotationRequest(name=annotation.name))
        not_found(
            lambda: client.call("ListReviews", pb.ListReviewsRequest(parent=annotation.name)),
            annotation.name,
        )
        again = client.annotate(task.name, [classification("animal", "cat")])
        expect.equal(
            client.walk("ListReviews", pb.ListReviewsRequest(parent=again.name)),
            [],
            "reviews of a new one",
        )


@CASES.case(CORE, "reviews.self-review-needs-another-principal", "ANN-064")
def self_review(ctx: CaseContext) -> None:
    """On a server that requires credentials, a review by the annotation's own creator is
    FAILED_PRECONDITION [SELF_REVIEW] and records nothing; another principal's is accepted.
    A server without credentials has one principal, whose reviews are accepted."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        reviewer = reviewer_of(client)
        _, (task,) = project_with_tasks(client, data, 1)
        annotation = client.annotate(task.name, [classification("animal", "cat")])
        own = Review(verdict=ACCEPTED_VERDICT)
        if credentialed(ctx):
            expect.rejects(
                lambda: _review(client, annotation.name, own), FAILED_PRECONDITION, "SELF_REVIEW"
            )
            listed = client.walk("ListReviews", pb.ListReviewsRequest(parent=annotation.name))
            expect.equal(listed, [], "reviews after a refused self-review")
            expect.equal(
                client.annotation(annotation.name).review_verdict, 0, "review_verdict after it"
            )
        expect.succeeds(
            lambda: _review(reviewer, annotation.name, own), "a review by another principal"
        )
