"""Reviews (spec/annotation.md §3.9, ANN-064): verdicts on annotations by someone other than
their creator; the newest verdict shows on the annotation, and a rejection sends a COMPLETED
task back."""

from __future__ import annotations

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.standard_fields import MAX_DESCRIPTION, check_text, now_ns, timestamp
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.annotations import Annotations, task_of
from lepton_server.annotation.resource_checks import message_fields, new_id
from lepton_server.annotation.task_states import COMPLETED, REJECTED
from lepton_server.annotation.tasks import touch
from lepton_server.runtime.errors import FailedPrecondition, invalid_field
from lepton_server.runtime.principals import current_principal

REVIEWS = Listing((), ("create_time",), "create_time", "name", 100)


class Reviews:
    """Reviews of the store's annotations."""

    def __init__(
        self,
        store: AnnotationStore,
        annotations: Annotations,
        tokens: PageTokens,
        credentials_required: bool,
    ) -> None:
        self.store = store
        self.annotations = annotations
        self.tokens = tokens
        self.credentials_required = credentials_required

    def create(self, request: pb.CreateReviewRequest) -> an.Review:
        given = request.review
        if given.verdict not in (an.REVIEW_VERDICT_ACCEPTED, an.REVIEW_VERDICT_REJECTED):
            raise invalid_field("review.verdict", "a review is ACCEPTED or REJECTED")
        check_text(given.comment, "review.comment", MAX_DESCRIPTION)
        caller = current_principal()
        with self.store.atomic():
            annotation = self.annotations.get(request.parent, "parent")
            if self.credentials_required and caller == annotation.creator:
                raise FailedPrecondition(
                    reason="SELF_REVIEW",
                    message="an annotation is reviewed by someone other than its creator",
                    metadata={"resource_name": annotation.name},
                )
            review = an.Review(
                name=f"{annotation.name}/reviews/{new_id('r')}",
                verdict=given.verdict,
                comment=given.comment,
                creator=caller,
                create_time=timestamp(now_ns()),
            )
            self.store.put_review(annotation.name, review)
            annotation.review_verdict = given.verdict
            task_name = task_of(annotation.name)
            self.store.put_annotation(task_name, annotation)
            task = self.annotations.tasks.stored(task_name)
            if given.verdict == an.REVIEW_VERDICT_REJECTED and task.state == COMPLETED:
                task.state = REJECTED
                touch(task)
                self.store.put_task(task)
        return review

    def list(self, request: pb.ListReviewsRequest) -> tuple[list[an.Review], str]:
        annotation = self.annotations.get(request.parent, "parent")
        return REVIEWS.page(
            self.tokens,
            request,
            lambda: self.store.reviews(annotation.name),
            message_fields,
            annotation.name,
        )
