"""Mutants of the annotation layer (spec/annotation.md): the reference server with one MUST of
the label schema, tasks, the separation of annotations and predictions, leases, reviews or
agreement broken."""

from __future__ import annotations

from lepton.data.v1 import annotation_pb2 as an
from lepton_server.annotation import (
    acceptance,
    agreement,
    annotation_store,
    annotations,
    label_results,
    leases,
    projects,
    reviews,
    task_states,
    tasks,
)
from mutants.mutation import Mutant, replace, set_attribute


def _predictions_listed_as_annotations(original):
    """ListAnnotations also returns the task's predictions, as annotations."""

    def mutated(self, *, task="", project=""):
        found = original(self, task=task, project=project)
        for prediction in self.predictions(task=task, project=project):
            found.append(
                an.Annotation(
                    name=prediction.name,
                    results=prediction.results,
                    creator=prediction.creator,
                    create_time=prediction.create_time,
                    update_time=prediction.create_time,
                )
            )
        return found

    return mutated


def _leases_never_expire(original):
    """A lease is stored with an expiry a year away, whatever the duration asked for."""

    def mutated(self, *args):
        *kept, now, _ = args
        return original(self, *kept, now, now + 365 * 24 * 3600 * 10**9)

    return mutated


def _raw_agreement(pairs):
    """Cohen's kappa without chance correction: the share of equal values."""
    pairs = list(pairs)
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else None


def _accept_without_source(original):
    """An accepted prediction becomes an annotation that does not name its source."""

    def mutated(self, task, prediction, caller, complete):
        unlinked = an.Prediction()
        unlinked.CopyFrom(prediction)
        record = self.annotations.record

        def without_source(task_name, annotation):
            annotation.source_prediction = ""
            return record(task_name, annotation)

        self.annotations.record = without_source
        try:
            return original(self, task, unlinked, caller, complete)
        finally:
            self.annotations.record = record

    return mutated


def _most_confident_first(original):
    """AcquireNextTask hands out the most confident task first."""

    def mutated(self, project, required, now):
        facts = self.store.task_facts(project, now)
        for fact in facts.values():
            if fact.prediction_score is not None:
                object.__setattr__(fact, "prediction_score", 1.0 - fact.prediction_score)
        store_facts = self.store.task_facts
        self.store.task_facts = lambda *_: facts
        try:
            return original(self, project, required, now)
        finally:
            self.store.task_facts = store_facts

    return mutated


def _rejection_keeps_the_task(original):
    """A REJECTED review leaves a COMPLETED task COMPLETED."""

    def mutated(self, request):
        if request.review.verdict != an.REVIEW_VERDICT_REJECTED:
            return original(self, request)
        put_task = self.store.put_task
        self.store.put_task = lambda task: None
        try:
            return original(self, request)
        finally:
            self.store.put_task = put_task

    return mutated


def _self_review_allowed(original):
    """Reviews are taken from anyone, the annotation's creator included."""

    def mutated(self, request):
        self.credentials_required = False
        return original(self, request)

    return mutated


def _nominal_everywhere(original):
    """Krippendorff's alpha of ratings is computed as nominal, not interval."""

    def mutated(items, level="nominal"):
        return original(items, "nominal")

    return mutated


def _boxes_match_across_classes(original):
    """Boxes of different classes match when they overlap enough."""

    def mutated(a, b, iou_threshold):
        return original(
            [("x", *box[1:]) for box in a], [("x", *box[1:]) for box in b], iou_threshold
        )

    return mutated


def _span_text_from_client(original):
    """A span's text is what the client sent, not the covered text of the row."""

    def mutated(span, spec, at, text_of, known):
        sent = span.text
        original(span, spec, at, text_of, known)
        span.text = sent

    return mutated


def _geometry_swapped(original):
    """The image geometry read from the image has its width and height swapped."""

    def mutated(image):
        found = original(image)
        if found is not None:
            found.width, found.height = found.height, found.width
        return found

    return mutated


def _creator_from_the_request(original):
    """An annotation's creator is the value the client sent, when it sent one."""

    def mutated(self, request):
        sent = request.annotation.creator
        made = original(self, request)
        if sent:
            made.creator = sent
            self.store.put_annotation(annotations.task_of(made.name), made)
        return made

    return mutated


