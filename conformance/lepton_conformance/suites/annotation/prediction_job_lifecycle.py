"""annotation-core cases of the prediction job lifecycle (feature
`data.annotation.prediction_jobs`): Get, List, Watch and Cancel as spec/data.md §3.4 defines
them, with progress in tasks (ANN-042); the predictions of a cancelled job remain and running
it again resumes (ANN-045, ANN-046); a failed inference call and outputs the decoder cannot
read fail the job with their code and reason (ANN-045)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import grpc

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import prediction_job_pb2 as pj
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    FAILED_PRECONDITION,
    INVALID,
)
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient, unique_id
from lepton_conformance.suites.annotation.annotation_data import own_dataset
from lepton_conformance.suites.annotation.annotation_jobs import (
    PREDICTION,
    check_progress,
    failed_with,
)
from lepton_conformance.suites.annotation.prediction_setup import (
    IDENTITY_BYTES,
    IDENTITY_FP32,
    INPUT,
    OUTPUT,
    ROWS,
    SCALE,
    SCORES,
    classify,
    create,
    job,
    prediction_project,
    prediction_rows,
    prediction_version,
    project_predictions,
    run,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
# Tasks of the jobs a case needs still running when it acts on them, predicted one per
# inference call; a server that finished the first before the case acted gets the next
# (job_lifecycle.while_live).
LONG_JOBS = (400, 4000)
EVERY = "annotationProjects/-"


@contextlib.contextmanager
def _long_project(ctx: CaseContext, client: AnnotationClient, rows: int) -> Iterator[Any]:
    """A project over a dataset of its own with `rows` rows, each with a task."""
    scores = [SCORES[i % ROWS] for i in range(rows)]
    with own_dataset(ctx, prediction_rows(scores)) as (_, version):
        yield prediction_project(client, version, rows)


def _ns(job: Any) -> int:
    return job.status.create_time.ToNanoseconds()


@CASES.case(CORE, "prediction-jobs.list-get-watch-and-cancel-finished", "ANN-042", "ANN-002")
def listing(ctx: CaseContext) -> None:
    """ListPredictionJobs returns a project's jobs newest first, in pages, in the order
    order_by asks, and every project's under annotationProjects/-, filtered by status.state,
    inference_model, status.create_time and labels; Get returns the listed job, Watch of a
    finished job one message, Cancel of it FAILED_PRECONDITION [JOB_ALREADY_FINISHED]."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        first, second = prediction_project(client, version), prediction_project(client, version)
        run_id = unique_id("run")

        def labelled(request_job: pj.PredictionJob, which: str) -> pj.PredictionJob:
            request_job.labels.update({"run": run_id, "which": which})
            return request_job

        grades = job(
            SCALE, "grade", {INPUT: "four"}, classification=pj.ClassificationDecoder(output=OUTPUT)
        )
        jobs = [
            run(client, first.name, labelled(classify(), "a")),
            run(client, first.name, labelled(grades, "b")),
            run(client, second.name, labelled(classify(), "c")),
        ]
        a, b, c = jobs
        for final in jobs:
            job_lifecycle.check_status(final, final.name)
            check_progress(final, ROWS)

        def newest(*items: Any) -> list[str]:
            return [j.name for j in sorted(items, key=lambda j: (-_ns(j), j.name))]

        expect.equal(PREDICTION.names(client, first.name), newest(a, b), "jobs newest first")
        expect.equal(
            PREDICTION.names(client, first.name, page_size=1), newest(a, b), "pages of one"
        )
        expect.equal(
            PREDICTION.names(client, first.name, order_by="name"),
            sorted([a.name, b.name]),
            "jobs by name",
        )
        expect.equal(
            PREDICTION.names(client, first.name, order_by="status.create_time, name"),
            newest(a, b)[::-1],
            "jobs oldest first",
        )
        mine = f'labels.run = "{run_id}"'
        cut = b.status.create_time.ToJsonString()
        for expression, wanted in (
            (mine, newest(a, b, c)),
            (f"{mine} AND status.state = JOB_STATE_SUCCEEDED", newest(a, b, c)),
            (f"{mine} AND status.state != JOB_STATE_SUCCEEDED", []),
            (f'{mine} AND inference_model = "{SCALE}"', [b.name]),
            (f'{mine} AND inference_model != "{SCALE}"', newest(a, c)),
            (f'{mine} AND labels.which != "a"', newest(b, c)),
            (
                f'{mine} AND status.create_time >= "{cut}"',
                newest(*(j for j in jobs if _ns(j) >= _ns(b))),
            ),
        ):
            expect.equal(
                PREDICTION.names(client, EVERY, filter=expression),
                wanted,
                f"jobs of every project with filter {expression!r}",
            )
        expect.equal(PREDICTION.get(client, a.name), a, "GetPredictionJob of the finished job")
        expect.equal(PREDICTION.watch(client, a.name), [a], "Watch of the finished job")
        expect.rejects(
            lambda: PREDICTION.cancel(client, a.name), FAILED_PRECONDITION, "JOB_ALREADY_FINISHED"
        )
        expect.equal(PREDICTION.get(client, a.name), a, "the job after the refused Cancel")
        PREDICTION.absent(client, f"{first.name}/predictionJobs/no-such-job")
        for fields, reason, field in (
            ({"filter": 'label = "x"'}, "INVALID_FILTER", "filter"),
            ({"order_by": "inference_model"}, "INVALID_FIELD", "order_by"),
            ({"page_size": -1}, "INVALID_FIELD", "page_size"),
        ):
            request = pb.ListPredictionJobsRequest(parent=first.name, **fields)
            expect.rejects(
                lambda request=request: client.call("ListPredictionJobs", request),
                INVALID,
                reason,
                field=field,
            )


