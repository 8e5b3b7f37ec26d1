"""Agreement measures of the annotation layer (spec/annotation.md, "Agreement"), checked
against textbook values and reference implementations (scikit-learn, statsmodels,
krippendorff), and the per-label report ComputeAgreement answers with."""

from __future__ import annotations

import math
import random
from collections.abc import Hashable

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from lepton_server.annotation.agreement import (
    AnnotatorResult,
    PairResult,
    Rating,
    box_iou,
    cohen_kappa,
    f1_score,
    fleiss_kappa,
    krippendorff_alpha,
    label_agreement,
    match_boxes,
)

# --- Cohen's kappa ----------------------------------------------------------------------


def test_cohen_kappa_textbook_example() -> None:
    # Wikipedia "Cohen's kappa": 50 proposals; both yes 20, A yes B no 5, A no B yes 10,
    # both no 15. p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10
    pairs += [("no", "no")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)


@pytest.mark.parametrize("seed", range(6))
def test_cohen_kappa_matches_sklearn(seed: int) -> None:
    rng = random.Random(seed)
    categories = ["a", "b", "c", "d"][: rng.randint(2, 4)]
    n = rng.randint(5, 200)
    first = [rng.choice(categories) for _ in range(n)]
    # Correlated second rater, so kappa is not always near 0.
    second = [v if rng.random() < 0.6 else rng.choice(categories) for v in first]
    expected = cohen_kappa_score(first, second)
    assert cohen_kappa(list(zip(first, second, strict=True))) == pytest.approx(expected)


def test_cohen_kappa_undefined_and_perfect() -> None:
    assert cohen_kappa([]) is None
    # Both raters always say "a": chance agreement is 1.
    assert cohen_kappa([("a", "a")] * 5) is None
    assert cohen_kappa([("a", "a"), ("b", "b"), ("c", "c")]) == pytest.approx(1.0)
    # Multi-label values are frozensets: equal sets are the same category.
    pairs = [(frozenset({"x", "y"}), frozenset({"y", "x"})), (frozenset(), frozenset())]
    assert cohen_kappa(pairs) == pytest.approx(1.0)


def test_raw_agreement_without_chance_correction_is_misleading() -> None:
    # Two raters each saying "a" 95% of the time, independently of each other: they agree
    # on most items by chance alone, and kappa shows there is no real agreement.
    rng = random.Random(7)
    pairs = [
        ("a" if rng.random() < 0.95 else "b", "a" if rng.random() < 0.95 else "b")
        for _ in range(2000)
    ]
    raw = sum(1 for a, b in pairs if a == b) / len(pairs)
    kappa = cohen_kappa(pairs)
    assert raw > 0.85
    assert kappa is not None
    assert kappa < 0.2
    # The same, deterministic: 90 both "a", 5 each way "a"/"b". p_o = 0.9,
    # p_e = 0.95^2 + 0.05^2 = 0.905, kappa = -0.005 / 0.095.
    pairs = [("a", "a")] * 90 + [("a", "b")] * 5 + [("b", "a")] * 5
    assert cohen_kappa(pairs) == pytest.approx(-0.005 / 0.095)


# --- Fleiss' kappa ----------------------------------------------------------------------

# Wikipedia "Fleiss' kappa" worked example: 10 subjects, 14 raters, 5 categories.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def items_from_counts(table: list[list[int]]) -> list[list[int]]:
    return [[j + 1 for j, count in enumerate(row) for _ in range(count)] for row in table]


