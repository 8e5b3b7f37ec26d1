"""The annotation layer's client (lepton.data.v1.AnnotationService, spec/annotation.md).

`AnnotationClient` calls every RPC: projects and their label schema, tasks (`Task`, the row
decoded to a pyarrow.Table), leases, annotations, predictions, reviews, agreement, prediction
jobs and annotation export jobs. `Annotator` is what `DataManager.annotate_data` runs: a
human project (an `AnnotationProjectHandle`) or a model's pre-labels, accepted and exported.
`Label.*` builds label schemas, `box`, `classification`, ... the results of annotations and
predictions, `Decoder.*` the decoders of prediction jobs, and `to_pixels` converts a
normalized box to pixels honouring the image's EXIF orientation.

Modules: client (AnnotationClient), annotation_jobs (its base: stubs, prediction and export
jobs), annotator (Annotator, AnnotationProjectHandle), tasks (Task, row selections),
label_specs (Label), label_results (results), prediction_jobs (Decoder, model references),
image_geometry (to_pixels), names, request_fields.
"""

from lepton_ai.annotation.annotation_jobs import ANNOTATION_SERVICE
from lepton_ai.annotation.annotator import AnnotationProjectHandle, Annotator
from lepton_ai.annotation.client import AnnotationClient
from lepton_ai.annotation.image_geometry import (
    displayed_size,
    image_geometry,
    point_to_pixels,
    to_pixels,
)
from lepton_ai.annotation.label_results import (
    box,
    classification,
    keypoint,
    multi_label,
    polygon,
    rating,
    results_from,
    span,
    text,
)
from lepton_ai.annotation.label_specs import Label
from lepton_ai.annotation.prediction_jobs import PREDICTION_JOBS_FEATURE, Decoder, inference_model
from lepton_ai.annotation.tasks import Task

__all__ = [
    "ANNOTATION_SERVICE",
    "PREDICTION_JOBS_FEATURE",
    "AnnotationClient",
    "AnnotationProjectHandle",
    "Annotator",
    "Decoder",
    "Label",
    "Task",
    "box",
    "classification",
    "displayed_size",
    "image_geometry",
    "inference_model",
    "keypoint",
    "multi_label",
    "point_to_pixels",
    "polygon",
    "rating",
    "results_from",
    "span",
    "text",
    "to_pixels",
]
