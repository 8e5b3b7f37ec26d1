"""Writes agreement_expected.yaml, the expected ComputeAgreement answers for the golden sets of
agreement_sets.yaml, from references independent of any server: Cohen's kappa by
scikit-learn's cohen_kappa_score, Fleiss' kappa by statsmodels' fleiss_kappa where every task
has the same number of values (and otherwise by the generalisation spec/annotation.md §3.10
defines, in exact rational arithmetic, checked against statsmodels on the sets it can take),
Krippendorff's alpha by the `krippendorff` package, and the IoU-matched F1 by §3.10's greedy
matching written out here. Run it from this directory (with scikit-learn, statsmodels and
krippendorff installed) only to renew the file; the suite reads the YAML and never imports
them."""

from __future__ import annotations

import datetime
import math
from collections import Counter
from fractions import Fraction
from importlib import metadata
from itertools import combinations
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import yaml
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

HERE = Path(__file__).parent
SETS = HERE / "agreement_sets.yaml"
OUT = HERE / "agreement_expected.yaml"
CATEGORY_KINDS = {"LABEL_KIND_CLASSIFICATION", "LABEL_KIND_MULTI_LABEL", "LABEL_KIND_RATING"}


def values_of(
    sets: dict[str, Any], label: dict[str, Any], who: str, tasks: list[int]
) -> dict[int, Any]:
    """task -> value of one rater (or "gt") for one label, over `tasks`: classes as strings,
    class sets as sorted tuples, ratings as ints, boxes as tuples of tuples."""
    absent = set(sets.get("absent", {}).get(who, []))
    row = sets["values"].get(label["name"], {}).get(who)
    found: dict[int, Any] = {}
    for task in tasks:
        if task in absent or row is None:
            continue
        value = row[task]
        if label["kind"] == "LABEL_KIND_BOUNDING_BOX":
            found[task] = tuple(tuple(box) for box in (value or []))
        elif value is not None:
            found[task] = tuple(sorted(value)) if isinstance(value, list) else value
    return found


def category(value: Any) -> str:
    """A value as one nominal category for the libraries."""
    return "|".join(value) if isinstance(value, tuple) else str(value)


def cohen(first: dict[int, Any], second: dict[int, Any]) -> float | None:
    common = sorted(set(first) & set(second))
    if not common:
        return None
    a = [category(first[t]) for t in common]
    b = [category(second[t]) for t in common]
    chance = sum(a.count(c) * b.count(c) for c in set(a) | set(b))
    if chance == len(common) ** 2:  # p_e = 1: undefined
        return None
    return float(cohen_kappa_score(a, b))


def fleiss(items: list[list[Any]]) -> float | None:
    rated = [[category(v) for v in values] for values in items if len(values) >= 2]
    if not rated:
        return None
    totals = Counter(v for values in rated for v in values)
    grand = sum(totals.values())
    p_e = sum(Fraction(count, grand) ** 2 for count in totals.values())
    if p_e == 1:
        return None
    p_bar = sum(
        Fraction(
            sum(c * c for c in Counter(values).values()) - len(values),
            len(values) * (len(values) - 1),
        )
        for values in rated
    ) / len(rated)
    kappa = float((p_bar - p_e) / (1 - p_e))
    if len({len(values) for values in rated}) == 1:
        names = sorted(totals)
        table = np.array([[values.count(n) for n in names] for values in rated])
        reference = float(fleiss_kappa(table, method="fleiss"))
        assert math.isclose(kappa, reference, abs_tol=1e-12), (kappa, reference)
    return kappa


def alpha(items: list[list[Any]], level: str) -> float | None:
    units = [values for values in items if len(values) >= 2]
    pooled = [v for values in units for v in values]
    if len(set(map(category, pooled))) < 2:
        return None
    codes = {c: i for i, c in enumerate(sorted(set(map(category, pooled))))}
    width = max(len(values) for values in units)
    data = np.full((width, len(units)), np.nan)
    for column, values in enumerate(units):
        for row, value in enumerate(values):
            data[row, column] = float(value) if level == "interval" else codes[category(value)]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