def test_fleiss_kappa_wikipedia_example() -> None:
    items = items_from_counts(WIKIPEDIA_FLEISS)
    assert all(len(item) == 14 for item in items)
    kappa = fleiss_kappa(items)
    assert kappa == pytest.approx(0.20993, abs=5e-5)
    assert kappa == pytest.approx(statsmodels_fleiss(np.array(WIKIPEDIA_FLEISS)))


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_kappa_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    subjects, raters, categories = int(rng.integers(5, 60)), int(rng.integers(2, 8)), 4
    truth = rng.integers(0, categories, size=subjects)
    # Each rater copies the subject's category with probability 0.5, else guesses.
    guesses = rng.integers(0, categories, size=(subjects, raters))
    ratings = np.where(rng.random((subjects, raters)) < 0.5, truth[:, None], guesses)
    table = np.stack([np.bincount(row, minlength=categories) for row in ratings])
    items = [[int(v) for v in row] for row in ratings]
    assert fleiss_kappa(items) == pytest.approx(statsmodels_fleiss(table, method="fleiss"))


def test_fleiss_kappa_varying_raters_and_undefined() -> None:
    # P_1 = 1, P_2 = (1 + 4 - 3) / 6 = 1/3, P_bar = 2/3; p_a = 3/5, p_b = 2/5,
    # P_e = 13/25; kappa = (2/3 - 13/25) / (12/25) = 11/36. The lone value is ignored.
    assert fleiss_kappa([["a", "a"], ["a", "b", "b"], ["c"]]) == pytest.approx(11 / 36)
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([["a"], ["b"]]) is None
    assert fleiss_kappa([["a", "a"], ["a", "a", "a"]]) is None


# --- Krippendorff's alpha ---------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the reliability data of
# 4 observers and 12 units with missing values ('.').
KRIPPENDORFF_2011 = {
    "A": "1 2 3 3 2 1 4 1 2 . . .",
    "B": "1 2 3 3 2 2 4 1 2 5 . 3",
    "C": ". 3 3 3 2 3 4 2 2 5 1 .",
    "D": "1 2 3 3 2 4 4 1 2 5 1 .",
}


def reliability_rows(table: dict[str, str]) -> list[list[float]]:
    return [[math.nan if v == "." else float(v) for v in row.split()] for row in table.values()]


def items_from_rows(rows: list[list[float]]) -> list[list[float]]:
    # One item per unit (column): the values of the observers who coded it.
    return [[v for v in unit if not math.isnan(v)] for unit in zip(*rows, strict=True)]


def test_krippendorff_alpha_canonical_example() -> None:
    rows = reliability_rows(KRIPPENDORFF_2011)
    items = items_from_rows(rows)
    assert len(items) == 12
    assert [len(item) for item in items] == [3, 4, 4, 4, 4, 4, 4, 4, 4, 3, 2, 1]
    nominal = krippendorff_alpha(items, "nominal")
    interval = krippendorff_alpha(items, "interval")
    assert nominal == pytest.approx(0.743, abs=5e-4)
    assert interval == pytest.approx(0.849, abs=5e-4)
    for level, value in (("nominal", nominal), ("interval", interval)):
        reference = krippendorff.alpha(reliability_data=rows, level_of_measurement=level)
        assert value == pytest.approx(reference)
    # Nominal values need not be numbers.
    labels = [[f"v{int(v)}" for v in item] for item in items]
    assert krippendorff_alpha(labels) == pytest.approx(nominal)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("level", ["nominal", "interval"])
def test_krippendorff_alpha_matches_package(seed: int, level: str) -> None:
    rng = np.random.default_rng(seed)
    coders, units = int(rng.integers(2, 6)), int(rng.integers(10, 40))
    truth = rng.integers(1, 6, size=units)
    noisy = truth + rng.integers(-1, 2, size=(coders, units))
    data = np.where(rng.random((coders, units)) < 0.7, truth, noisy).astype(float)
    data[rng.random((coders, units)) < 0.25] = np.nan  # missing values
    rows = data.tolist()
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert krippendorff_alpha(items_from_rows(rows), level) == pytest.approx(expected)


def test_krippendorff_alpha_undefined_and_invalid() -> None:
    assert krippendorff_alpha([]) is None
    assert krippendorff_alpha([[1], [2], [3]]) is None  # nothing pairable
    assert krippendorff_alpha([[2, 2], [2, 2, 2]], "interval") is None  # no variation
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha([[1, 2]], "ordinal")