MUTANTS: dict[str, Mutant] = {
    "annotation-predictions-listed-as-annotations": Mutant(
        "ANN-037: ListAnnotations returns predictions as annotations",
        replace(
            annotation_store.AnnotationStore, "annotations", _predictions_listed_as_annotations
        ),
        frozenset(
            {
                "annotation-core.accepting.best-prediction-becomes-an-annotation-once",
                "annotation-core.accepting.filter-min-score-and-one-task",
                "annotation-core.accepting.refusals-create-nothing",
                "annotation-core.annotations.list-oldest-first-with-filters",
                "annotation-core.annotations.source-prediction-of-the-same-task",
                "annotation-core.predictions.never-mix-with-annotations",
            }
        ),
    ),
    "annotation-lease-never-expires": Mutant(
        "ANN-061: a lease outlives its lease_duration",
        replace(annotation_store.AnnotationStore, "put_lease", _leases_never_expire),
        frozenset(
            {
                "annotation-core.leases.acquire-returns-the-full-task-with-the-lease",
                "annotation-core.leases.expire-at-their-time",
                "annotation-core.leases.expired-lease-frees-the-place",
            }
        ),
    ),
    "annotation-kappa-without-chance-correction": Mutant(
        "ANN-066: Cohen's kappa is the raw share of agreement",
        set_attribute(agreement, "cohen_kappa", _raw_agreement),
        frozenset(
            {
                "annotation-core.agreement.golden-sets-of-classes-and-ratings",
                "annotation-core.agreement.kappa-is-chance-corrected",
                "annotation-core.agreement.task-filter-and-schema-order",
            }
        ),
    ),
    "annotation-accept-loses-the-source": Mutant(
        "ANN-062: an accepted prediction's annotation does not name the prediction",
        replace(acceptance.Acceptance, "_accept", _accept_without_source),
        frozenset(
            {
                "annotation-core.accepting.best-prediction-becomes-an-annotation-once",
                "annotation-core.accepting.filter-min-score-and-one-task",
            }
        ),
    ),
    "annotation-most-confident-first": Mutant(
        "ANN-059: AcquireNextTask hands out the most confident task first",
        replace(leases.Leases, "_next", _most_confident_first),
        frozenset(
            {
                "annotation-core.leases.least-confident-first",
            }
        ),
    ),
    "annotation-self-review-allowed": Mutant(
        "ANN-064: a server with credentials accepts a review by the annotation's creator",
        replace(reviews.Reviews, "create", _self_review_allowed),
        frozenset(
            {
                "annotation-core.reviews.self-review-needs-another-principal",
            }
        ),
    ),
    "annotation-rejection-keeps-the-task-completed": Mutant(
        "ANN-064: a REJECTED review leaves a COMPLETED task COMPLETED",
        replace(reviews.Reviews, "create", _rejection_keeps_the_task),
        frozenset(
            {
                "annotation-core.reviews.verdicts-mark-the-annotation-and-reject-the-task",
            }
        ),
    ),
    "annotation-schema-change-not-checked": Mutant(
        "ANN-009: an update may remove, rename or reorder labels and classes",
        set_attribute(projects, "check_extension", lambda old, new: None),
        frozenset(
            {
                "annotation-core.schemas.update-refuses-class-removed",
                "annotation-core.schemas.update-refuses-class-renamed",
                "annotation-core.schemas.update-refuses-classes-reordered",
                "annotation-core.schemas.update-refuses-kind-changed",
                "annotation-core.schemas.update-refuses-label-removed",
                "annotation-core.schemas.update-refuses-label-renamed",
                "annotation-core.schemas.update-refuses-labels-reordered",
                "annotation-core.schemas.update-refuses-source-column-changed",
            }
        ),
    ),
    "annotation-any-transition": Mutant(
        "ANN-023: a task moves between any two states",
        set_attribute(
            task_states, "ALLOWED", {s: set(task_states.ALLOWED) for s in task_states.ALLOWED}
        ),
        frozenset(
            {
                "annotation-core.states.explicit-transitions-follow-the-table",
                "annotation-core.states.stage-change-resets-the-state",
            }
        ),
    ),
    "annotation-ratings-alpha-nominal": Mutant(
        "ANN-066: Krippendorff's alpha of a RATING label is nominal",
        replace(agreement, "krippendorff_alpha", _nominal_everywhere),
        frozenset(
            {
                "annotation-core.agreement.golden-sets-of-classes-and-ratings",
                "annotation-core.agreement.task-filter-and-schema-order",
            }
        ),
    ),
    "annotation-boxes-match-across-classes": Mutant(
        "ANN-067: boxes of different classes match",
        replace(agreement, "match_boxes", _boxes_match_across_classes),
        frozenset(
            {
                "annotation-core.agreement.box-f1-matches-within-class-by-iou",
            }
        ),
    ),
    "annotation-span-text-from-the-client": Mutant(
        "ANN-031: a span keeps the text the client sent",
        replace(label_results, "_check_span", _span_text_from_client),
        frozenset(
            {
                "annotation-core.accepting.best-prediction-becomes-an-annotation-once",
                "annotation-core.results.boundaries-are-stored-with-span-texts",
            }
        ),
    ),
    "annotation-geometry-swapped": Mutant(
        "ANN-055: the geometry read from an image has width and height swapped",
        replace(tasks, "read_geometry", _geometry_swapped),
        frozenset(
            {
                "annotation-core.geometry.read-from-the-image",
            }
        ),
    ),
    "annotation-creator-from-the-request": Mutant(
        "ANN-029: an annotation's creator is the value the client sent",
        replace(annotations.Annotations, "create", _creator_from_the_request),
        frozenset(
            {
                "annotation-core.annotations.create-records-the-callers-principal",
                "annotation-core.annotations.output-only-fields-are-ignored",
            }
        ),
    ),
}
