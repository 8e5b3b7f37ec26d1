"""Mutants of the training layer (spec/training.md): the reference server with one MUST of
the job lifecycle, its streams, checkpoints or registration broken."""

from __future__ import annotations

from lepton.training.v1 import training_service_pb2 as pb
from lepton.type.v1 import job_pb2
from lepton_server.training import checkpoints, job_records, job_runs, training_jobs
from lepton_server.training import model_registration as registration
from mutants.mutation import Mutant, replace


def _follow_ends_early(original):
    """A following log stream sends what exists and ends, as if it were not following."""

    def mutated(self, job, request):
        unfollowed = pb.StreamTrainingJobLogsRequest()
        unfollowed.CopyFrom(request)
        unfollowed.follow = False
        return original(self, job, unfollowed)

    return mutated


def _metrics_resume_one_late(original):
    """A metric stream resumed from a sequence starts one point later."""

    def mutated(self, job, request):
        later = pb.StreamTrainingJobMetricsRequest()
        later.CopyFrom(request)
        if later.start_sequence:
            later.start_sequence += 1
        return original(self, job, later)

    return mutated


def _cancel_ignored_while_running(original):
    """Cancel of a RUNNING job answers with the job and changes nothing."""

    async def mutated(self, name):
        job = self.get(name)
        if job.status.state == job_pb2.JOB_STATE_RUNNING:
            return job
        return await original(self, name)

    return mutated


def _queued_cancel_waits(original):
    """Cancel of a QUEUED job only marks it CANCELLING; it ends once it would have started."""

    async def mutated(self, name):
        job = self.get(name)
        if job.status.state == job_pb2.JOB_STATE_QUEUED:
            return await self.collection.cancel(name)
        return await original(self, name)

    return mutated


def _never_restarts(_original):
    async def mutated(self, handle, failure):
        return False

    return mutated


def _pause_without_checkpoint(original):
    """A pause stops the trainer as a cancel would, so it writes no pause checkpoint."""

    async def mutated(self, reason):
        return await original(self, "cancel" if reason == "pause" else reason)

    return mutated


def _resume_from_scratch(_original):
    async def mutated(self, checkpoint, attempt):
        return None

    return mutated


def _keeps_every_checkpoint(_original):
    def mutated(self, job, policy, *, latest, pinned=()):
        return ""

    return mutated


def _no_run_deadline(_original):
    def mutated(self, handle, attempt):
        return None

    return mutated


def _succeeds_before_ready(_original):
    """The version is created and named in the output, but its bytes are never uploaded."""

    def mutated(self, registration_, version, content, *, request_key, on_created=None):
        model = registration_.model
        self._call(lambda: self.registry.create_model(model, exist_ok=True))
        return self._create_version(model, version, request_key)

    return mutated


def _aliases_moved_on_failure(original):
    """A failed export or registration still points the registration's aliases at the
    model's newest READY version."""

    async def mutated(self, handle, result):
        await original(self, handle, result)
        target = handle.job.spec.output.registration
        client = self.context.registration()
        if not target.model or client is None:
            return
        newest = client.registry.model(target.model).latest_version
        for alias in target.aliases:
            if newest:
                client.registry.set_alias(target.model, alias, newest)

    return mutated


def _validate_only_creates(original):
    async def mutated(self, request):
        real = pb.CreateTrainingJobRequest()
        real.CopyFrom(request)
        real.validate_only = False
        return await original(self, real)

    return mutated


def _deletes_running_jobs(_original):
    def mutated(self, name):
        self.get(name)
        self.runner.delete(name)
        self.context.records.delete(name)

    return mutated


