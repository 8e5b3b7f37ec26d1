"""What a prediction job asks of the inference layer (spec/annotation.md §3.5): the model, as
the inference service names it, from a registry-style reference; the tensor bindings; and the
decoder that turns the model's outputs into results of the label.

    inference_model("models/sentiment@prod")      # ("sentiment", "prod")
    Decoder.classification("probabilities", softmax=True)
"""

from __future__ import annotations

from collections.abc import Mapping

from lepton.data.v1 import annotation_project_pb2 as projects
from lepton.data.v1 import prediction_job_pb2 as jobs
from lepton_ai.annotation.label_specs import kind_name

PREDICTION_JOBS_FEATURE = "data.annotation.prediction_jobs"
DecoderMessage = (
    jobs.ClassificationDecoder | jobs.MultiLabelDecoder | jobs.BoundingBoxDecoder | jobs.TextDecoder
)
# A decoder message, or the name of the output tensor of a classification, multi-label or
# text label's decoder (the kind comes from the label).
DecoderLike = DecoderMessage | str

_DECODER_FIELDS = {
    jobs.ClassificationDecoder: "classification",
    jobs.MultiLabelDecoder: "multi_label",
    jobs.BoundingBoxDecoder: "bounding_box",
    jobs.TextDecoder: "text",
}
_KIND = projects.LabelKind


class Decoder:
    """Builders of the decoders of a prediction job, one per kind of label they produce."""

    @staticmethod
    def classification(output: str, *, softmax: bool = False) -> jobs.ClassificationDecoder:
        """The class of the highest score of `output` ([batch, classes]); `softmax` for
        logits."""
        return jobs.ClassificationDecoder(output=output, apply_softmax=softmax)

    @staticmethod
    def multi_label(
        output: str, *, threshold: float = 0.0, sigmoid: bool = False
    ) -> jobs.MultiLabelDecoder:
        """The classes scoring at least `threshold` (0: 0.5), after a sigmoid with `sigmoid`."""
        return jobs.MultiLabelDecoder(output=output, threshold=threshold, apply_sigmoid=sigmoid)

    @staticmethod
    def bounding_box(
        boxes: str, classes: str, scores: str, *, min_score: float = 0.0
    ) -> jobs.BoundingBoxDecoder:
        """Detections: `boxes` [batch, N, 4] (x_min, y_min, x_max, y_max normalized), `classes`
        and `scores` [batch, N]; those below `min_score` are dropped."""
        return jobs.BoundingBoxDecoder(
            boxes_output=boxes, classes_output=classes, scores_output=scores, min_score=min_score
        )

    @staticmethod
    def text(output: str) -> jobs.TextDecoder:
        """The UTF-8 text of a BYTES `output`."""
        return jobs.TextDecoder(output=output)


def inference_model(reference: str, version: str | None = None) -> tuple[str, str]:
    """(model name, model version) as the inference service knows them, from a model name or
    registry reference: "m", "m@3", "models/m", "models/m@prod", "models/m/versions/3" or
    "models/m/aliases/prod" (spec/registry.md, "Serving registry models": the model id is the
    OIP model name, a version number or alias id its version, empty meaning latest)."""
    name, at, pinned = reference.partition("@")
    parts = name.split("/")
    if len(parts) == 4 and parts[0] == "models" and parts[2] in ("versions", "aliases"):
        name, pinned = parts[1], (parts[3] if not at else "")
    elif len(parts) == 2 and parts[0] == "models":
        name = parts[1]
    elif len(parts) != 1:
        name = ""
    if not name or (at and not pinned):
        raise ValueError(f"not a model reference: {reference!r}")
    if version is not None and pinned and version != pinned:
        raise ValueError(f"{reference!r} names version {pinned!r}, not {version!r}")
    return name, version if version is not None else pinned


def decoder_for(label: projects.LabelSpec, decoder: DecoderLike) -> DecoderMessage:
    """The decoder message of `decoder`, for `label`: an output tensor name becomes the
    decoder of the label's kind (classification, multi-label or text)."""
    if not isinstance(decoder, str):
        return decoder
    builders = {
        _KIND.LABEL_KIND_CLASSIFICATION: Decoder.classification,
        _KIND.LABEL_KIND_MULTI_LABEL: Decoder.multi_label,
        _KIND.LABEL_KIND_TEXT: Decoder.text,
    }
    if label.kind not in builders:
        raise ValueError(
            f"label {label.name!r} ({kind_name(label.kind)}) needs a decoder message, e.g. "
            "Decoder.bounding_box(boxes, classes, scores), not one output name"
        )
    return builders[label.kind](decoder)


def prediction_job(
    model: str,
    label: str,
    inputs: Mapping[str, str],
    decoder: DecoderMessage,
    *,
    version: str | None = None,
    task_filter: str = "",
    batch_size: int = 0,
    labels: Mapping[str, str] | None = None,
) -> jobs.PredictionJob:
    """A PredictionJob: `model` (see `inference_model`) predicts `label` from `inputs`
    ({input tensor: column}), its outputs read by `decoder`, for the tasks `task_filter`
    selects (every task when empty)."""
    name, model_version = inference_model(model, version)
    job = jobs.PredictionJob(
        inference_model=name,
        inference_model_version=model_version,
        label=label,
        inputs=[jobs.TensorBinding(tensor=t, column=c) for t, c in inputs.items()],
        task_filter=task_filter,
        batch_size=batch_size,
        labels=dict(labels or {}),
    )
    field = _DECODER_FIELDS.get(type(decoder))
    if field is None:
        raise TypeError(f"not a prediction decoder: {decoder!r}")
    getattr(job, field).CopyFrom(decoder)
    return job
