"""Mutants of the annotation layer (spec/annotation.md): the reference server with one MUST of
the label schema, tasks, the separation of annotations and predictions, leases, reviews,
agreement, prediction jobs, export jobs or imports broken."""

from __future__ import annotations

import dataclasses

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import dataset_pb2 as resources
from lepton_server.annotation import (
    acceptance,
    agreement,
    annotation_exports,
    annotation_imports,
    annotation_store,
    annotations,
    export_tables,
    interchange_formats,
    label_results,
    leases,
    prediction_decoders,
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


def _predictions_exported(original):
    """An export reads a task's predictions as if they were annotations."""

    def mutated(self, plan, selection):
        store = self.store

        def with_predictions(*, task="", project=""):
            found = type(store).annotations(store, task=task, project=project)
            for prediction in store.predictions(task=task, project=project):
                found.append(
                    an.Annotation(
                        name=prediction.name.replace("/predictions/", "/annotations/"),
                        results=prediction.results,
                        creator=prediction.creator,
                        create_time=prediction.create_time,
                        update_time=prediction.create_time,
                    )
                )
            return found

        store.annotations = with_predictions
        try:
            return original(self, plan, selection)
        finally:
            del store.annotations

    return mutated


def _boxes_in_pixels(original):
    """An exported box is in pixels of the task's image (x and width times its width)."""

    def mutated(self, task, annotation):
        original(self, task, annotation)
        if not task.HasField("image_geometry"):
            return
        geometry = task.image_geometry
        for spec in self.specs:
            if spec.kind != ap.LABEL_KIND_BOUNDING_BOX:
                continue
            for box in self.labels[spec.name][-1] or []:
                box["x"], box["width"] = box["x"] * geometry.width, box["width"] * geometry.width
                box["y"], box["height"] = (
                    box["y"] * geometry.height,
                    box["height"] * geometry.height,
                )

    return mutated


def _commit_changed(change):
    """An export's commit as `change` makes it."""

    def make(original):
        async def mutated(self, handle, plan):
            catalog = self.catalog

            class Changed:
                def __getattr__(self, name):
                    return getattr(catalog(), name)

                async def commit_table(self, dataset, table, commit):
                    return await catalog().commit_table(dataset, table, change(commit))

            self.catalog = Changed
            try:
                return await original(self, handle, plan)
            finally:
                self.catalog = catalog

        return mutated

    return make


def _keeps_created_tasks(original):
    """A refused import leaves behind the tasks it created for the file's rows."""

    def mutated(self, request):
        self.store.delete_task = lambda name: None
        try:
            return original(self, request)
        finally:
            del self.store.delete_task

    return mutated


def _coco_in_pixels(original):
    """A COCO bbox is kept in pixels, not divided by the image's width and height."""

    def mutated(obj, spec, name, *, width, height, path):
        return original(obj, spec, name, width=1.0, height=1.0, path=path)

    return mutated


def _ties_to_the_higher_index(original):
    """The classification decoder breaks ties toward the higher class index."""

    def mutated(job, spec, outputs, batch):
        if job.WhichOneof("decoder") != "classification":
            return original(job, spec, outputs, batch)
        reversed_spec = ap.LabelSpec()
        reversed_spec.CopyFrom(spec)
        del reversed_spec.classes[:]
        reversed_spec.classes.extend(reversed(spec.classes))
        name = job.classification.output
        flipped = {**outputs, name: outputs[name][:, ::-1]}
        return original(job, reversed_spec, flipped, batch)

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
                "annotation-core.prediction-jobs.classification-takes-the-highest-score",
                "annotation-core.imports.coco-boxes-normalized-as-annotations-or-predictions",
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
                "annotation-core.exports.commit-one-version-with-the-columns-of-the-spec",
                "annotation-core.exports.selections-and-task-states-choose-the-rows",
                "annotation-core.imports.label-studio-annotations-and-predictions",
            }
        ),
    ),
    "annotation-geometry-swapped": Mutant(
        "ANN-055: the geometry read from an image has width and height swapped",
        replace(tasks, "read_geometry", _geometry_swapped),
        frozenset(
            {
                "annotation-core.geometry.read-from-the-image",
                "annotation-core.exports.commit-one-version-with-the-columns-of-the-spec",
                "annotation-core.exports.selections-and-task-states-choose-the-rows",
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
    "annotation-export-includes-predictions": Mutant(
        "ANN-037: an export job exports predictions as if they were annotations",
        replace(annotation_exports.AnnotationExports, "_table", _predictions_exported),
        frozenset(
            {
                "annotation-core.exports.commit-one-version-with-the-columns-of-the-spec",
                "annotation-core.exports.selections-and-task-states-choose-the-rows",
            }
        ),
    ),
    "annotation-prediction-job-repredicts-tasks": Mutant(
        "ANN-043, ANN-046: a prediction job predicts tasks that hold a prediction of its model "
        "version again",
        set_attribute(annotation_store.AnnotationStore, "predicted_tasks", lambda self, *_: set()),
        frozenset(
            {
                "annotation-core.prediction-jobs.each-model-version-predicts-once",
                "annotation-core.prediction-jobs.rerun-predicts-only-tasks-without-a-prediction",
                "annotation-core.prediction-jobs.cancelled-job-keeps-its-predictions-and-resumes",
            }
        ),
    ),
    "annotation-classification-ties-to-the-higher-index": Mutant(
        "ANN-044: the classification decoder breaks ties toward the higher class index",
        replace(prediction_decoders, "decode", _ties_to_the_higher_index),
        frozenset(
            {
                "annotation-core.prediction-jobs.classification-takes-the-highest-score",
                "annotation-core.prediction-jobs.classification-applies-softmax",
                "annotation-core.prediction-jobs.each-model-version-predicts-once",
            }
        ),
    ),
    "annotation-export-boxes-in-pixels": Mutant(
        "ANN-047: exported boxes are in pixels of the image, not normalized",
        replace(export_tables.ExportRows, "add", _boxes_in_pixels),
        frozenset(
            {
                "annotation-core.exports.commit-one-version-with-the-columns-of-the-spec",
                "annotation-core.exports.selections-and-task-states-choose-the-rows",
            }
        ),
    ),
    "annotation-export-ignores-the-expected-parent": Mutant(
        "ANN-051: an export commits although the destination's head is not expected_parent_version",
        replace(
            annotation_exports.AnnotationExports,
            "_work",
            _commit_changed(lambda commit: dataclasses.replace(commit, expected_parent=None)),
        ),
        frozenset(
            {
                "annotation-core.exports.stale-expected-parent-fails-and-commits-nothing",
            }
        ),
    ),
    "annotation-export-without-lineage": Mutant(
        "ANN-047: an export commits a plain write, whose lineage names neither the job nor "
        "the project's version",
        replace(
            annotation_exports.AnnotationExports,
            "_work",
            _commit_changed(
                lambda commit: dataclasses.replace(
                    commit, lineage=resources.Lineage(origin=resources.VERSION_ORIGIN_WRITE)
                )
            ),
        ),
        frozenset(
            {
                "annotation-core.exports.commit-one-version-with-the-columns-of-the-spec",
            }
        ),
    ),
    "annotation-import-keeps-partial-data": Mutant(
        "ANN-072: a refused import keeps the tasks it created for the file's rows",
        replace(annotation_imports.AnnotationImports, "run", _keeps_created_tasks),
        frozenset(
            {
                "annotation-core.imports.schema-mismatch-stores-nothing-of-the-file",
            }
        ),
    ),
    "annotation-coco-boxes-in-pixels": Mutant(
        "ANN-070: an imported COCO bbox is not divided by the image's width and height",
        replace(interchange_formats, "_coco_result", _coco_in_pixels),
        frozenset(
            {
                "annotation-core.imports.coco-boxes-normalized-as-annotations-or-predictions",
            }
        ),
    ),
}
