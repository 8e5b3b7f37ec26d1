"""annotation-core cases of prediction jobs that succeed (feature
`data.annotation.prediction_jobs`): the predictions each decoder derives from the model's
outputs, named after the job and carrying the model, the version that answered and the job
(ANN-044); one prediction per task still without one of that model version, counted
(ANN-043), so that running the job again resumes it (ANN-046); never an annotation
(ANN-037)."""

from __future__ import annotations

from typing import Any

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import prediction_job_pb2 as pj
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import one
from lepton_conformance.suites.annotation.annotation_client import (
    NEW,
    AnnotationClient,
    unique_id,
)
from lepton_conformance.suites.annotation.annotation_jobs import PREDICTION, check_progress
from lepton_conformance.suites.annotation.prediction_setup import (
    ANIMALS,
    DECODED,
    FOUR,
    GRADES,
    IDENTITY_BYTES,
    IDENTITY_FP32,
    INPUT,
    OUTPUT,
    ROWS,
    SCALE,
    SCORES,
    TAGS,
    TEXTS,
    TOLERANCE,
    argmax,
    clamp,
    classify,
    close,
    job,
    prediction_project,
    prediction_version,
    project_predictions,
    run,
    sigmoid,
    softmax,
    task_name,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()


def _counts(final: Any, created: int, skipped: int) -> None:
    expect.equal(
        (final.created_prediction_count, final.skipped_task_count),
        (created, skipped),
        f"(created_prediction_count, skipped_task_count) of {final.name}",
    )


def _only_prediction(found: dict[str, list[Any]], task: str) -> Any:
    return one(found.get(task, []), f"predictions of {task}")


def _check_made(prediction: Any, final: Any, task: str, model: str) -> None:
    """ANN-044: named after the job, with the model, the resolved version and the job."""
    job_id = final.name.rsplit("/", 1)[1]
    expect.equal(prediction.name, f"{task}/predictions/{job_id}", "the prediction's name")
    expect.equal(
        (prediction.inference_model, prediction.inference_model_version, prediction.prediction_job),
        (model, final.resolved_inference_model_version, final.name),
        f"(inference_model, inference_model_version, prediction_job) of {prediction.name}",
    )


def _check_scores(prediction: Any, wanted: list[float], tolerance: float = 0.0) -> None:
    """Each result's score and the prediction's score, the highest of them (or 0)."""
    got = [r.score for r in prediction.results]
    expect.holds(
        len(got) == len(wanted)
        and all(close(g, w, tolerance) for g, w in zip(got, wanted, strict=True)),
        f"result scores {wanted} (within {tolerance}) of {prediction.name}",
        str(got),
    )
    expect.holds(
        close(prediction.score, max(wanted, default=0.0), tolerance),
        f"score {max(wanted, default=0.0)}, the highest result score, of {prediction.name}",
        str(prediction.score),
    )


def _no_annotations(client: AnnotationClient, project: Any) -> None:
    """ANN-037, ANN-026: a job creates predictions only and moves no task."""
    expect.equal(client.annotations(f"{project.name}/tasks/-"), [], "annotations of the project")
    for task in client.tasks(project.name):
        expect.equal(
            (task.annotation_count, task.prediction_count, task.state),
            (0, 1, NEW),
            f"(annotation_count, prediction_count, state) of {task.name}",
        )


@CASES.case(
    CORE, "prediction-jobs.classification-takes-the-highest-score", "ANN-044", "ANN-043", "ANN-037"
)
def classification(ctx: CaseContext) -> None:
    """A classification job over identity_fp32 creates one prediction per task, named
    `{task}/predictions/{job id}`: the class of the highest score (ties to the lower index),
    that score clamped to [0, 1] as result score and score, the model, the version the
    inference service reported and the job; counts 5 created, 0 skipped; no annotation."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        project = prediction_project(client, version)
        final = run(client, project.name, classify(), unique_id("pj"))
        _counts(final, ROWS, 0)
        check_progress(final, ROWS)
        expect.holds(
            bool(final.resolved_inference_model_version),
            "resolved_inference_model_version, the version that answered",
            "empty",
        )
        found = project_predictions(client, project)
        for row, scores in enumerate(SCORES):
            task = task_name(project, row)
            prediction = _only_prediction(found, task)
            _check_made(prediction, final, task, IDENTITY_FP32)
            best = argmax(scores)
            wanted = an.LabelResult(
                label="animal",
                classification=an.ClassificationValue(class_name=ANIMALS[best]),
                score=clamp(scores[best]),
            )
            expect.equal(list(prediction.results), [wanted], f"results of {prediction.name}")
            expect.equal(prediction.score, wanted.score, f"score of {prediction.name}")
            expect.equal(client.prediction(prediction.name), prediction, "GetPrediction")
        _no_annotations(client, project)


@CASES.case(CORE, "prediction-jobs.classification-applies-softmax", "ANN-044")
def classification_softmax(ctx: CaseContext) -> None:
    """With apply_softmax the class is the highest softmax score (ties to the lower index)
    and that softmax probability is the result score and the score."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        project = prediction_project(client, version)
        final = run(client, project.name, classify(softmax=True))
        _counts(final, ROWS, 0)
        found = project_predictions(client, project)
        for row, scores in enumerate(SCORES):
            task = task_name(project, row)
            prediction = _only_prediction(found, task)
            _check_made(prediction, final, task, IDENTITY_FP32)
            probabilities = softmax(scores)
            best = argmax(probabilities)
            expect.equal(
                [(r.label, r.classification.class_name) for r in prediction.results],
                [("animal", ANIMALS[best])],
                f"the class of {prediction.name}",
            )
            _check_scores(prediction, [probabilities[best]], TOLERANCE)


def _multi(threshold: float = 0.0, sigmoid_: bool = False) -> pj.PredictionJob:
    decoder = pj.MultiLabelDecoder(output=OUTPUT, apply_sigmoid=sigmoid_, threshold=threshold)
    return job(IDENTITY_FP32, "tags", {INPUT: "scores"}, multi_label=decoder)


@CASES.case(CORE, "prediction-jobs.multi-label-thresholds-and-sigmoid", "ANN-044")
def multi_label(ctx: CaseContext) -> None:
    """A multi-label job selects, in class order, the classes whose score (after sigmoid
    when asked) is at least the threshold (0 meaning 0.5; a score equal to it counts), as one
    value even when it is empty; the result score is the highest class score, clamped."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        for threshold, use_sigmoid in ((0.0, False), (0.25, False), (0.6, True)):
            project = prediction_project(client, version)
            final = run(client, project.name, _multi(threshold, use_sigmoid))
            _counts(final, ROWS, 0)
            found = project_predictions(client, project)
            cut = threshold or 0.5
            what = f"threshold {threshold}, sigmoid {use_sigmoid}"
            for row, raw in enumerate(SCORES):
                scores = sigmoid(raw) if use_sigmoid else raw
                task = task_name(project, row)
                prediction = _only_prediction(found, task)
                _check_made(prediction, final, task, IDENTITY_FP32)
                chosen = [c for c, s in zip(TAGS, scores, strict=True) if s >= cut]
                expect.equal(
                    [(r.label, list(r.multi_label.class_names)) for r in prediction.results],
                    [("tags", chosen)],
                    f"the classes of {prediction.name} ({what})",
                )
                tolerance = TOLERANCE if use_sigmoid else 0.0
                _check_scores(prediction, [clamp(max(scores))], tolerance)


@CASES.case(CORE, "prediction-jobs.text-decoder-reads-utf8", "ANN-044")
def text_decoder(ctx: CaseContext) -> None:
    """A text job over identity_bytes turns each row's string, or binary value, into one
    text result holding its UTF-8 text, multi-byte characters and empty values included."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        for column, texts in (("text", TEXTS), ("raw", DECODED)):
            project = prediction_project(client, version)
            request = job(
                IDENTITY_BYTES, "caption", {INPUT: column}, text=pj.TextDecoder(output=OUTPUT)
            )
            final = run(client, project.name, request)
            _counts(final, ROWS, 0)
            found = project_predictions(client, project)
            for row, text in enumerate(texts):
                task = task_name(project, row)
                prediction = _only_prediction(found, task)
                _check_made(prediction, final, task, IDENTITY_BYTES)
                expect.equal(
                    [(r.label, r.text.text) for r in prediction.results],
                    [("caption", text)],
                    f"the text of {prediction.name} (column {column})",
                )
                expect.equal(
                    prediction.score,
                    max((r.score for r in prediction.results), default=0.0),
                    f"score of {prediction.name}, the highest result score",
                )


def _grades(version: str) -> pj.PredictionJob:
    decoder = pj.ClassificationDecoder(output=OUTPUT)
    return job(SCALE, "grade", {INPUT: "four"}, version, classification=decoder)


@CASES.case(CORE, "prediction-jobs.each-model-version-predicts-once", "ANN-044", "ANN-043")
def model_versions(ctx: CaseContext) -> None:
    """Jobs of scale_versions versions 1 and 2 each predict every task, with the version
    that answered (resolved_inference_model_version) and its outputs (version 2 doubles the
    scores); a third job of version 2 skips every task and creates nothing."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        project = prediction_project(client, version)
        first = run(client, project.name, _grades("1"))
        second = run(client, project.name, _grades("2"))
        for final, factor in ((first, 1), (second, 2)):
            expect.equal(
                final.resolved_inference_model_version,
                str(factor),
                f"resolved_inference_model_version of the job of version {factor}",
            )
            _counts(final, ROWS, 0)
        found = project_predictions(client, project)
        for row, four in enumerate(FOUR):
            task = task_name(project, row)
            made = found.get(task, [])
            expect.equal(len(made), 2, f"the number of predictions of {task}")
            for final, factor in ((first, 1), (second, 2)):
                matching = [p for p in made if p.prediction_job == final.name]
                prediction = one(matching, f"predictions of {task} by {final.name}")
                _check_made(prediction, final, task, SCALE)
                scaled = [v * factor for v in four]
                best = argmax(scaled)
                expect.equal(
                    [r.classification.class_name for r in prediction.results],
                    [GRADES[best]],
                    f"the class of {prediction.name}",
                )
                _check_scores(prediction, [clamp(scaled[best])])
        again = run(client, project.name, _grades("2"))
        _counts(again, 0, ROWS)
        expect.equal(
            sum(len(p) for p in project_predictions(client, project).values()),
            2 * ROWS,
            "predictions after a job whose every task was predicted",
        )


@CASES.case(
    CORE, "prediction-jobs.rerun-predicts-only-tasks-without-a-prediction", "ANN-043", "ANN-046"
)
def rerun(ctx: CaseContext) -> None:
    """A job selecting `row_index < 2` predicts rows 0 and 1 only; the same job without a
    filter then skips them and a task holding a prediction of the same model and resolved
    version, predicts a task holding one of another version and the rest; a third run skips
    every task."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        project = prediction_project(client, version)
        partial = run(client, project.name, classify(task_filter="row_index < 2"))
        _counts(partial, 2, 0)
        check_progress(partial, 2)
        resolved = partial.resolved_inference_model_version
        found = project_predictions(client, project)
        expect.equal(
            sorted(found), [task_name(project, 0), task_name(project, 1)], "the predicted tasks"
        )
        same = client.predict(task_name(project, 3), model=IDENTITY_FP32, version=resolved)
        other = client.predict(
            task_name(project, 4), model=IDENTITY_FP32, version=f"{resolved}-other"
        )
        full = run(client, project.name, classify())
        expect.equal(full.resolved_inference_model_version, resolved, "the version that answered")
        _counts(full, 2, 3)
        check_progress(full, ROWS)
        found = project_predictions(client, project)
        by = {partial.name: [0, 1], full.name: [2, 4]}
        for final, rows in by.items():
            for row in rows:
                task = task_name(project, row)
                made = [p for p in found.get(task, []) if p.prediction_job]
                expect.equal(
                    [p.prediction_job for p in made], [final], f"the job that predicted {task}"
                )
        expect.equal(
            [p.name for p in found.get(task_name(project, 3), [])],
            [same.name],
            "predictions of the task that held one of the same model version",
        )
        expect.equal(
            sorted(p.name for p in found.get(task_name(project, 4), [])),
            sorted([other.name, f"{task_name(project, 4)}/predictions/{full.name.split('/')[-1]}"]),
            "predictions of the task that held one of another version",
        )
        third = run(client, project.name, classify())
        _counts(third, 0, ROWS)
        expect.equal(project_predictions(client, project), found, "predictions after a third run")
