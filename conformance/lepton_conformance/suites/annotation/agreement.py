"""annotation-core cases of ComputeAgreement against golden sets with known answers
(vectors/agreement_sets.yaml, answers in agreement_expected.yaml from scikit-learn,
statsmodels and krippendorff): the report's shape and counts (ANN-065), chance-corrected kappa
and nominal or interval alpha (ANN-066), IoU-matched box F1 and ground truth as the reference,
never a rater (ANN-067), and refusals (ANN-068). The sets need three annotator principals
besides --token's, which makes the ground truth."""

from __future__ import annotations

from typing import Any

from lepton.data.v1 import annotation_project_pb2 as project_pb
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect, vectors
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.agreement_sets import GoldenSets, golden_sets
from lepton_conformance.suites.annotation.annotation_checks import (
    INVALID,
    NOT_FOUND,
    one,
    standard_project,
)
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
EXPECTED = vectors.load("lepton_conformance.suites.annotation", "agreement_expected.yaml")[
    "requests"
]
TOLERANCE = 1e-9
MEASURES = ("fleiss_kappa", "krippendorff_alpha", "box_f1")
PAIR_MEASURES = ("cohen_kappa", "f1")
ANNOTATOR_MEASURES = (
    "mean_pairwise_agreement",
    "ground_truth_accuracy",
    "ground_truth_kappa",
    "ground_truth_f1",
)


def compute(client: AnnotationClient, parent: str, **fields: Any) -> list[Any]:
    request = pb.ComputeAgreementRequest(parent=parent, **fields)
    return list(client.ok("ComputeAgreement", request).labels)


def check_value(message: Any, field: str, wanted: float | None, what: str) -> None:
    """An optional double: unset when `wanted` is None, else within 1e-9 of it."""
    if wanted is None:
        expect.holds(
            not message.HasField(field), f"{what}.{field} unset", repr(getattr(message, field))
        )
        return
    expect.holds(message.HasField(field), f"{what}.{field} = {wanted!r}", "unset")
    got = getattr(message, field)
    expect.holds(
        abs(got - wanted) <= TOLERANCE, f"{what}.{field} = {wanted!r} (within 1e-9)", repr(got)
    )


def check_label(got: Any, wanted: dict[str, Any], sets: GoldenSets, name: str) -> None:
    """One LabelAgreement against its expected answer, raters mapped to their principals."""
    expect.equal(
        (got.label, project_pb.LabelKind.Name(got.kind), got.task_count, got.annotator_count),
        (name, wanted["kind"], wanted["task_count"], wanted["annotator_count"]),
        f"(label, kind, task_count, annotator_count) of {name}",
    )
    for field in MEASURES:
        check_value(got, field, wanted[field], name)
    pairs = []
    for pair in wanted["pairs"]:
        first, second = sorted((sets.principal[pair["first"]], sets.principal[pair["second"]]))
        pairs.append((first, second, pair))
    pairs.sort(key=lambda p: (p[0], p[1]))
    expect.equal(
        [(p.first, p.second, p.task_count) for p in got.pairs],
        [(first, second, pair["task_count"]) for first, second, pair in pairs],
        f"(first, second, task_count) of the pairs of {name}",
    )
    for message, (_, _, pair) in zip(got.pairs, pairs, strict=True):
        for field in PAIR_MEASURES:
            check_value(
                message, field, pair[field], f"{name} pair {pair['first']}-{pair['second']}"
            )
    annotators = sorted(wanted["annotators"], key=lambda a: sets.principal[a["annotator"]])
    expect.equal(
        [(a.annotator, a.task_count, a.ground_truth_task_count) for a in got.annotators],
        [
            (sets.principal[a["annotator"]], a["task_count"], a["ground_truth_task_count"])
            for a in annotators
        ],
        f"(annotator, task_count, ground_truth_task_count) of the annotators of {name}",
    )
    for message, row in zip(got.annotators, annotators, strict=True):
        for field in ANNOTATOR_MEASURES:
            check_value(message, field, row[field], f"{name} annotator {row['annotator']}")


def check_answer(
    labels: list[Any], request_id: str, sets: GoldenSets, skip: tuple[str, ...] = ()
) -> None:
    """The labels of a ComputeAgreement answer against `request_id`'s expected ones."""
    wanted = {name: row for name, row in EXPECTED[request_id].items() if name not in skip}
    measured = [label for label in labels if label.label not in skip]
    expect.equal(
        [label.label for label in measured if label.label in wanted],
        list(wanted),
        f"the measured labels of {request_id}, in schema order",
    )
    for label in measured:
        if label.label in wanted:
            check_label(label, wanted[label.label], sets, label.label)


@CASES.case(CORE, "agreement.golden-sets-of-classes-and-ratings", "ANN-065", "ANN-066")
def golden_classes(ctx: CaseContext) -> None:
    """ComputeAgreement over every label of the golden project returns, in schema order, the
    counts, pairs and annotators and the Cohen, Fleiss and Krippendorff values computed by
    scikit-learn, statsmodels and krippendorff (nominal for classes and class sets, interval
    for ratings), within 1e-9; newer, skipped and ground-truth annotations of a rater change
    nothing; the text label reports no measure."""
    with AnnotationClient(ctx) as client:
        sets = golden_sets(client)
        labels = compute(client, sets.project)
        expect.equal(
            [label.label for label in labels],
            sets.label_names,
            "every label of the schema, in order",
        )
        check_answer(labels, "every-label", sets, skip=("box",))
        caption = one([label for label in labels if label.label == "caption"], "caption labels")
        for field in MEASURES:
            check_value(caption, field, None, "caption")
        for pair in caption.pairs:
            for field in PAIR_MEASURES:
                check_value(pair, field, None, "caption pair")


