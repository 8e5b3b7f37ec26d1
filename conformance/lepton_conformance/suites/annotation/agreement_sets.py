"""The golden agreement project (vectors/agreement_sets.yaml), built once per run: a dataset of
its own, the project, one task per row, each rater's annotations and the ground truth, with the
decoy annotations that must not change any measure. Raters are the first three
--annotator-token principals; the run's --token principal makes the ground truth."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lepton.data.v1 import annotation_pb2
from lepton_conformance.harness import expect, vectors
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient, label_specs
from lepton_conformance.suites.annotation.annotation_data import own_dataset
from lepton_conformance.suites.annotation.principals import annotators, check_creator, distinct

SETS = vectors.load("lepton_conformance.suites.annotation", "agreement_sets.yaml")
CACHE_KEY = "annotation-agreement"
Result = annotation_pb2.LabelResult


@dataclass(frozen=True)
class GoldenSets:
    """The built project: its name, its labels in order, each rater's principal, and the
    principal of the ground truth."""

    project: str
    label_names: list[str]
    principal: dict[str, str]
    truth_principal: str


def result_of(label: dict[str, Any], value: Any) -> list[Result]:
    """The results of one value of `label` (none for null; one per box)."""
    name, kind = label["name"], label["kind"]
    if value is None:
        return []
    if kind == "LABEL_KIND_CLASSIFICATION":
        return [
            Result(label=name, classification=annotation_pb2.ClassificationValue(class_name=value))
        ]
    if kind == "LABEL_KIND_MULTI_LABEL":
        return [Result(label=name, multi_label=annotation_pb2.MultiLabelValue(class_names=value))]
    if kind == "LABEL_KIND_RATING":
        return [Result(label=name, rating=annotation_pb2.RatingValue(rating=value))]
    boxes = []
    for class_name, x, y, width, height in value:
        box = annotation_pb2.BoundingBoxValue(
            class_name=class_name, x=x, y=y, width=width, height=height
        )
        boxes.append(Result(label=name, bounding_box=box))
    return boxes


def results_of(who: str, task: int) -> list[Result]:
    """Every result of `who`'s annotation of `task`, label by label."""
    found = []
    for label in SETS["labels"]:
        row = SETS["values"].get(label["name"], {}).get(who)
        if row is not None:
            found += result_of(label, row[task])
    return found


def _decoy(
    clients: dict[str, AnnotationClient], task_names: list[str], decoy: dict[str, Any]
) -> None:
    client, task = clients[decoy["rater"]], task_names[decoy["task"]]
    if decoy.get("skipped"):
        client.annotate(task, skipped=True)
    elif decoy.get("ground_truth_of_task"):
        client.annotate(task, results_of("gt", decoy["task"]), ground_truth=True)
    else:
        by_name = {label["name"]: label for label in SETS["labels"]}
        found = [
            r for name, value in decoy["results"].items() for r in result_of(by_name[name], value)
        ]
        client.annotate(task, found)


def _build(owner: AnnotationClient, raters: list[AnnotationClient], version: str) -> GoldenSets:
    project = owner.create_project(version, label_specs(SETS["labels"]))
    tasks = [owner.create_task(project.name, i).name for i in range(SETS["tasks"])]
    clients = dict(zip(SETS["raters"], raters, strict=True)) | {"gt": owner}
    for decoy in SETS["decoys"]:
        if decoy["when"] == "before":
            _decoy(clients, tasks, decoy)
    principal: dict[str, str] = {}
    for task_index, task in enumerate(tasks):
        for who, client in clients.items():
            if task_index in SETS["absent"].get(who, []):
                continue
            made = client.annotate(task, results_of(who, task_index), ground_truth=who == "gt")
            principal.setdefault(who, made.creator)
    for decoy in SETS["decoys"]:
        if decoy["when"] == "after":
            _decoy(clients, tasks, decoy)
    for who, creator in principal.items():
        check_creator(owner.ctx, creator, f"the creator of {who}'s annotations")
    distinct(list(principal.values()), "the creators of the raters and the ground truth")
    names = [label["name"] for label in SETS["labels"]]
    truth = principal.pop("gt")
    return GoldenSets(project.name, names, principal, truth)


def golden_sets(owner: AnnotationClient) -> GoldenSets:
    """The run's golden project, built at first use (Skipped without three annotator
    principals) and deleted after the last case."""
    raters = annotators(owner, len(SETS["raters"]))
    ctx = owner.ctx
    found = ctx.cache.get(CACHE_KEY)
    if found is not None:
        return found
    table = pa.table(
        {
            "n": pa.array(range(SETS["tasks"]), pa.int64()),
            "uri": pa.array([f"https://example.com/{i}.png" for i in range(SETS["tasks"])]),
        }
    )
    stack = contextlib.ExitStack()
    _, version = stack.enter_context(own_dataset(ctx, table))
    builder = stack.enter_context(AnnotationClient(ctx))
    try:
        found = _build(builder, raters, version)
    except BaseException:
        stack.close()
        raise
    expect.holds(bool(found.project), "the golden project", "none")
    ctx.closing.push(stack)
    ctx.cache[CACHE_KEY] = found
    return found
