"""annotation-core cases of results against the label schema, generated from
vectors/annotation.yaml: each rule of ANN-030 broken by one result, which CreateAnnotation,
UpdateAnnotation and CreatePrediction refuse with LABEL_SCHEMA_MISMATCH and a violation on
that result, changing nothing; and results at the boundaries, stored as sent with the span
texts the server fills in (ANN-031)."""

from __future__ import annotations

from typing import Any

from lepton.data.v1 import annotation_pb2
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    INVALID,
    TABLES,
    standard_project,
    unchanged,
)
from lepton_conformance.suites.annotation.annotation_client import (
    AnnotationClient,
    classification,
    mask,
    results,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
MISMATCH = "LABEL_SCHEMA_MISMATCH"


def _check_refused(ctx: CaseContext, row: dict[str, Any]) -> None:
    data = shared_data(ctx)
    found = results(row["results"])
    with AnnotationClient(ctx) as client:
        parent = standard_project(client, data).name
        task = client.create_task(parent, row["row"]).name
        create = pb.CreateAnnotationRequest(
            parent=task, annotation=annotation_pb2.Annotation(results=found)
        )
        expect.rejects(
            lambda: client.call("CreateAnnotation", create),
            INVALID,
            MISMATCH,
            field=f"annotation.results[{row['bad']}]",
        )
        expect.equal(client.annotations(task), [], "annotations after the refused create")
        predict = pb.CreatePredictionRequest(
            parent=task,
            prediction=annotation_pb2.Prediction(
                results=found,
                inference_model="conformance-model",
                inference_model_version="1",
                score=0.5,
            ),
        )
        expect.rejects(
            lambda: client.call("CreatePrediction", predict),
            INVALID,
            MISMATCH,
            field=f"prediction.results[{row['bad']}]",
        )
        expect.equal(client.predictions(task), [], "predictions after the refused create")
        existing = client.annotate(task, [classification("animal", "cat")])
        update = pb.UpdateAnnotationRequest(
            annotation=annotation_pb2.Annotation(name=existing.name, results=found),
            update_mask=mask("results"),
        )
        expect.rejects(
            lambda: client.call("UpdateAnnotation", update),
            INVALID,
            MISMATCH,
            field=f"annotation.results[{row['bad']}]",
        )
        unchanged(
            existing, client.annotation(existing.name), "the annotation after the refused update"
        )


def _register() -> None:
    for row in TABLES["result_errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            _check_refused(ctx, row)

        body.__doc__ = (
            f"A result with {row['id'].replace('-', ' ')} is INVALID_ARGUMENT [{MISMATCH}] on "
            f"results[{row['bad']}] in CreateAnnotation, UpdateAnnotation and CreatePrediction"
        )
        CASES.case(CORE, f"results.refuse-{row['id']}", "ANN-030", "ANN-033", "ANN-002")(body)


_register()


@CASES.case(CORE, "results.boundaries-are-stored-with-span-texts", "ANN-030", "ANN-031", "ANN-029")
def valid_results(ctx: CaseContext) -> None:
    """Results at every boundary of ANN-030 are stored as sent, except that each span's text
    is the covered code points of the source column, whatever the client sent."""
    data = shared_data(ctx)
    table = TABLES["valid_results"]
    sent = results(table["results"])
    with AnnotationClient(ctx) as client:
        parent = standard_project(client, data).name
        task = client.create_task(parent, table["row"]).name
        annotation = client.annotate(task, sent)
        prediction = client.predict(task, sent)
        for what, stored in (
            ("CreateAnnotation", annotation.results),
            ("GetAnnotation", client.annotation(annotation.name).results),
            ("CreatePrediction", prediction.results),
            ("GetPrediction", client.prediction(prediction.name).results),
        ):
            spans = [r.span.text for r in stored if r.WhichOneof("value") == "span"]
            expect.equal(spans, table["span_texts"], f"span texts of {what}")
            wanted = []
            for result in sent:
                copy = annotation_pb2.LabelResult()
                copy.CopyFrom(result)
                if copy.WhichOneof("value") == "span":
                    copy.span.text = spans[
                        len([w for w in wanted if w.WhichOneof("value") == "span"])
                    ]
                wanted.append(copy)
            expect.equal(list(stored), wanted, f"the results of {what}")
