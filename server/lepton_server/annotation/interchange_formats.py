"""Label Studio JSON and COCO files read into annotations and predictions (spec/annotation.md,
"Imports"): each item of the file with what identifies its row and the results it holds, in
the project's label schema. Percent and pixel geometry become normalized coordinates."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton_server.annotation.label_results import mismatch
from lepton_server.runtime.errors import FieldViolation, InvalidArgument

PERCENT = 100.0


@dataclass
class ImportItem:
    """One Label Studio task or COCO image: how it names its row, and what it holds."""

    path: str  # where it is in the file, for errors ("content[3]")
    key: str | None  # the value compared with the match column
    task: str | None = None  # a task name the file names itself (meta.lepton_task)
    annotations: list[an.Annotation] = field(default_factory=list)
    predictions: list[an.Prediction] = field(default_factory=list)


def parse_error(description: str, path: str = "content") -> InvalidArgument:
    return InvalidArgument(
        reason="IMPORT_PARSE_ERROR",
        message=f"{path}: {description}",
        violations=[FieldViolation(path, description)],
    )


def _json(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise parse_error(f"not UTF-8 JSON: {error}") from None


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise parse_error("not a number", path)
    return float(value)


def _first(values: Any, path: str) -> str:
    if not isinstance(values, list) or not values or not isinstance(values[0], str):
        raise parse_error("needs a non-empty list of class names", path)
    return values[0]


# --- Label Studio ------------------------------------------------------------------------


def _ls_value(  # noqa: PLR0912  (one branch per Label Studio result type)
    item: Mapping[str, Any], spec: ap.LabelSpec, path: str
) -> an.LabelResult:
    """One Label Studio result item as a result of `spec`."""
    value = item.get("value")
    if not isinstance(value, dict):
        raise parse_error("a result needs a value", path)
    result = an.LabelResult(label=spec.name)
    kind, at = item.get("type"), f"{path}.value"
    if kind == "choices" and spec.kind == ap.LABEL_KIND_CLASSIFICATION:
        result.classification.class_name = _first(value.get("choices"), f"{at}.choices")
    elif kind == "choices" and spec.kind == ap.LABEL_KIND_MULTI_LABEL:
        result.multi_label.class_names.extend(value.get("choices") or [])
    elif kind == "rectanglelabels" and spec.kind == ap.LABEL_KIND_BOUNDING_BOX:
        if value.get("rotation"):
            raise mismatch(f"{at}.rotation", "rotated boxes cannot be imported")
        box = result.bounding_box
        box.class_name = _first(value.get("rectanglelabels"), f"{at}.rectanglelabels")
        for side in ("x", "y", "width", "height"):
            setattr(box, side, _number(value.get(side), f"{at}.{side}") / PERCENT)
    elif kind == "polygonlabels" and spec.kind == ap.LABEL_KIND_POLYGON:
        result.polygon.class_name = _first(value.get("polygonlabels"), f"{at}.polygonlabels")
        for j, point in enumerate(value.get("points") or []):
            if not isinstance(point, list) or len(point) != 2:
                raise parse_error("a point is [x, y]", f"{at}.points[{j}]")
            x, y = (_number(v, f"{at}.points[{j}]") / PERCENT for v in point)
            result.polygon.points.add(x=x, y=y)
    elif kind == "keypointlabels" and spec.kind == ap.LABEL_KIND_KEYPOINT:
        result.keypoint.class_name = _first(value.get("keypointlabels"), f"{at}.keypointlabels")
        result.keypoint.x = _number(value.get("x"), f"{at}.x") / PERCENT
        result.keypoint.y = _number(value.get("y"), f"{at}.y") / PERCENT
    elif kind == "labels" and spec.kind == ap.LABEL_KIND_SPAN:
        result.span.class_name = _first(value.get("labels"), f"{at}.labels")
        result.span.start = int(_number(value.get("start"), f"{at}.start"))
        result.span.end = int(_number(value.get("end"), f"{at}.end"))
    elif kind == "textarea" and spec.kind == ap.LABEL_KIND_TEXT:
        texts = value.get("text") or []
        result.text.text = "\n".join(t for t in texts if isinstance(t, str))
    elif kind == "rating" and spec.kind == ap.LABEL_KIND_RATING:
        result.rating.rating = int(_number(value.get("rating"), f"{at}.rating"))
    else:
        raise mismatch(path, f"a {kind!r} result does not fit the label {spec.name!r}")
    if "score" in item and item["score"] is not None:
        result.score = min(1.0, max(0.0, _number(item["score"], f"{path}.score")))
    return result


def _ls_results(
    results: Any, specs: Mapping[str, ap.LabelSpec], path: str, scored: bool
) -> list[an.LabelResult]:
    if not isinstance(results, list):
        raise parse_error("result is a list", path)
    converted = []
    for k, item in enumerate(results):
        at = f"{path}[{k}]"
        if not isinstance(item, dict):
            raise parse_error("a result is an object", at)
        spec = specs.get(str(item.get("from_name")))
        if spec is None:
            raise mismatch(f"{at}.from_name", f"the schema has no label {item.get('from_name')!r}")
        result = _ls_value(item, spec, at)
        if not scored:
            result.score = 0.0
        converted.append(result)
    return _merge_multi(converted)


def _merge_multi(results: list[an.LabelResult]) -> list[an.LabelResult]:
    # Label Studio may split one multi-label choice into several items; ours is one result.
    merged: dict[str, an.LabelResult] = {}
    kept = []
    for result in results:
        if result.WhichOneof("value") == "multi_label":
            if result.label in merged:
                merged[result.label].multi_label.class_names.extend(result.multi_label.class_names)
                continue
            merged[result.label] = result
        kept.append(result)
    return kept


def _author(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("email") or value.get("id") or "")
    return "" if value is None else str(value)


def read_label_studio(
    content: bytes, specs: Sequence[ap.LabelSpec], match_key: str, model: str
) -> list[ImportItem]:
    """The tasks of a Label Studio JSON export."""
    tasks = _json(content)
    if not isinstance(tasks, list):
        raise parse_error("a Label Studio export is a JSON array of tasks")
    by_name = {spec.name: spec for spec in specs}
    items = []
    for i, task in enumerate(tasks):
        path = f"content[{i}]"
        if not isinstance(task, dict):
            raise parse_error("a task is an object", path)
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        key = data.get(match_key) if match_key else None
        item = ImportItem(path, None if key is None else str(key), meta.get("lepton_task") or None)
        for j, entry in enumerate(task.get("annotations") or []):
            at = f"{path}.annotations[{j}]"
            if not isinstance(entry, dict):
                raise parse_error("an annotation is an object", at)
            skipped = bool(entry.get("was_cancelled"))
            annotation = an.Annotation(
                external_author=_author(entry.get("completed_by")),
                ground_truth=bool(entry.get("ground_truth")) and not skipped,
                skipped=skipped,
            )
            if not skipped:
                annotation.results.extend(
                    _ls_results(entry.get("result") or [], by_name, f"{at}.result", False)
                )
            lead = entry.get("lead_time")
            if isinstance(lead, int | float) and math.isfinite(lead) and lead >= 0:
                annotation.lead_duration.FromNanoseconds(int(lead * 1e9))
            item.annotations.append(annotation)
        for j, entry in enumerate(task.get("predictions") or []):
            at = f"{path}.predictions[{j}]"
            if not isinstance(entry, dict):
                raise parse_error("a prediction is an object", at)
            version = str(entry.get("model_version") or "unknown")
            prediction = an.Prediction(
                inference_model=model or "label-studio",
                inference_model_version=version,
                results=_ls_results(entry.get("result") or [], by_name, f"{at}.result", True),
            )
            if entry.get("score") is not None:
                prediction.score = min(1.0, max(0.0, _number(entry["score"], f"{at}.score")))
            item.predictions.append(prediction)
        items.append(item)
    return items


# --- COCO ------------------------------------------------------------------------------


def read_coco(
    content: bytes, spec: ap.LabelSpec, as_predictions: bool, model: str
) -> list[ImportItem]:
    """The images of a COCO detection file, each with one annotation (or prediction)."""
    coco = _json(content)
    if not isinstance(coco, dict) or not isinstance(coco.get("images"), list):
        raise parse_error("a COCO file is an object with an images array")
    categories = {}
    for i, category in enumerate(coco.get("categories") or []):
        if not isinstance(category, dict) or "id" not in category:
            raise parse_error("a category has an id and a name", f"content.categories[{i}]")
        categories[category["id"]] = str(category.get("name", ""))
    images: dict[Any, tuple[ImportItem, float, float]] = {}
    items = []
    for i, image in enumerate(coco["images"]):
        path = f"content.images[{i}]"
        if not isinstance(image, dict) or "id" not in image:
            raise parse_error("an image has an id", path)
        width = _number(image.get("width"), f"{path}.width")
        height = _number(image.get("height"), f"{path}.height")
        if width <= 0 or height <= 0:
            raise parse_error("an image has a positive width and height", path)
        item = ImportItem(path, str(image.get("file_name", "")))
        images[image["id"]] = (item, width, height)
        items.append(item)
    grouped: dict[Any, list[tuple[an.LabelResult, float]]] = {}
    for i, obj in enumerate(coco.get("annotations") or []):
        path = f"content.annotations[{i}]"
        if not isinstance(obj, dict) or obj.get("image_id") not in images:
            raise parse_error("an annotation names an image of the file", path)
        _, width, height = images[obj["image_id"]]
        name = categories.get(obj.get("category_id"))
        if name is None:
            raise parse_error("an annotation names a category of the file", f"{path}.category_id")
        result = _coco_result(obj, spec, name, width=width, height=height, path=path)
        score = _number(obj.get("score", 1.0), f"{path}.score") if as_predictions else 0.0
        result.score = min(1.0, max(0.0, score))
        grouped.setdefault(obj["image_id"], []).append((result, result.score))
    for image_id, (item, _, _) in images.items():
        found = grouped.get(image_id, [])
        results = [r for r, _ in found]
        if as_predictions:
            item.predictions.append(
                an.Prediction(
                    inference_model=model or "coco",
                    inference_model_version="imported",
                    results=results,
                    score=max((s for _, s in found), default=0.0),
                )
            )
        else:
            item.annotations.append(an.Annotation(results=results))
    return items


def _coco_result(
    obj: Mapping[str, Any], spec: ap.LabelSpec, name: str, *, width: float, height: float, path: str
) -> an.LabelResult:
    result = an.LabelResult(label=spec.name)
    if spec.kind == ap.LABEL_KIND_BOUNDING_BOX:
        bbox = obj.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise parse_error("a bbox is [x, y, width, height]", f"{path}.bbox")
        x, y, w, h = (_number(v, f"{path}.bbox") for v in bbox)
        box = result.bounding_box
        box.class_name = name
        box.x, box.y, box.width, box.height = x / width, y / height, w / width, h / height
        return result
    segmentation = obj.get("segmentation")
    if (
        not isinstance(segmentation, list)
        or not segmentation
        or not isinstance(segmentation[0], list)
    ):
        raise parse_error("a polygon object needs a polygon segmentation", f"{path}.segmentation")
    flat = [_number(v, f"{path}.segmentation") for v in segmentation[0]]
    result.polygon.class_name = name
    for k in range(0, len(flat) - 1, 2):
        result.polygon.points.add(x=flat[k] / width, y=flat[k + 1] / height)
    return result
