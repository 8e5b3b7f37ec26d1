"""training-core cases of pause and resume (feature `training.pause`): a queued job pauses at
once, a running one after its pause checkpoint, and resumes from it in a new attempt
(TRN-026, TRN-027); both refuse ended jobs. Without the feature they do not apply."""

from __future__ import annotations

from typing import Any

import grpc

from lepton.training.v1 import checkpoint_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.training.feature_probes import PAUSE
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.queue_hold import held_job, held_queue
from lepton_conformance.suites.training.training_client import (
    PAUSED,
    QUEUED,
    RUNNING,
    SERVICE,
    STOP_S,
    TrainingClient,
    conformance_job,
    no_change,
    points,
    state_name,
)
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()


def pause(client: TrainingClient, name: str) -> Any:
    request = pb.PauseTrainingJobRequest(name=name)
    return expect.succeeds(lambda: client.call("PauseTrainingJob", request).training_job, "Pause")


def resume(client: TrainingClient, name: str) -> Any:
    request = pb.ResumeTrainingJobRequest(name=name)
    return expect.succeeds(lambda: client.call("ResumeTrainingJob", request).training_job, "Resume")


@CASES.case(
    CORE, "pause.a-running-job-pauses-and-resumes-from-its-checkpoint", "TRN-026", "TRN-027"
)
def pause_running(ctx: CaseContext) -> None:
    """Pause of a RUNNING job leaves it RUNNING or PAUSED and it is PAUSED within 60 s with a
    PAUSE checkpoint; a second pause changes nothing; Resume returns it QUEUED, a second
    resume changes nothing, and the next attempt starts at the checkpoint's step + 1."""
    ctx.require_feature(SERVICE, PAUSE)
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        created = client.create(conformance_job(data.version, steps=60, step_seconds=0.05))
        client.running(created.name, steps=2)
        answer = pause(client, created.name)
        expect.holds(
            answer.status.state in (RUNNING, PAUSED),
            "Pause to answer RUNNING or PAUSED",
            state_name(answer),
        )
        paused = client.wait(created.name, lambda j: j.status.state == PAUSED, "PAUSED", STOP_S)
        listed = client.checkpoints(created.name)
        expect.holds(
            bool(listed) and listed[-1].trigger == checkpoint_pb2.CHECKPOINT_TRIGGER_PAUSE,
            "a last checkpoint with trigger CHECKPOINT_TRIGGER_PAUSE",
            str([(c.step, c.trigger) for c in listed]),
        )
        expect.equal(paused.latest_checkpoint, listed[-1].name, "latest_checkpoint when PAUSED")
        with no_change(client, created.name):
            expect.equal(
                state_name(pause(client, created.name)), "JOB_STATE_PAUSED", "a second pause"
            )
        expect.equal(
            state_name(resume(client, created.name)), "JOB_STATE_QUEUED", "Resume's answer"
        )
        again = resume(client, created.name)
        expect.holds(
            again.status.state in (QUEUED, RUNNING),
            "a second resume to leave it",
            state_name(again),
        )
        job = client.finish(created.name)
        expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
        step = listed[-1].step
        after = [
            p
            for p in points(client.metrics(job.name, metric_names=["train/loss"]))
            if p.attempt > listed[-1].attempt
        ]
        expect.holds(bool(after), "train/loss points of an attempt after the resume", "none")
        expect.equal(
            (after[0].step, job.restart_count),
            (step + 1, 0),
            "(first step after the resume, restart_count)",
        )
        expect.holds(
            job.attempt > listed[-1].attempt, "a higher attempt after the resume", str(job.attempt)
        )
        for rpc, reason in (
            ("PauseTrainingJob", "JOB_NOT_PAUSABLE"),
            ("ResumeTrainingJob", "JOB_NOT_RESUMABLE"),
        ):
            request = getattr(pb, f"{rpc}Request")(name=job.name)
            with no_change(client, job.name):
                expect.fails_with(
                    lambda rpc=rpc, request=request: client.call(rpc, request),
                    grpc.StatusCode.FAILED_PRECONDITION,
                    reason,
                )


@CASES.case(CORE, "pause.a-queued-job-pauses-at-once", "TRN-026", "TRN-023")
def pause_queued(ctx: CaseContext) -> None:
    """Pause of a QUEUED job returns it PAUSED; a cancel then makes it CANCELLED at once."""
    ctx.require_feature(SERVICE, PAUSE)
    with (
        training_dataset(ctx) as data,
        TrainingClient(ctx) as client,
        held_queue(client, data.version) as resources,
    ):
        held = held_job(client, data.version, resources)
        answer = pause(client, held.name)
        expect.equal(
            state_name(answer), "JOB_STATE_PAUSED", "the state Pause of a QUEUED job returns"
        )
        cancelled = client.cancel(held.name)
        expect.equal(state_name(cancelled), "JOB_STATE_CANCELLED", "Cancel of a PAUSED job")
