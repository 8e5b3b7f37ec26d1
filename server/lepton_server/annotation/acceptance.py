"""AcceptPredictions (spec/annotation.md §3.8, ANN-062, ANN-063): a prediction becomes a label
only when someone accepts it, as a new annotation of the caller that names its source; the
best selected prediction of each task is accepted once."""

from __future__ import annotations

import math

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_server.aip.filtering.compile import compile_filter
from lepton_server.aip.resource_names import parse_any
from lepton_server.aip.standard_fields import new_etag, not_found, now_ns, timestamp
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.annotations import PREDICTION_FILTER, Annotations
from lepton_server.annotation.resource_checks import message_fields, new_id
from lepton_server.annotation.task_states import COMPLETED
from lepton_server.annotation.tasks import touch
from lepton_server.runtime.errors import invalid_field
from lepton_server.runtime.principals import current_principal

PARENTS = (("annotationProjects",), ("annotationProjects", "tasks"))


def _rank(prediction: an.Prediction) -> tuple:
    # Sorted in reverse: highest score, then newest, then greatest name first (§3.8).
    return (prediction.score, prediction.create_time.ToNanoseconds(), prediction.name)


class Acceptance:
    """Predictions turned into annotations."""

    def __init__(self, store: AnnotationStore, annotations: Annotations) -> None:
        self.store = store
        self.annotations = annotations

    def accept(self, request: pb.AcceptPredictionsRequest) -> pb.AcceptPredictionsResponse:
        layout, _ = parse_any(request.parent, PARENTS, "parent")
        if not (math.isfinite(request.min_score) and 0.0 <= request.min_score <= 1.0):
            raise invalid_field("min_score", "a score is in [0, 1]")
        matches = compile_filter(request.filter, PREDICTION_FILTER)
        caller = current_principal()
        response = pb.AcceptPredictionsResponse()
        with self.store.atomic():
            if len(layout) == 1:
                if self.store.project(request.parent) is None:
                    raise not_found(request.parent)
                predictions = self.store.predictions(project=request.parent)
            else:
                self.annotations.tasks.stored(request.parent, "parent")
                predictions = self.store.predictions(task=request.parent)
            best: dict[str, an.Prediction] = {}
            for prediction in sorted(predictions, key=_rank, reverse=True):
                task = prediction.name.rsplit("/predictions/", 1)[0]
                selected = prediction.score >= request.min_score and matches.matches(
                    message_fields(prediction)
                )
                if selected and task not in best:
                    best[task] = prediction
            for task, prediction in sorted(best.items()):
                if self.store.accepted(task, prediction.name):
                    response.already_accepted_count += 1
                    continue
                self._accept(task, prediction, caller, request.complete_tasks)
                response.accepted_count += 1
        return response

    def _accept(self, task: str, prediction: an.Prediction, caller: str, complete: bool) -> None:
        now = now_ns()
        annotation = an.Annotation(
            name=f"{task}/annotations/{new_id('a')}",
            results=prediction.results,
            creator=caller,
            source_prediction=prediction.name,
            create_time=timestamp(now),
            update_time=timestamp(now),
            etag=new_etag(),
        )
        for result in annotation.results:
            result.score = 0.0
        self.annotations.record(task, annotation)
        if complete:
            stored = self.annotations.tasks.stored(task)
            if stored.state != COMPLETED:
                stored.state = COMPLETED
                touch(stored)
                self.store.put_task(stored)