MUTANTS: dict[str, Mutant] = {
    "log-follow-ends-early": Mutant(
        "TRN-040: a following log stream ends before the job is terminal",
        replace(job_records.JobRecords, "stream_logs", _follow_ends_early),
        frozenset(
            {
                "training-core.streams.follow-ends-complete-after-the-last-record",
            }
        ),
    ),
    "metrics-lose-a-point-on-resume": Mutant(
        "TRN-043: a metric stream resumed from a sequence skips its first point",
        replace(job_records.JobRecords, "stream_metrics", _metrics_resume_one_late),
        frozenset(
            {
                "training-core.metrics.points-are-numbered-filtered-and-summarised",
            }
        ),
    ),
    "cancel-leaves-the-job-running": Mutant(
        "TRN-024: CancelTrainingJob on a RUNNING job changes nothing",
        replace(training_jobs.TrainingJobs, "cancel", _cancel_ignored_while_running),
        frozenset(
            {
                "training-core.checkpoints.a-new-job-continues-from-a-cancelled-jobs-checkpoint",
                "training-core.late-registration.refusals-create-nothing",
                "training-core.lifecycle.cancel-a-running-job",
            }
        ),
    ),
    "queued-cancel-waits-for-the-start": Mutant(
        "TRN-023: a QUEUED job cancelled is CANCELLING, not CANCELLED at once",
        replace(training_jobs.TrainingJobs, "cancel", _queued_cancel_waits),
        frozenset(
            {
                "training-core.lifecycle.cancel-a-queued-job",
            }
        ),
    ),
    "restart-count-ignored": Mutant(
        "TRN-030: a failed attempt never restarts, whatever max_restart_count allows",
        replace(job_runs.JobRun, "_restarted", _never_restarts),
        frozenset(
            {
                "training-core.lifecycle.a-failed-attempt-restarts-from-the-latest-checkpoint",
                "training-core.lifecycle.no-restart-left-fails-with-trainer-failed",
            }
        ),
    ),
    "pause-writes-no-checkpoint": Mutant(
        "TRN-026: a pause stops the trainer without asking it to checkpoint",
        replace(job_runs.JobRun, "stop", _pause_without_checkpoint),
        frozenset(
            {
                "training-core.pause.a-running-job-pauses-and-resumes-from-its-checkpoint",
            }
        ),
    ),
    "resume-starts-from-scratch": Mutant(
        "TRN-027: a resumed or restarted attempt ignores the latest checkpoint",
        replace(job_runs.JobRun, "_restore", _resume_from_scratch),
        frozenset(
            {
                "training-core.checkpoints.a-new-job-continues-from-a-cancelled-jobs-checkpoint",
                "training-core.lifecycle.a-failed-attempt-restarts-from-the-latest-checkpoint",
                "training-core.pause.a-running-job-pauses-and-resumes-from-its-checkpoint",
            }
        ),
    ),
    "checkpoints-never-deleted": Mutant(
        "TRN-048: keep_last_count and keep_best_count delete nothing",
        replace(checkpoints.Checkpoints, "retain", _keeps_every_checkpoint),
        frozenset(
            {
                "training-core.checkpoints.keep-last-count-deletes-the-oldest",
                "training-core.checkpoints.the-best-checkpoint-is-kept",
            }
        ),
    ),
    "max-run-duration-ignored": Mutant(
        "TRN-028: a job runs past max_run_duration",
        replace(job_runs.JobRun, "_deadline", _no_run_deadline),
        frozenset(
            {
                "training-core.lifecycle.max-run-duration-fails-the-job-and-keeps-checkpoints",
            }
        ),
    ),
    "succeeded-without-a-ready-version": Mutant(
        "TRN-053: a job is SUCCEEDED with a model version that never became READY",
        replace(registration.ModelRegistration, "register", _succeeds_before_ready),
        frozenset(
            {
                "training-core.late-registration.registers-the-output-and-a-checkpoint-model",
                "training-core.registration.a-job-registers-its-output",
                "training-core.registration.a-model-deleted-before-registration-fails-the-job",
            }
        ),
    ),
    "aliases-moved-when-registration-failed": Mutant(
        "TRN-054: a failed registration moves the registration's aliases",
        replace(job_runs.JobRun, "_keep_output", _aliases_moved_on_failure),
        frozenset(
            {
                "training-core.registration.a-failed-registration-moves-no-alias",
                "training-core.registration.a-model-deleted-before-registration-fails-the-job",
            }
        ),
    ),
    "validate-only-creates-the-job": Mutant(
        "TRN-013: CreateTrainingJob with validate_only creates and starts the job",
        replace(training_jobs.TrainingJobs, "create", _validate_only_creates),
        frozenset(
            {
                "training-core.create.validate-only-creates-nothing",
            }
        ),
    ),
    "running-jobs-delete": Mutant(
        "TRN-034: DeleteTrainingJob removes a job that is not terminal",
        replace(training_jobs.TrainingJobs, "delete", _deletes_running_jobs),
        frozenset(
            {
                "training-core.lifecycle.cancel-a-queued-job",
                "training-core.lifecycle.cancel-a-running-job",
                "training-core.lifecycle.delete-removes-the-job-and-its-records",
            }
        ),
    ),
}