# --- Boxes ------------------------------------------------------------------------------


def strip(cls: str, left: float, right: float) -> tuple[str, float, float, float, float]:
    # A full-height box: its IoU with another strip is that of the two intervals.
    return (cls, left, 0.0, right - left, 1.0)


def test_box_iou() -> None:
    a = ("car", 0.0, 0.0, 0.5, 0.5)
    assert box_iou(a, a) == pytest.approx(1.0)
    # Intersection 0.25 * 0.5, union 0.25 + 0.25 - 0.125.
    assert box_iou(a, ("car", 0.25, 0.0, 0.5, 0.5)) == pytest.approx(1 / 3)
    assert box_iou(a, ("car", 0.5, 0.0, 0.5, 0.5)) == 0.0  # touching
    assert box_iou(a, ("car", 0.6, 0.6, 0.1, 0.1)) == 0.0  # apart
    assert box_iou(("car", 0.1, 0.1, 0.0, 0.0), ("car", 0.1, 0.1, 0.0, 0.0)) == 0.0


def test_match_boxes_class_threshold_and_zero_overlap() -> None:
    box = ("car", 0.0, 0.0, 0.5, 0.5)
    assert match_boxes([box], [("person", 0.0, 0.0, 0.5, 0.5)], 0.5) == 0
    # IoU exactly 0.5 (intersection 0.125, union 0.25): matches at 0.5, not above.
    half = ("car", 0.0, 0.0, 0.5, 0.25)
    assert box_iou(box, half) == 0.5
    assert match_boxes([box], [half], 0.5) == 1
    assert match_boxes([box], [half], 0.5000001) == 0
    # Touching boxes never match, even with a threshold of 0.
    assert match_boxes([box], [("car", 0.5, 0.0, 0.5, 0.5)], 0.0) == 0
    assert match_boxes([], [box], 0.5) == 0


def test_match_boxes_is_greedy_one_to_one() -> None:
    # a0-b0 IoU 1; a0-b1 and a1-b0 IoU 0.5; a1-b1 IoU 0.2. A maximum matching pairs 2, the
    # greedy matching takes a0-b0 first and then has nothing left above the threshold.
    a = [strip("car", 0.2, 0.8), strip("car", 0.0, 0.6)]
    b = [strip("car", 0.2, 0.8), strip("car", 0.4, 1.0)]
    assert match_boxes(a, b, 0.4) == 1
    # One box on one side matches at most one on the other.
    assert match_boxes([strip("car", 0.0, 1.0)], [strip("car", 0.0, 1.0)] * 3, 0.5) == 1
    assert match_boxes([strip("car", 0.0, 1.0)] * 3, [strip("car", 0.0, 1.0)] * 2, 0.5) == 2


def test_match_boxes_ties_go_to_the_lower_index() -> None:
    # a0 and a1 both have IoU 0.6 with b0; only a1 overlaps b1 (IoU 0.4). Taking a0-b0 on
    # the tie leaves a1-b1: 2 pairs; taking a1-b0 would leave a0 with nothing.
    a = [strip("car", 0.125, 0.625), strip("car", 0.375, 0.875)]
    b = [strip("car", 0.25, 0.75), strip("car", 0.625, 1.0)]
    assert box_iou(a[0], b[0]) == box_iou(a[1], b[0]) == pytest.approx(0.6)
    assert box_iou(a[1], b[1]) == pytest.approx(0.4)
    assert box_iou(a[0], b[1]) == 0.0
    assert match_boxes(a, b, 0.35) == 2
    # Reversed, the tie goes to the box that alone could have matched b1.
    assert match_boxes(a[::-1], b, 0.35) == 1
    # The same tie on the b side: lower index in b first.
    assert match_boxes(b, a, 0.35) == 2
    assert match_boxes(b, a[::-1], 0.35) == 1