@CASES.case(CORE, "agreement.kappa-is-chance-corrected", "ANN-066")
def chance_corrected(ctx: CaseContext) -> None:
    """Two raters who agree on 11 of 12 tasks because one always answers the majority class
    have Cohen's kappa 0, not 0.92; a pair that only ever used one same class has none."""
    with AnnotationClient(ctx) as client:
        sets = golden_sets(client)
        majority = one(compute(client, sets.project, labels=["majority"]), "labels")
        r1, r2, r3 = (sets.principal[r] for r in ("r1", "r2", "r3"))
        found = {(p.first, p.second): p for p in majority.pairs}
        chance = found.get(tuple(sorted((r1, r2))))
        expect.holds(chance is not None, "the pair r1-r2", str(list(found)))
        check_value(chance, "cohen_kappa", 0.0, "majority pair r1-r2")
        one_class = found.get(tuple(sorted((r1, r3))))
        expect.holds(one_class is not None, "the pair r1-r3", str(list(found)))
        expect.equal(one_class.task_count, 2, "task_count of the pair r1-r3")
        check_value(one_class, "cohen_kappa", None, "majority pair r1-r3 (p_e = 1)")


@CASES.case(CORE, "agreement.box-f1-matches-within-class-by-iou", "ANN-067", "ANN-065")
def box_f1(ctx: CaseContext) -> None:
    """Box F1 per pair, per label and against ground truth matches same-class boxes one to
    one by IoU at the default threshold 0.5 and at a requested 0.1."""
    with AnnotationClient(ctx) as client:
        sets = golden_sets(client)
        only = ("animal", "colours", "quality", "majority")
        check_answer(compute(client, sets.project, labels=["box"]), "every-label", sets, skip=only)
        half = compute(client, sets.project, labels=["box"], iou_threshold=0.5)
        check_answer(half, "every-label", sets, skip=only)
        check_answer(
            compute(client, sets.project, labels=["box"], iou_threshold=0.1),
            "boxes-at-iou-0.1",
            sets,
        )


@CASES.case(CORE, "agreement.ground-truth-is-the-reference-not-a-rater", "ANN-067", "ANN-065")
def ground_truth(ctx: CaseContext) -> None:
    """The principal that made only ground-truth annotations is no annotator of any label
    and in no pair."""
    with AnnotationClient(ctx) as client:
        sets = golden_sets(client)
        for label in compute(client, sets.project):
            names = {a.annotator for a in label.annotators} | {p.first for p in label.pairs}
            names |= {p.second for p in label.pairs}
            expect.holds(
                sets.truth_principal not in names,
                f"the ground truth's principal outside the raters of {label.label}",
                str(sorted(names)),
            )


@CASES.case(CORE, "agreement.task-filter-and-schema-order", "ANN-065")
def filtered(ctx: CaseContext) -> None:
    """labels asked out of order come back in schema order, measured over the tasks
    task_filter selects."""
    with AnnotationClient(ctx) as client:
        sets = golden_sets(client)
        labels = compute(
            client, sets.project, labels=["quality", "animal"], task_filter="row_index < 6"
        )
        expect.equal(
            [label.label for label in labels], ["animal", "quality"], "the labels, in schema order"
        )
        check_answer(labels, "first-six-rows", sets)


@CASES.case(CORE, "agreement.refusals", "ANN-068")
def refusals(ctx: CaseContext) -> None:
    """An unknown label is INVALID_FIELD on labels[i], an iou_threshold outside [0, 1]
    INVALID_FIELD, a task_filter ListAnnotationTasks refuses INVALID_FILTER, a missing
    project NOT_FOUND."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data).name
        for fields, code, reason, field in (
            ({"labels": ["animal", "colour"]}, INVALID, "INVALID_FIELD", "labels[1]"),
            ({"iou_threshold": 1.5}, INVALID, "INVALID_FIELD", "iou_threshold"),
            ({"iou_threshold": -0.25}, INVALID, "INVALID_FIELD", "iou_threshold"),
            ({"task_filter": 'name = "x"'}, INVALID, "INVALID_FILTER", "task_filter"),
            ({"task_filter": "state = DONE"}, INVALID, "INVALID_FILTER", "task_filter"),
        ):
            request = pb.ComputeAgreementRequest(parent=project, **fields)
            expect.rejects(
                lambda request=request: client.call("ComputeAgreement", request),
                code,
                reason,
                field=field,
            )
        missing = f"{project}-missing"
        expect.rejects(
            lambda: client.call("ComputeAgreement", pb.ComputeAgreementRequest(parent=missing)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            metadata={"resource_name": missing},
        )
        empty = compute(client, project, labels=["animal"])
        expect.equal(
            [(a.label, a.task_count, a.annotator_count, len(a.pairs)) for a in empty],
            [("animal", 0, 0, 0)],
            "the agreement of a project without annotations",
        )
