"""Inter-annotator agreement (spec/annotation.md, "Agreement"; annotation_agreement.proto):
Cohen's kappa, Fleiss' kappa, Krippendorff's alpha and IoU-matched box F1, and the per-label
report ComputeAgreement returns. Pure Python, no protobuf: the servicer converts the result."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import cast

# (class_name, x, y, width, height), normalized to [0, 1].
Box = tuple[str, float, float, float, float]

MEASURES = ("nominal", "interval", "boxes")
ALPHA_LEVELS = ("nominal", "interval")


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Nominal Cohen's kappa of two raters, one (a, b) pair per item; None when there is no
    pair or when chance agreement is 1 (both raters always give the same single value)."""
    n = len(pairs)
    if n == 0:
        return None
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    agreed = sum(1 for a, b in pairs if a == b)
    # Work in counts (p_o = agreed / n, p_e = chance / n^2): exact integers until the division.
    chance = sum(count * second[value] for value, count in first.items())
    if chance == n * n:
        return None
    return (n * agreed - chance) / (n * n - chance)


def fleiss_kappa(items: Sequence[Sequence[Hashable]]) -> float | None:
    """Fleiss' kappa, generalised to a varying number of raters per item; items with fewer
    than two values are ignored. None when no item is left or only one category is used."""
    rated = [Counter(values) for values in items if len(values) >= 2]
    if not rated:
        return None
    totals: Counter[Hashable] = Counter()
    for counts in rated:
        totals.update(counts)
    # P_e == 1 exactly when a single category is used; test that rather than a float.
    if len(totals) < 2:
        return None
    agreement = 0.0
    for counts in rated:
        n_i = sum(counts.values())
        agreement += (sum(c * c for c in counts.values()) - n_i) / (n_i * (n_i - 1))
    p_bar = agreement / len(rated)
    grand = sum(totals.values())
    p_e = sum((count / grand) ** 2 for count in totals.values())
    return (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha(
    items: Sequence[Sequence[Hashable | float]], level: str = "nominal"
) -> float | None:
    """Krippendorff's alpha from the coincidence matrix (Krippendorff 2011). Each item holds
    the values of the coders of one unit; units with fewer than two values are not pairable.
    None when fewer than two pairable values or the expected disagreement is 0."""
    if level not in ALPHA_LEVELS:
        raise ValueError(f"level must be one of {ALPHA_LEVELS}, not {level!r}")
    units = [list(values) for values in items if len(values) >= 2]
    pooled = [value for unit in units for value in unit]
    n = len(pooled)
    # Expected disagreement is 0 exactly when every pairable value is the same.
    if n < 2 or len(set(pooled)) < 2:
        return None
    if level == "nominal":
        # A unit of m values adds o_ck = n_uc * n_uk / (m - 1) to the coincidence matrix, so
        # its disagreeing mass is (m^2 - sum_c n_uc^2) / (m - 1).
        observed = 0.0
        for unit in units:
            m = len(unit)
            observed += (m * m - sum(c * c for c in Counter(unit).values())) / (m - 1)
        expected = float(n * n - sum(c * c for c in Counter(pooled).values()))
    else:
        # sum_{i != j} (v_i - v_j)^2 = 2 m sum (v - mean)^2: centred, so no cancellation.
        observed = 0.0
        for unit in units:
            numbers = [float(cast(float, v)) for v in unit]
            observed += 2 * len(numbers) * _squared_deviation(numbers) / (len(numbers) - 1)
        numbers = [float(cast(float, v)) for v in pooled]
        expected = 2 * n * _squared_deviation(numbers)
    if expected == 0:
        return None
    return 1 - (n - 1) * observed / expected


def _squared_deviation(numbers: Sequence[float]) -> float:
    mean = math.fsum(numbers) / len(numbers)
    return math.fsum((v - mean) ** 2 for v in numbers)


def box_iou(p: Box, q: Box) -> float:
    """Intersection over union of two boxes' areas (their classes are not compared); 0 when
    the union is empty (two degenerate boxes)."""
    _, px, py, pw, ph = p
    _, qx, qy, qw, qh = q
    width = min(px + pw, qx + qw) - max(px, qx)
    height = min(py + ph, qy + qh) - max(py, qy)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = pw * ph + qw * qh - inter
    return inter / union if union > 0 else 0.0


def match_boxes(a: Sequence[Box], b: Sequence[Box], iou_threshold: float) -> int:
    """The number of pairs of a greedy one-to-one matching of same-class boxes, best IoU
    first (ties: lower index in a, then in b); a pair needs IoU >= threshold and IoU > 0."""
    candidates = []
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            if p[0] != q[0]:
                continue
            iou = box_iou(p, q)
            if iou > 0 and iou >= iou_threshold:
                candidates.append((-iou, i, j))
    # Greedy, like COCO-style evaluation: deterministic and what annotators expect to see,
    # even though a maximum matching could sometimes pair more boxes.
    candidates.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(used_a)


def f1_score(true_positive: int, a_count: int, b_count: int) -> float | None:
    """F1 of two box sets with `true_positive` matched pairs: 2 tp / (|a| + |b|) (symmetric,
    so neither side is the reference); None when neither side has a box."""
    total = a_count + b_count
    if total == 0:
        return None
    return 2 * true_positive / total


@dataclass(frozen=True)
class Rating:
    """One annotator's value for a label on one task. `value` is a category (str, frozenset
    for multi-label, int for a rating) or, for bounding boxes, a tuple of boxes."""

    task: str
    annotator: str
    value: Hashable | tuple[Box, ...]
    ground_truth: bool


@dataclass
class PairResult:
    first: str
    second: str
    task_count: int
    cohen_kappa: float | None
    f1: float | None


@dataclass
class AnnotatorResult:
    annotator: str
    task_count: int
    mean_pairwise_agreement: float | None
    ground_truth_task_count: int
    ground_truth_accuracy: float | None
    ground_truth_kappa: float | None
    ground_truth_f1: float | None


@dataclass
class LabelResult:
    task_count: int
    annotator_count: int
    fleiss_kappa: float | None
    krippendorff_alpha: float | None
    box_f1: float | None
    pairs: list[PairResult] = field(default_factory=list)
    annotators: list[AnnotatorResult] = field(default_factory=list)


@dataclass
class _BoxTally:
    """Pooled box counts: F1 over several tasks is 2 * sum matches / sum counts, not a mean
    of per-task F1s, so that a task with many boxes weighs more than one with a single box."""

    matches: int = 0
    a_count: int = 0
    b_count: int = 0

    def add(self, a: Hashable, b: Hashable, iou_threshold: float) -> None:
        # label_agreement stores every value as a Hashable; for boxes it is a tuple of Box.
        mine, theirs = cast("tuple[Box, ...]", a), cast("tuple[Box, ...]", b)
        self.matches += match_boxes(mine, theirs, iou_threshold)
        self.a_count += len(mine)
        self.b_count += len(theirs)

    def f1(self) -> float | None:
        return f1_score(self.matches, self.a_count, self.b_count)


def label_agreement(
    ratings: Iterable[Rating], measure: str, iou_threshold: float = 0.5
) -> LabelResult:
    """The agreement report of one label. `measure` is "nominal" (classification,
    multi-label), "interval" (ratings: categories for the kappas, interval metric for alpha)
    or "boxes" (bounding boxes: only the F1 fields). Ground-truth ratings are the reference,
    not raters; a later rating of the same (task, annotator), or task for ground truth,
    replaces an earlier one."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, not {measure!r}")
    boxes = measure == "boxes"
    by_task: dict[str, dict[str, Hashable]] = {}
    truth: dict[str, Hashable] = {}
    for rating in ratings:
        # A list of boxes would not be hashable, nor compare equal to the same tuple.
        value = tuple(cast("Iterable[Box]", rating.value)) if boxes else rating.value
        if rating.ground_truth:
            truth[rating.task] = value
        else:
            by_task.setdefault(rating.task, {})[rating.annotator] = value
    by_annotator: dict[str, dict[str, Hashable]] = {}
    for task, values in by_task.items():
        for annotator, value in values.items():
            by_annotator.setdefault(annotator, {})[task] = value
    names = sorted(by_annotator)

    items = [list(values.values()) for values in by_task.values() if len(values) >= 2]
    fleiss = alpha = None
    if not boxes:
        fleiss = fleiss_kappa(items)
        alpha = krippendorff_alpha(items, measure)

    pairs: list[PairResult] = []
    pooled = _BoxTally()
    for first, second in combinations(names, 2):
        mine, theirs = by_annotator[first], by_annotator[second]
        common = [task for task in mine if task in theirs]
        if not common:
            continue
        kappa = f1 = None
        if boxes:
            tally = _BoxTally()
            for task in common:
                tally.add(mine[task], theirs[task], iou_threshold)
                pooled.add(mine[task], theirs[task], iou_threshold)
            f1 = tally.f1()
        else:
            kappa = cohen_kappa([(mine[t], theirs[t]) for t in common])
        pairs.append(PairResult(first, second, len(common), kappa, f1))

    annotators = [
        _annotator_result(
            name, by_annotator[name], truth, pairs, boxes=boxes, iou_threshold=iou_threshold
        )
        for name in names
    ]
    return LabelResult(
        task_count=len(items),
        annotator_count=len(names),
        fleiss_kappa=fleiss,
        krippendorff_alpha=alpha,
        box_f1=pooled.f1() if boxes else None,
        pairs=pairs,
        annotators=annotators,
    )


def _annotator_result(
    name: str,
    values: dict[str, Hashable],
    truth: dict[str, Hashable],
    pairs: Sequence[PairResult],
    *,
    boxes: bool,
    iou_threshold: float,
) -> AnnotatorResult:
    # Weighted by the pair's task count: a pair sharing 50 tasks says more than one sharing 2.
    weighted = weight = 0.0
    for pair in pairs:
        if name not in (pair.first, pair.second):
            continue
        score = pair.f1 if boxes else pair.cohen_kappa
        if score is not None:
            weighted += score * pair.task_count
            weight += pair.task_count
    mean = weighted / weight if weight else None

    checked = [task for task in values if task in truth]
    accuracy = kappa = f1 = None
    if checked and boxes:
        tally = _BoxTally()
        for task in checked:
            tally.add(values[task], truth[task], iou_threshold)
        f1 = tally.f1()
    elif checked:
        against = [(values[task], truth[task]) for task in checked]
        accuracy = sum(1 for mine, reference in against if mine == reference) / len(against)
        kappa = cohen_kappa(against)
    return AnnotatorResult(
        annotator=name,
        task_count=len(values),
        mean_pairwise_agreement=mean,
        ground_truth_task_count=len(checked),
        ground_truth_accuracy=accuracy,
        ground_truth_kappa=kappa,
        ground_truth_f1=f1,
    )