def test_f1_score() -> None:
    assert f1_score(0, 0, 0) is None
    assert f1_score(0, 3, 0) == 0.0
    assert f1_score(2, 2, 2) == 1.0
    assert f1_score(1, 3, 3) == pytest.approx(1 / 3)


# --- The per-label report ---------------------------------------------------------------


def rate(task: str, annotator: str, value: Hashable, ground_truth: bool = False) -> Rating:
    return Rating(task=task, annotator=annotator, value=value, ground_truth=ground_truth)


def test_label_agreement_nominal() -> None:
    ratings = [
        rate("t1", "alice", "b"),  # replaced by her later rating of t1
        rate("t1", "alice", "a"),
        rate("t1", "bob", "a"),
        rate("t1", "carol", "a"),
        rate("t1", "judge", "a", ground_truth=True),
        rate("t2", "alice", "a"),
        rate("t2", "bob", "b"),
        rate("t2", "carol", "a"),
        rate("t2", "judge", "a", ground_truth=True),
        rate("t3", "alice", "b"),
        rate("t3", "bob", "b"),
        rate("t3", "judge", "b", ground_truth=True),
        rate("t4", "alice", "b"),
        rate("t4", "bob", "a"),
        rate("t4", "carol", "b"),
        rate("t5", "alice", "a"),  # a lone rater: not an agreement task
        rate("t5", "judge", "b", ground_truth=True),
        rate("t6", "judge", "a", ground_truth=True),  # ground truth only
    ]
    result = label_agreement(ratings, "nominal")
    assert result.task_count == 4
    assert result.annotator_count == 3
    # Items t1 aaa, t2 aba, t3 bb, t4 bab: P_bar = (1 + 1/3 + 1 + 1/3) / 4 = 2/3,
    # p_a = 6/11, p_b = 5/11, P_e = 61/121, kappa = 59/180.
    assert result.fleiss_kappa == pytest.approx(59 / 180)
    # n = 11, observed disagreement 2 + 2 (t2, t4), expected 121 - 61 = 60: 1 - 10 * 4 / 60.
    assert result.krippendorff_alpha == pytest.approx(1 / 3)
    assert result.box_f1 is None
    assert result.pairs == [
        PairResult("alice", "bob", 4, pytest.approx(0.0), None),  # p_o 0.5, p_e 0.5
        PairResult("alice", "carol", 3, pytest.approx(1.0), None),
        PairResult("bob", "carol", 3, pytest.approx(-0.5), None),  # p_o 1/3, p_e 5/9
    ]
    assert result.annotators == [
        # t1 t2 t3 t5 against the truth: 3 of 4 equal; p_e = (3 * 2 + 1 * 2) / 16.
        AnnotatorResult("alice", 5, pytest.approx(3 / 7), 4, 0.75, pytest.approx(0.5), None),
        # t1 t2 t3: 2 of 3; p_e = 4/9, kappa = (2/3 - 4/9) / (5/9).
        AnnotatorResult(
            "bob", 4, pytest.approx(-3 / 14), 3, pytest.approx(2 / 3), pytest.approx(0.4), None
        ),
        # t1 t2, both "a" on both sides: kappa undefined.
        AnnotatorResult("carol", 3, pytest.approx(0.25), 2, 1.0, None, None),
    ]


def test_label_agreement_interval_uses_the_interval_metric_for_alpha_only() -> None:
    rows = reliability_rows(KRIPPENDORFF_2011)
    ratings = [
        rate(f"t{unit}", observer, int(value))
        for observer, row in zip("ABCD", rows, strict=True)
        for unit, value in enumerate(row)
        if not math.isnan(value)
    ]
    result = label_agreement(ratings, "interval")
    assert result.task_count == 11
    assert result.annotator_count == 4
    assert result.krippendorff_alpha == pytest.approx(0.849, abs=5e-4)
    items = [item for item in items_from_rows(rows) if len(item) >= 2]
    assert result.fleiss_kappa == pytest.approx(fleiss_kappa(items))
    a, b = rows[0], rows[1]
    both = [(x, y) for x, y in zip(a, b, strict=True) if not (math.isnan(x) or math.isnan(y))]
    assert result.pairs[0].first == "A"
    assert result.pairs[0].second == "B"
    assert result.pairs[0].task_count == 9
    first, second = zip(*both, strict=True)
    assert result.pairs[0].cohen_kappa == pytest.approx(cohen_kappa_score(first, second))