def iou(a: tuple[Any, ...], b: tuple[Any, ...]) -> float:
    _, ax, ay, aw, ah = a
    _, bx, by, bw, bh = b
    width = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    height = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = width * height
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def matches(a: tuple[Any, ...], b: tuple[Any, ...], threshold: float) -> int:
    """§3.10: same-class pairs by descending IoU (ties to the lower indexes), one to one."""
    pairs = sorted(
        (-iou(x, y), i, j)
        for i, x in enumerate(a)
        for j, y in enumerate(b)
        if x[0] == y[0] and iou(x, y) >= threshold and iou(x, y) > 0
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(used_a)


def f1_parts(first: dict[int, Any], second: dict[int, Any], threshold: float) -> tuple[int, int]:
    """(2 x matches, boxes of both) pooled over the common tasks."""
    common = set(first) & set(second)
    matched = sum(matches(first[t], second[t], threshold) for t in common)
    boxes = sum(len(first[t]) + len(second[t]) for t in common)
    return 2 * matched, boxes


def ratio(parts: tuple[int, int]) -> float | None:
    return None if parts[1] == 0 else parts[0] / parts[1]


def label_answer(
    sets: dict[str, Any], label: dict[str, Any], tasks: list[int], threshold: float
) -> dict[str, Any]:
    kind = label["kind"]
    raters = {r: values_of(sets, label, r, tasks) for r in sets["raters"]}
    raters = {r: v for r, v in raters.items() if v}
    truth = values_of(sets, label, "gt", tasks)
    boxes = kind == "LABEL_KIND_BOUNDING_BOX"
    items = [[v[t] for v in raters.values() if t in v] for t in tasks]
    answer: dict[str, Any] = {
        "kind": kind,
        "task_count": sum(1 for values in items if len(values) >= 2),
        "annotator_count": len(raters),
        "fleiss_kappa": fleiss(items) if kind in CATEGORY_KINDS else None,
        "krippendorff_alpha": (
            alpha(items, "interval" if kind == "LABEL_KIND_RATING" else "nominal")
            if kind in CATEGORY_KINDS
            else None
        ),
        "box_f1": None,
    }
    pairs, pooled = [], [0, 0]
    for first, second in combinations(sorted(raters), 2):
        common = set(raters[first]) & set(raters[second])
        if not common:
            continue
        pair = {
            "first": first,
            "second": second,
            "task_count": len(common),
            "cohen_kappa": None,
            "f1": None,
        }
        if boxes:
            parts = f1_parts(raters[first], raters[second], threshold)
            pooled = [pooled[0] + parts[0], pooled[1] + parts[1]]
            pair["f1"] = ratio(parts)
        elif kind in CATEGORY_KINDS:
            pair["cohen_kappa"] = cohen(raters[first], raters[second])
        pairs.append(pair)
    if boxes:
        answer["box_f1"] = ratio((pooled[0], pooled[1]))
    answer["pairs"] = pairs
    context = {"truth": truth, "pairs": pairs, "kind": kind, "threshold": threshold}
    answer["annotators"] = [annotator(r, raters[r], **context) for r in sorted(raters)]
    return answer


def annotator(
    name: str,
    mine: dict[int, Any],
    *,
    truth: dict[int, Any],
    pairs: list[dict[str, Any]],
    kind: str,
    threshold: float,
) -> dict[str, Any]:
    measure = "f1" if kind == "LABEL_KIND_BOUNDING_BOX" else "cohen_kappa"
    weighted = [
        (p[measure], p["task_count"])
        for p in pairs
        if name in (p["first"], p["second"]) and p[measure] is not None
    ]
    total = sum(w for _, w in weighted)
    checked = sorted(set(mine) & set(truth))
    row: dict[str, Any] = {
        "annotator": name,
        "task_count": len(mine),
        "mean_pairwise_agreement": sum(v * w for v, w in weighted) / total if total else None,
        "ground_truth_task_count": len(checked),
        "ground_truth_accuracy": None,
        "ground_truth_kappa": None,
        "ground_truth_f1": None,
    }
    if kind == "LABEL_KIND_BOUNDING_BOX":
        row["ground_truth_f1"] = ratio(f1_parts(mine, truth, threshold))
    elif kind in CATEGORY_KINDS and checked:
        row["ground_truth_accuracy"] = sum(1 for t in checked if mine[t] == truth[t]) / len(checked)
        row["ground_truth_kappa"] = cohen(mine, truth)
    return row


def answers(sets: dict[str, Any]) -> dict[str, Any]:
    by_name = {label["name"]: label for label in sets["labels"]}
    found = {}
    for request in sets["requests"]:
        names = request.get("labels") or list(by_name)
        tasks = list(range(sets["tasks"]))
        if request.get("task_filter") == "row_index < 6":
            tasks = tasks[:6]
        threshold = request.get("iou_threshold") or 0.5
        ordered = [n for n in by_name if n in names]  # schema order
        found[request["id"]] = {
            n: label_answer(sets, by_name[n], tasks, threshold)
            for n in ordered
            if by_name[n]["kind"] != "LABEL_KIND_TEXT"
        }
    return found


def main() -> None:
    sets = yaml.safe_load(SETS.read_text(encoding="utf-8"))
    versions = {
        name: metadata.version(name)
        for name in ("scikit-learn", "statsmodels", "krippendorff", "numpy")
    }
    document = {
        "provenance": {
            "generated_by": "make_agreement.py from agreement_sets.yaml",
            "generated_on": datetime.date.today().isoformat(),
            "cohen_kappa": "sklearn.metrics.cohen_kappa_score "
            f"(scikit-learn {versions['scikit-learn']}); unset where both raters use one same "
            "class (p_e = 1)",
            "fleiss_kappa": "the §3.10 formula in exact rational arithmetic, equal to "
            f"statsmodels.stats.inter_rater.fleiss_kappa (statsmodels {versions['statsmodels']}) "
            "within 1e-12 wherever every task has the same number of values",
            "krippendorff_alpha": "krippendorff.alpha "
            f"(krippendorff {versions['krippendorff']}), nominal for classes and class sets, "
            "interval for ratings",
            "f1": "§3.10: same-class boxes matched one to one, greedily by descending IoU, pooled",
            "ground_truth_accuracy": "share of equal values over the tasks with ground truth",
        },
        "requests": answers(sets),
    }
    header = "# Generated by make_agreement.py from agreement_sets.yaml; do not edit.\n"
    OUT.write_text(
        header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