@CASES.case(CORE, "prediction-jobs.watch-follows-a-running-job", "ANN-042")
def watch_running(ctx: CaseContext) -> None:
    """Watch of a job that has not ended sends it at once, again after every state change,
    and ends with OK right after the terminal state; the last message equals Get."""
    PREDICTION.require(ctx)
    with AnnotationClient(ctx) as client:

        def attempt(rows: int) -> bool:
            with _long_project(ctx, client, rows) as project:
                created = create(client, project.name, classify(batch_size=1))
                messages = PREDICTION.watch(client, created.name)
                final = PREDICTION.get(client, created.name)
                expect.equal(messages[-1], final, "the last Watch message = Get afterwards")
                job_lifecycle.check_succeeded(final)
                check_progress(final, rows)
                return messages[0].status.state not in job_lifecycle.TERMINAL

        job_lifecycle.while_live(LONG_JOBS, attempt, "its Watch opened")


@CASES.case(
    CORE,
    "prediction-jobs.cancelled-job-keeps-its-predictions-and-resumes",
    "ANN-045",
    "ANN-046",
    "ANN-042",
)
def cancelled(ctx: CaseContext) -> None:
    """Cancel of a running job that has stored predictions returns it CANCELLING or
    CANCELLED and it ends CANCELLED; the predictions it stored remain, and the same job run
    again predicts exactly the tasks still without a prediction of the model, each once,
    skipping the others."""
    PREDICTION.require(ctx)
    with AnnotationClient(ctx) as client:

        def attempt(rows: int) -> bool:
            with _long_project(ctx, client, rows) as project:
                request = classify(batch_size=1)
                created = create(client, project.name, request)
                seen = _first_predictions(client, project, created.name)
                if not seen:
                    return False  # it ended before a prediction could be seen
                try:
                    cancelling = PREDICTION.cancel(client, created.name)
                except grpc.RpcError as error:
                    # Only a job that finished first may refuse the cancel.
                    expect.check_error_info(error, "JOB_ALREADY_FINISHED")
                    return False
                expect.holds(
                    cancelling.status.state in (job_lifecycle.CANCELLING, job_lifecycle.CANCELLED),
                    "the cancelled job in CANCELLING or CANCELLED",
                    job_lifecycle.name_of(cancelling.status.state),
                )
                final = PREDICTION.wait(client, created.name)
                if final.status.state != job_lifecycle.CANCELLED:
                    return False  # it had finished when the cancel came
                kept = project_predictions(client, project)
                names = {p.name for found in kept.values() for p in found}
                expect.holds(
                    seen <= names,
                    "the predictions stored before the cancel to remain",
                    f"{sorted(seen - names)} gone",
                )
                again = run(client, project.name, request)
                expect.equal(
                    (again.created_prediction_count, again.skipped_task_count),
                    (rows - len(kept), len(kept)),
                    "(created_prediction_count, skipped_task_count) of the job run again "
                    f"after {len(kept)} tasks were predicted",
                )
                found = project_predictions(client, project)
                for task, predictions in kept.items():
                    expect.equal(found.get(task), predictions, f"predictions of {task} kept")
                expect.equal(len(found), rows, "tasks with a prediction after the second run")
                expect.holds(
                    all(len(p) == 1 for p in found.values()),
                    "one prediction per task",
                    str(max(len(p) for p in found.values())),
                )
                return True

        job_lifecycle.while_live(LONG_JOBS, attempt, "the cancel reached it")


