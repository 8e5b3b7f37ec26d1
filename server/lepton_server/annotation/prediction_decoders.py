"""How a prediction job turns model outputs into label results (spec/annotation.md §3.5,
ANN-044): the classification, multi-label, bounding-box and text decoders, each reading one
batch's output arrays and returning each task's results, or MODEL_OUTPUT_MISMATCH when an
output has a shape or datatype the decoder cannot read (ANN-045)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import prediction_job_pb2 as pj
from lepton_server.runtime.errors import FailedPrecondition

DECODER_KIND = {
    "classification": ap.LABEL_KIND_CLASSIFICATION,
    "multi_label": ap.LABEL_KIND_MULTI_LABEL,
    "bounding_box": ap.LABEL_KIND_BOUNDING_BOX,
    "text": ap.LABEL_KIND_TEXT,
}


def decoder_outputs(job: pj.PredictionJob) -> list[tuple[str, str]]:
    """(field path, output name) of every output the job's decoder reads."""
    kind = job.WhichOneof("decoder")
    decoder = getattr(job, kind)
    fields = (
        ("boxes_output", "classes_output", "scores_output")
        if kind == "bounding_box"
        else ("output",)
    )
    return [(f"prediction_job.{kind}.{field}", getattr(decoder, field)) for field in fields]


def output_mismatch(output: str, description: str) -> FailedPrecondition:
    return FailedPrecondition(
        reason="MODEL_OUTPUT_MISMATCH",
        message=f"output {output!r}: {description}",
        metadata={"output": output},
    )


def _scores(outputs: Mapping[str, np.ndarray], name: str, batch: int, classes: int) -> np.ndarray:
    array = outputs[name]
    if array.dtype.kind not in "fiu" or array.shape != (batch, classes):
        raise output_mismatch(
            name, f"needs numbers of shape [{batch}, {classes}], got {array.shape}"
        )
    return array.astype(np.float64)


def _clamp(value: float) -> float:
    return float(min(1.0, max(0.0, value))) if np.isfinite(value) else 0.0


def decode(
    job: pj.PredictionJob,
    spec: ap.LabelSpec,
    outputs: Mapping[str, np.ndarray],
    batch: int,
) -> list[list[an.LabelResult]]:
    """Each of the `batch` tasks' results, in batch order."""
    kind = job.WhichOneof("decoder")
    classes = list(spec.classes)
    if kind == "classification":
        scores = _scores(outputs, job.classification.output, batch, len(classes))
        if job.classification.apply_softmax:
            shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores = shifted / shifted.sum(axis=1, keepdims=True)
        best = scores.argmax(axis=1)  # the first maximum: ties go to the lower index
        return [
            [
                an.LabelResult(
                    label=spec.name,
                    classification=an.ClassificationValue(class_name=classes[int(i)]),
                    score=_clamp(row[int(i)]),
                )
            ]
            for row, i in zip(scores, best, strict=True)
        ]
    if kind == "multi_label":
        decoder = job.multi_label
        scores = _scores(outputs, decoder.output, batch, len(classes))
        if decoder.apply_sigmoid:
            scores = 1.0 / (1.0 + np.exp(-scores))
        threshold = decoder.threshold or 0.5
        return [
            [
                an.LabelResult(
                    label=spec.name,
                    multi_label=an.MultiLabelValue(
                        class_names=[c for c, s in zip(classes, row, strict=True) if s >= threshold]
                    ),
                    score=_clamp(row.max()) if len(row) else 0.0,
                )
            ]
            for row in scores
        ]
    if kind == "bounding_box":
        return _boxes(job.bounding_box, spec, outputs, batch)
    return _texts(job.text.output, spec, outputs, batch)


def _boxes(
    decoder: pj.BoundingBoxDecoder,
    spec: ap.LabelSpec,
    outputs: Mapping[str, np.ndarray],
    batch: int,
) -> list[list[an.LabelResult]]:
    boxes = outputs[decoder.boxes_output]
    if boxes.ndim != 3 or boxes.shape[0] != batch or boxes.shape[2] != 4:
        raise output_mismatch(
            decoder.boxes_output, f"needs shape [{batch}, N, 4], got {boxes.shape}"
        )
    count = boxes.shape[1]
    found = []
    for name in (decoder.classes_output, decoder.scores_output):
        array = outputs[name]
        if array.dtype.kind not in "fiu" or array.shape != (batch, count):
            raise output_mismatch(
                name, f"needs numbers of shape [{batch}, {count}], got {array.shape}"
            )
        found.append(array)
    indexes, scores = found
    results = []
    for b in range(batch):
        task: list[an.LabelResult] = []
        for n in range(count):
            index, score = int(indexes[b, n]), float(scores[b, n])
            if not 0 <= index < len(spec.classes) or score < decoder.min_score:
                continue
            x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in boxes[b, n])
            if x1 <= x0 or y1 <= y0:
                continue  # degenerate once clipped
            value = an.BoundingBoxValue(
                class_name=spec.classes[index], x=x0, y=y0, width=x1 - x0, height=y1 - y0
            )
            task.append(an.LabelResult(label=spec.name, bounding_box=value, score=_clamp(score)))
        results.append(task)
    return results


def _texts(
    output: str, spec: ap.LabelSpec, outputs: Mapping[str, np.ndarray], batch: int
) -> list[list[an.LabelResult]]:
    array = outputs[output]
    if array.dtype != object or array.reshape(-1).shape[0] != batch:
        raise output_mismatch(output, f"needs BYTES of shape [{batch}] or [{batch}, 1]")
    values: Sequence[bytes] = list(array.reshape(-1))
    return [
        [an.LabelResult(label=spec.name, text=an.TextValue(text=bytes(v).decode(errors="replace")))]
        for v in values
    ]