def test_label_agreement_boxes() -> None:
    x = ("car", 0.0, 0.0, 0.5, 0.5)
    y = ("car", 0.5, 0.5, 0.5, 0.5)
    p = ("person", 0.0, 0.0, 0.5, 0.5)
    ratings = [
        rate("t1", "alice", (x, y)),
        rate("t1", "bob", [x]),  # type: ignore[arg-type]  # a list is taken as a tuple of boxes
        rate("t1", "carol", (y,)),
        rate("t1", "gt", (x, y), ground_truth=True),
        rate("t2", "alice", (p,)),
        rate("t2", "bob", (x,)),  # same place, another class: no match
        rate("t2", "gt", (p,), ground_truth=True),
        rate("t3", "alice", ()),  # drew nothing
        rate("t3", "bob", (y,)),
        rate("t3", "carol", (y,)),
        rate("t4", "bob", (x,)),
    ]
    result = label_agreement(ratings, "boxes", iou_threshold=0.5)
    assert result.task_count == 3
    assert result.annotator_count == 3
    assert result.fleiss_kappa is None
    assert result.krippendorff_alpha is None
    assert result.pairs == [
        # t1 t2 t3: 1 + 0 + 0 matches, 3 boxes each.
        PairResult("alice", "bob", 3, None, pytest.approx(2 / 6)),
        # t1 t3: 1 + 0 matches, 2 boxes each.
        PairResult("alice", "carol", 2, None, pytest.approx(0.5)),
        # t1 t3: 0 + 1 matches, 2 boxes each.
        PairResult("bob", "carol", 2, None, pytest.approx(0.5)),
    ]
    # Pooled over every pair: 2 * 3 matches / 14 boxes (not the mean of the pair F1s).
    assert result.box_f1 == pytest.approx(3 / 7)
    assert result.annotators == [
        # Pairs weighted by task count: (3 * 1/3 + 2 * 0.5) / 5. Against truth on t1 t2:
        # 3 matches, 3 + 3 boxes.
        AnnotatorResult("alice", 3, pytest.approx(0.4), 2, None, None, pytest.approx(1.0)),
        # Against truth on t1 t2: 1 match, 2 + 3 boxes.
        AnnotatorResult("bob", 4, pytest.approx(0.4), 2, None, None, pytest.approx(0.4)),
        # Against truth on t1: 1 match, 1 + 2 boxes.
        AnnotatorResult("carol", 2, pytest.approx(0.5), 1, None, None, pytest.approx(2 / 3)),
    ]


def test_label_agreement_edge_cases() -> None:
    empty = label_agreement([], "nominal")
    assert (empty.task_count, empty.annotator_count, empty.pairs, empty.annotators) == (
        0,
        0,
        [],
        [],
    )
    assert empty.fleiss_kappa is None
    assert empty.krippendorff_alpha is None
    # Annotators with no common task form no pair; without truth the truth fields are unset.
    apart = label_agreement([rate("t1", "a", "x"), rate("t2", "b", "y")], "nominal")
    assert apart.task_count == 0
    assert apart.pairs == []
    assert apart.annotators == [
        AnnotatorResult("a", 1, None, 0, None, None, None),
        AnnotatorResult("b", 1, None, 0, None, None, None),
    ]
    with pytest.raises(ValueError, match="measure"):
        label_agreement([], "ordinal")
