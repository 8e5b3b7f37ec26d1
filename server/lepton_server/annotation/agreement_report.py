"""ComputeAgreement (spec/annotation.md §3.10, ANN-065 to ANN-068): each creator's value of a
label per task read from the annotations, then measured by `agreement`."""

from __future__ import annotations

import math
from collections.abc import Hashable

from lepton.data.v1 import annotation_agreement_pb2 as ag
from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_server.annotation import agreement
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.annotations import task_of
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.tasks import Tasks
from lepton_server.runtime.errors import invalid_field

MEASURES = {
    ap.LABEL_KIND_CLASSIFICATION: "nominal",
    ap.LABEL_KIND_MULTI_LABEL: "nominal",
    ap.LABEL_KIND_RATING: "interval",
    ap.LABEL_KIND_BOUNDING_BOX: "boxes",
}


def _value(annotation: an.Annotation, spec: ap.LabelSpec) -> Hashable | None:
    """The creator's value of the label in one annotation (§3.10), None for no value."""
    results = [r for r in annotation.results if r.label == spec.name]
    if spec.kind == ap.LABEL_KIND_BOUNDING_BOX:
        return tuple(
            (b.class_name, b.x, b.y, b.width, b.height) for b in (r.bounding_box for r in results)
        )
    if spec.kind not in MEASURES:
        # Counted, not measured: any results (or none) are a value.
        return tuple(r.SerializeToString(deterministic=True) for r in results)
    if not results:
        return None
    result = results[0]
    if spec.kind == ap.LABEL_KIND_CLASSIFICATION:
        return result.classification.class_name
    if spec.kind == ap.LABEL_KIND_MULTI_LABEL:
        return frozenset(result.multi_label.class_names)
    return result.rating.rating


def annotator(annotation: an.Annotation) -> str:
    """Who the annotation counts as (§3.10): its external author when imported."""
    return annotation.external_author or annotation.creator


def _newest(annotations: list[an.Annotation]) -> an.Annotation:
    return max(annotations, key=lambda a: (a.update_time.ToNanoseconds(), a.name))


class AgreementReports:
    """Agreement of a project's annotators."""

    def __init__(self, store: AnnotationStore, projects: Projects, tasks: Tasks) -> None:
        self.store = store
        self.projects = projects
        self.tasks = tasks

    def compute(self, request: pb.ComputeAgreementRequest) -> pb.ComputeAgreementResponse:
        project = self.projects.stored(request.parent, "parent")
        specs = {spec.name: spec for spec in project.label_specs}
        for i, label in enumerate(request.labels):
            if label not in specs:
                raise invalid_field(f"labels[{i}]", f"the schema has no label {label!r}")
        threshold = request.iou_threshold
        if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
            raise invalid_field("iou_threshold", "an IoU is in [0, 1]")
        chosen = set(request.labels) or set(specs)
        tasks = {
            t.name for t in self.tasks.matching(project.name, request.task_filter, "task_filter")
        }
        raters, truths = self._latest(project.name, tasks)
        response = pb.ComputeAgreementResponse()
        for spec in project.label_specs:
            if spec.name not in chosen:
                continue
            ratings = []
            for (task, creator), annotation in sorted(raters.items()):
                value = _value(annotation, spec)
                if value is not None:
                    ratings.append(agreement.Rating(task, creator, value, ground_truth=False))
            for task, annotation in sorted(truths.items()):
                value = _value(annotation, spec)
                if value is not None:
                    ratings.append(agreement.Rating(task, annotator(annotation), value, True))
            measure = MEASURES.get(spec.kind)
            result = agreement.label_agreement(ratings, measure or "nominal", threshold or 0.5)
            response.labels.append(_label_message(spec, result, measured=measure is not None))
        return response

    def _latest(
        self, project: str, tasks: set[str]
    ) -> tuple[dict[tuple[str, str], an.Annotation], dict[str, an.Annotation]]:
        """Per (task, creator) the newest non-skipped rater annotation, and per task the newest
        non-skipped ground-truth annotation."""
        by_rater: dict[tuple[str, str], list[an.Annotation]] = {}
        by_truth: dict[str, list[an.Annotation]] = {}
        for annotation in self.store.annotations(project=project):
            task = task_of(annotation.name)
            if annotation.skipped or task not in tasks:
                continue
            if annotation.ground_truth:
                by_truth.setdefault(task, []).append(annotation)
            else:
                by_rater.setdefault((task, annotator(annotation)), []).append(annotation)
        return (
            {key: _newest(group) for key, group in by_rater.items()},
            {key: _newest(group) for key, group in by_truth.items()},
        )


def _set(message, field: str, value: float | None) -> None:
    if value is not None:
        setattr(message, field, value)


def _label_message(
    spec: ap.LabelSpec, result: agreement.LabelResult, measured: bool
) -> ag.LabelAgreement:
    message = ag.LabelAgreement(
        label=spec.name,
        kind=spec.kind,
        task_count=result.task_count,
        annotator_count=result.annotator_count,
    )
    if measured:
        _set(message, "fleiss_kappa", result.fleiss_kappa)
        _set(message, "krippendorff_alpha", result.krippendorff_alpha)
        _set(message, "box_f1", result.box_f1)
    for pair in result.pairs:
        entry = message.pairs.add(first=pair.first, second=pair.second, task_count=pair.task_count)
        if measured:
            _set(entry, "cohen_kappa", pair.cohen_kappa)
            _set(entry, "f1", pair.f1)
    for person in result.annotators:
        entry = message.annotators.add(
            annotator=person.annotator,
            task_count=person.task_count,
            ground_truth_task_count=person.ground_truth_task_count,
        )
        if measured:
            _set(entry, "mean_pairwise_agreement", person.mean_pairwise_agreement)
            _set(entry, "ground_truth_accuracy", person.ground_truth_accuracy)
            _set(entry, "ground_truth_kappa", person.ground_truth_kappa)
            _set(entry, "ground_truth_f1", person.ground_truth_f1)
    return message