def _first_predictions(client: AnnotationClient, project: Any, job: str) -> set[str]:
    """Poll until the running job has stored a prediction: the names of the first page of
    its predictions, or nothing once the job has ended."""
    request = pb.ListPredictionsRequest(
        parent=f"{project.name}/tasks/-", page_size=10, filter=f'prediction_job = "{job}"'
    )
    deadline = time.monotonic() + client.ctx.timeout * 6
    while time.monotonic() < deadline:
        listed = client.ok("ListPredictions", request).predictions
        if listed:
            return {p.name for p in listed}
        if PREDICTION.get(client, job).status.state in job_lifecycle.TERMINAL:
            return set()
        time.sleep(0.002)
    return set()


@CASES.case(CORE, "prediction-jobs.failed-inference-fails-the-job", "ANN-045")
def inference_failed(ctx: CaseContext) -> None:
    """A job whose inference call fails (three scores for scale_versions' [-1, 4] input:
    INVALID_ARGUMENT) ends FAILED with that code, reason INFERENCE_FAILED and metadata
    inference_model, having created no prediction."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        project = prediction_project(client, version)
        decoder = pj.ClassificationDecoder(output=OUTPUT)
        request = job(SCALE, "grade", {INPUT: "scores"}, classification=decoder)
        final = PREDICTION.wait(client, create(client, project.name, request).name)
        failed_with(final, "INVALID_ARGUMENT", "INFERENCE_FAILED", {"inference_model": SCALE})
        expect.equal(final.created_prediction_count, 0, "created_prediction_count")
        expect.equal(project_predictions(client, project), {}, "predictions of the project")


@CASES.case(CORE, "prediction-jobs.unreadable-outputs-fail-the-job", "ANN-045", "ANN-041")
def unreadable_outputs(ctx: CaseContext) -> None:
    """Two scores per task for a label of three classes end the job FAILED with
    FAILED_PRECONDITION [MODEL_OUTPUT_MISMATCH] and metadata output; BYTES outputs for a
    classification decoder do too, unless CreatePredictionJob refuses them at once as
    INVALID_ARGUMENT [MODEL_SIGNATURE_MISMATCH] (the declared datatype)."""
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    decoder = pj.ClassificationDecoder(output=OUTPUT)
    with AnnotationClient(ctx) as client:
        project = prediction_project(client, version)
        short = job(IDENTITY_FP32, "animal", {INPUT: "short"}, classification=decoder)
        final = PREDICTION.wait(client, create(client, project.name, short).name)
        failed_with(final, "FAILED_PRECONDITION", "MODEL_OUTPUT_MISMATCH", {"output": OUTPUT})
        texts = job(IDENTITY_BYTES, "animal", {INPUT: "text"}, classification=decoder)
        try:
            created = PREDICTION.create(client, project.name, texts)
        except grpc.RpcError as error:
            expect.equal(error.code(), INVALID, f"the code of {expect.describe(error)}")
            expect.check_error_info(error, "MODEL_SIGNATURE_MISMATCH")
        else:
            final = PREDICTION.wait(client, created.name)
            failed_with(final, "FAILED_PRECONDITION", "MODEL_OUTPUT_MISMATCH", {"output": OUTPUT})
        expect.equal(project_predictions(client, project), {}, "predictions of the project")
        expect.equal(client.annotations(f"{project.name}/tasks/-"), [], "annotations")
