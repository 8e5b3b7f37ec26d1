"""The work of one training job on the JobRunner (spec/training.md, "Lifecycle"): wait QUEUED
for capacity, run attempts, restart after a trainer's failure while restarts remain, stop for
a pause and wait PAUSED for a resume, stop at the run deadline, then export the model and
register it; the job is SUCCEEDED only once the output (and its model version) exists.

While an attempt runs, its log lines and metric points go to the job's records, its progress
and metric summaries to the job, and each reported checkpoint into the checkpoint store under
the job's retention policy. The RPCs that change a running job (cancel, pause, resume) reach
it through `JobRun.wake` and `JobRun.stop`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import tarfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from google.protobuf import timestamp_pb2

from lepton.training.v1 import checkpoint_pb2, log_entry_pb2, metric_pb2
from lepton.training.v1 import training_job_pb2 as tj
from lepton.type.v1 import job_pb2
from lepton_server.aip.jobs.runner import TERMINAL, Cancelled, JobHandle
from lepton_server.registry import import_sources
from lepton_server.runtime.errors import (
    Aborted,
    DeadlineExceeded,
    LeptonError,
    ResourceExhausted,
    Unavailable,
)
from lepton_server.runtime.file_roots import FileRoots
from lepton_server.training import (
    hyperparameters,
    job_specs,
    model_output,
    model_registration,
    training_data,
)
from lepton_server.training.attempts import (
    AttemptFailure,
    AttemptPlan,
    AttemptResult,
    CheckpointPolicy,
    attempt_dir,
)
from lepton_server.training.checkpoints import Checkpoints
from lepton_server.training.job_queue import JobQueue
from lepton_server.training.job_records import JobRecords
from lepton_server.training.job_specs import CheckedSpec
from lepton_server.training.model_registration import ModelRegistration
from lepton_server.training.report_lines import (
    CheckpointReport,
    Malformed,
    Metric,
    OutputReport,
    Progress,
    Report,
)
from lepton_server.training.training_blobs import TrainingBlobs
from lepton_server.training.training_data import DatasetSource, write_role_files

log = logging.getLogger(__name__)
S = job_pb2
RESTARTABLE = frozenset({"TRAINER_FAILED", "WORKER_LOST", "OUT_OF_MEMORY"})
_FAILURE_ERRORS: dict[str, type[LeptonError]] = {
    "TRAINER_FAILED": Aborted,
    "WORKER_LOST": Unavailable,
    "OUT_OF_MEMORY": ResourceExhausted,
}
_TRIGGERS = {
    "periodic": checkpoint_pb2.CHECKPOINT_TRIGGER_PERIODIC,
    "pause": checkpoint_pb2.CHECKPOINT_TRIGGER_PAUSE,
    "final": checkpoint_pb2.CHECKPOINT_TRIGGER_FINAL,
    "trainer": checkpoint_pb2.CHECKPOINT_TRIGGER_TRAINER,
}
STREAMS = {
    "stdout": log_entry_pb2.LOG_STREAM_STDOUT,
    "stderr": log_entry_pb2.LOG_STREAM_STDERR,
    "system": log_entry_pb2.LOG_STREAM_SYSTEM,
}
REDACTED = "[secret]"
TAR = "application/x-tar"


class Attempt(Protocol):
    """One attempt on an executor (local processes or Ray)."""

    async def run(
        self, on_log: Callable[[str, str], None], on_report: Callable[[Report], None]
    ) -> AttemptResult: ...

    async def stop(self, reason: str, grace_seconds: float | None = None) -> None: ...

    def kill(self) -> None: ...


@dataclass
class RunContext:
    """What every job's work shares: the server's stores, queue, executor and other layers."""

    records: JobRecords
    checkpoints: Checkpoints
    blobs: TrainingBlobs
    queue: JobQueue
    executor: Callable[[AttemptPlan], Attempt]
    data: Callable[[], DatasetSource]
    # The data layer's host:port, as workers reach it (LEPTON_DATA_ENDPOINT).
    data_endpoint: Callable[[], str]
    registration: Callable[[], ModelRegistration | None]
    work_root: Path
    file_roots: FileRoots
    grace_seconds: float
    # Checkpoints that other non-terminal jobs resume from, which retention keeps.
    pinned: Callable[[], Collection[str]]


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


class JobRun:
    """The work of the job `name`, run by the JobRunner with `queues_itself`."""

    def __init__(self, context: RunContext, name: str, checked: CheckedSpec) -> None:
        self.context = context
        self.name = name
        self.checked = checked
        self.wake = asyncio.Event()
        self.attempt: Attempt | None = None
        self._secrets = [value for value in checked.secret_values if value]
        self._definitions = [(d.name, re.compile(d.regex)) for d in checked.metric_definitions]
        self._stores: list[asyncio.Task[None]] = []
        self._handle: JobHandle | None = None
        self._data_files: dict[str, Path] | None = None
        self._attempt_plan: AttemptPlan | None = None  # the current or last attempt's
        self._queued_ns = 0  # time QUEUED before the first start (max_queue_duration)

    @property
    def directory(self) -> Path:
        return self.context.work_root / self.name.rsplit("/", 1)[1]

    # --- control from the RPCs --------------------------------------------------------------

    async def stop(self, reason: str) -> None:
        """Ask the running attempt to stop (pause, cancel); a no-op between attempts."""
        if self.attempt is not None:
            await self.attempt.stop(reason)

    def kill(self) -> None:
        """End the running attempt's processes now (the server is stopping)."""
        if self.attempt is not None:
            self.attempt.kill()

    # --- the work ---------------------------------------------------------------------------

    async def __call__(self, handle: JobHandle) -> None:
        self._handle = handle
        try:
            await self._run(handle)
        except LeptonError:
            # A job being cancelled ends CANCELLED, whatever else went wrong meanwhile (an
            # input deleted during the cancel, say): TRN-021 allows nothing else.
            if handle.job.status.state == S.JOB_STATE_CANCELLING:
                raise Cancelled from None
            raise
        finally:
            self.context.queue.release(self.name)
            await asyncio.to_thread(shutil.rmtree, self.directory, True)

    async def _run(self, handle: JobHandle) -> None:
        while True:
            await self._wait_turn(handle)
            try:
                result = await self._attempt(handle)
            finally:
                self.context.queue.release(self.name)
            if result is None or result.stop_reason == "cancel":
                raise Cancelled
            if result.stop_reason == "pause":
                await self._paused(handle)
                continue
            if result.stop_reason == "deadline":
                limit = handle.job.spec.max_run_duration
                raise DeadlineExceeded(
                    reason="MAX_RUN_DURATION_EXCEEDED",
                    message="the job ran longer than max_run_duration",
                    metadata={"max_run_duration": f"{limit.ToTimedelta().total_seconds():g}s"},
                )
            if result.failure is not None:
                if await self._restarted(handle, result.failure):
                    continue
                raise _failure_error(result.failure)
            await self._finish(handle, result)
            return

    async def _wait_turn(self, handle: JobHandle) -> None:
        """Return once the job may start an attempt and holds its capacity."""
        spec = handle.job.spec
        while True:
            job = handle.job
            state = job.status.state
            if state in TERMINAL or state == S.JOB_STATE_CANCELLING:
                raise Cancelled
            self.wake.clear()
            if state == S.JOB_STATE_PAUSED:
                await self.wake.wait()
                continue
            limit = spec.max_queue_duration.ToNanoseconds()
            timeout = None
            if limit and not job.status.HasField("start_time"):
                timeout = max(0.0, (limit - self._queued_ns) / 1e9)
            waiting = asyncio.ensure_future(
                self.context.queue.wait(
                    self.name,
                    self.checked.demand,
                    spec.priority,
                    job.status.create_time.ToNanoseconds(),
                )
            )
            woken = asyncio.ensure_future(self.wake.wait())
            began = time.monotonic_ns()
            done, _ = await asyncio.wait(
                {waiting, woken}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            self._queued_ns += time.monotonic_ns() - began
            woken.cancel()
            if waiting in done:
                waiting.result()
                if handle.job.status.state == S.JOB_STATE_QUEUED:
                    return
                # A cancel or a pause came with the grant: give the capacity back and let
                # the loop's first check end the job or hold it paused.
                self.context.queue.release(self.name)
                continue
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            if not done:
                raise DeadlineExceeded(
                    reason="MAX_QUEUE_DURATION_EXCEEDED",
                    message="the job stayed queued longer than max_queue_duration",
                    metadata={"max_queue_duration": f"{limit / 1e9:g}s"},
                )

    async def _attempt(self, handle: JobHandle) -> AttemptResult | None:
        """Run one attempt; None when a cancel came before it started."""
        started_before = handle.job.status.HasField("start_time")

        def begin(job: tj.TrainingJob) -> None:
            if started_before:
                job.attempt += 1
            job.phase = tj.TRAINING_PHASE_PREPARING
            job.queue_position = 0

        handle.update(begin)
        await handle.set_state(S.JOB_STATE_RUNNING, f"attempt {handle.job.attempt} started")
        attempt_number = handle.job.attempt
        self._system(f"attempt {attempt_number} started")
        began = time.monotonic()
        try:
            plan = await self._plan(handle, attempt_number)
            attempt = self.context.executor(plan)
            self.attempt = attempt
            job = handle.job
            if job.status.state == S.JOB_STATE_CANCELLING:
                return None
            if job.pause_requested:
                return AttemptResult(0, stop_reason="pause")
            handle.update(lambda job: setattr(job, "phase", tj.TRAINING_PHASE_TRAINING))
            deadline = self._deadline(handle, attempt)
            try:
                return await attempt.run(self._on_log, self._on_report)
            finally:
                if deadline is not None:
                    deadline.cancel()
                self.attempt = None
                await self._stored()
        finally:
            elapsed = time.monotonic() - began

            def ran(job: tj.TrainingJob) -> None:
                total = job.run_duration.ToTimedelta().total_seconds() + elapsed
                job.run_duration.FromNanoseconds(int(total * 1e9))

            handle.update(ran)

    async def _plan(self, handle: JobHandle, attempt: int) -> AttemptPlan:
        job = handle.job
        spec = job.spec
        if self._data_files is None:
            self._data_files = await asyncio.to_thread(
                write_role_files,
                self.context.data(),
                list(job.resolved_inputs.datasets),
                spec.data,
                self.directory / "data",
            )
        resume_dir = await self._restore(
            job.latest_checkpoint or job.resolved_inputs.resume_from_checkpoint, attempt
        )
        policy = spec.checkpoint_policy
        plan = AttemptPlan(
            job=self.name,
            attempt=attempt,
            argv=self.checked.argv,
            work_dir=self.directory,
            hyperparameters=hyperparameters.json_object(self.checked.hyperparameters),
            data_files=self._data_files,
            datasets={
                training_data.ROLES[d.role]: d.dataset_version
                for d in job.resolved_inputs.datasets
                if d.dataset_version
            },
            data_endpoint=self.context.data_endpoint(),
            feature_columns=list(spec.data.feature_columns),
            label_column=spec.data.label_column,
            model_format=self.checked.model_format,
            checkpoints=CheckpointPolicy(
                step_interval=policy.step_interval,
                interval_seconds=policy.interval_duration.ToNanoseconds() / 1e9,
                final=policy.final_checkpoint,
                export_model=policy.export_model,
            ),
            resume_dir=resume_dir,
            cpu=self.checked.resources.cpu,
            memory_bytes=self.checked.resources.memory_bytes,
            env=self.checked.env,
            grace_seconds=self.context.grace_seconds,
        )
        uri = spec.trainer.entrypoint.working_dir_uri
        if uri:
            await asyncio.to_thread(self._fetch_working_dir, uri, attempt_dir(plan, "work"))
        self._attempt_plan = plan
        return plan

    def _fetch_working_dir(self, uri: str, target: Path) -> None:
        """The entrypoint's working directory copied into the attempt's; a source that cannot
        be read is the trainer failing to start (TRAINER_FAILED)."""
        source = job_specs.working_dir(uri, self.context.file_roots)
        try:
            if source.local is not None:
                found = import_sources.local_path(source)
            else:
                found = import_sources.fetch(source, self.directory / "fetched")
        except LeptonError as error:
            raise Aborted(
                reason="TRAINER_FAILED",
                message=f"the working directory could not be fetched: {error.message}",
                metadata={"exit_code": "0", "worker_index": "0"},
            ) from None
        if found.is_dir():
            shutil.copytree(found, target, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(found, target / found.name)

    async def _restore(self, checkpoint: str, attempt: int) -> Path | None:
        """The content of `checkpoint` in a directory of its own, for LEPTON_RESUME_DIR."""
        if not checkpoint:
            return None
        found = self.context.checkpoints.get(checkpoint)
        key = self.context.checkpoints.content_key(checkpoint)
        target = self.directory / f"resume-{attempt}"

        def restore() -> None:
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            with self.context.blobs.plaintext(key) as source:
                if found.artifact.media_type == TAR:
                    with tarfile.open(source) as archive:
                        archive.extractall(target, filter="data")
                else:
                    shutil.copyfile(source, target / "checkpoint")

        await asyncio.to_thread(restore)
        return target

    def _deadline(self, handle: JobHandle, attempt: Attempt) -> asyncio.Task[None] | None:
        """A timer that stops the attempt when run_duration reaches max_run_duration."""
        job = handle.job
        limit = job.spec.max_run_duration.ToTimedelta().total_seconds()
        if not limit:
            return None
        left = max(0.0, limit - job.run_duration.ToTimedelta().total_seconds())

        async def expire() -> None:
            await asyncio.sleep(left)
            self._system("max_run_duration reached: stopping the attempt")
            await attempt.stop("deadline")

        return asyncio.ensure_future(expire())

    async def _paused(self, handle: JobHandle) -> None:
        def paused(job: tj.TrainingJob) -> None:
            job.pause_requested = False
            job.phase = tj.TRAINING_PHASE_UNSPECIFIED

        handle.update(paused)
        if handle.job.status.state == S.JOB_STATE_RUNNING:
            await handle.set_state(S.JOB_STATE_PAUSED, "paused")
        self._system("paused")

    async def _restarted(self, handle: JobHandle, failure: AttemptFailure) -> bool:
        """Go back to QUEUED for another attempt if the failure and the budget allow."""
        job = handle.job
        if failure.reason not in RESTARTABLE or job.restart_count >= job.spec.max_restart_count:
            return False
        if job.status.state != S.JOB_STATE_RUNNING:
            return False  # a cancel or pause arrived as the attempt failed

        def restarted(job: tj.TrainingJob) -> None:
            job.restart_count += 1
            job.phase = tj.TRAINING_PHASE_UNSPECIFIED

        handle.update(restarted)
        self._system(f"attempt failed ({failure.reason}: {failure.message}); restarting")
        await handle.set_state(S.JOB_STATE_QUEUED, f"restart after {failure.reason}")
        return True

    # --- output -------------------------------------------------------------------------------

    async def _finish(self, handle: JobHandle, result: AttemptResult) -> None:
        """Export (and register) the model; SUCCEEDED with the output set in one step."""
        assert result.output is not None and result.output_dir is not None
        handle.update(lambda job: setattr(job, "phase", tj.TRAINING_PHASE_EXPORTING))
        job = handle.job
        spec = job.spec
        try:
            exported = await asyncio.to_thread(
                model_output.export,
                self.context.blobs,
                result.output,
                result.output_dir,
                requested=model_output.format_of(self.checked.model_format),
                convert_to_onnx=self.checked.convert_to_onnx,
                tolerance=spec.output.conversion_tolerance
                if spec.output.HasField("conversion_tolerance")
                else None,
                scratch=self.directory / "export",
            )
        except LeptonError:
            await self._keep_output(handle, result)
            raise
        output = exported.output
        if spec.output.HasField("registration"):
            if handle.stopping:
                raise Cancelled
            handle.update(lambda job: setattr(job, "phase", tj.TRAINING_PHASE_REGISTERING))
            try:
                with handle.committing():
                    name = await self._register(handle, output, exported.key)
            except LeptonError:
                await self._keep_output(handle, result)
                raise
            output.model_version = name

        def succeeded(job: tj.TrainingJob) -> None:
            job.output.CopyFrom(output)
            job.phase = tj.TRAINING_PHASE_UNSPECIFIED
            if output.model_version:
                job.registered_model_versions.append(output.model_version)

        handle.update(succeeded)
        await handle.set_state(S.JOB_STATE_SUCCEEDED, "")

    async def _register(self, handle: JobHandle, output: tj.TrainingJobOutput, key: str) -> str:
        registration = self.context.registration()
        assert registration is not None  # the feature was checked at creation
        job = handle.job
        version = model_registration.version_of(
            job, output, self.context.records.latest_values(self.name)
        )

        def register() -> str:
            with self.context.blobs.plaintext(key) as content:
                return registration.register(
                    job.spec.output.registration,
                    version,
                    content,
                    request_key=f"{self.name}#{job.attempt}",
                )

        return await asyncio.to_thread(register)

    async def _keep_output(self, handle: JobHandle, result: AttemptResult) -> None:
        """TRN-060: the model of a failed export or registration stays as a checkpoint."""
        report = result.output
        if report is None or result.output_dir is None:
            return
        path = result.output_dir / report.entry_path
        if not path.is_file():
            return
        checkpoint = await asyncio.to_thread(
            self.context.checkpoints.add,
            self.name,
            content=path,
            step=handle.job.status.progress.completed,
            attempt=handle.job.attempt,
            trigger=checkpoint_pb2.CHECKPOINT_TRIGGER_OUTPUT,
            trainer=self.checked.trainer,
            metrics=self.context.records.latest_values(self.name),
            model=path,
            model_format=model_output.format_of(report.format)
            or model_output.format_of(self.checked.model_format),
            signature=model_output.signature_of(report.signature),
        )
        handle.update(lambda job: setattr(job, "latest_checkpoint", checkpoint.name))

    # --- what an attempt reports ----------------------------------------------------------

    def _system(self, text: str) -> None:
        self._log(log_entry_pb2.LOG_STREAM_SYSTEM, text)

    def _log(self, stream: int, text: str) -> None:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        attempt = self._handle.job.attempt if self._handle is not None else 0
        entry = log_entry_pb2.LogEntry(stream=stream, attempt=attempt, text=text, time=_now())
        self.context.records.add_logs(self.name, [entry])

    def _on_log(self, stream: str, line: str) -> None:
        self._log(STREAMS.get(stream, log_entry_pb2.LOG_STREAM_SYSTEM), line)
        for name, pattern in self._definitions:
            match = pattern.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1) if pattern.groups else match.group(0))
            except ValueError:
                continue
            step = self._handle.job.status.progress.completed if self._handle else 0
            self._on_report(Metric(name, step, value))

    def _on_report(self, item: Report) -> None:
        handle = self._handle
        assert handle is not None
        if isinstance(item, Metric):
            point = metric_pb2.MetricPoint(
                name=item.name,
                step=item.step,
                value=item.value,
                attempt=handle.job.attempt,
                time=_now(),
            )
            self.context.records.add_metrics(self.name, [point])
            summaries = self.context.records.summaries(self.name)

            def summarized(job: tj.TrainingJob) -> None:
                del job.metrics[:]
                job.metrics.extend(summaries)

            handle.update(summarized)
        elif isinstance(item, Progress):
            handle.progress(item.completed, item.total, item.unit or "steps")
        elif isinstance(item, CheckpointReport):
            previous = self._stores[-1] if self._stores else None
            # The metrics as they are when the checkpoint is reported, not when it is stored.
            metrics = self.context.records.latest_values(self.name)
            stored = self._store(handle, item, metrics, previous)
            self._stores.append(asyncio.ensure_future(stored))
        elif isinstance(item, Malformed):
            self._system(f"warning: report line skipped: {item.why}")
        elif isinstance(item, OutputReport):
            pass  # the attempt's result carries it

    async def _store(
        self,
        handle: JobHandle,
        item: CheckpointReport,
        metrics: dict[str, float],
        previous: asyncio.Task[None] | None,
    ) -> None:
        """Store one reported checkpoint after the one reported before it, then apply
        retention."""
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        assert self._attempt_plan is not None
        root = attempt_dir(self._attempt_plan, "checkpoints")
        content = _inside(root, item.path)
        model = _inside(root, item.model_path) if item.model_path else None
        if content is None or not content.exists() or (item.model_path and model is None):
            self._system(f"warning: checkpoint {item.path!r} is not under LEPTON_CHECKPOINT_DIR")
            return
        checkpoint = await asyncio.to_thread(
            self.context.checkpoints.add,
            self.name,
            content=content,
            step=item.step,
            attempt=handle.job.attempt,
            trigger=_TRIGGERS.get(item.trigger, checkpoint_pb2.CHECKPOINT_TRIGGER_TRAINER),
            trainer=self.checked.trainer,
            metrics=metrics,
            model=model,
            model_format=model_output.format_of(item.format),
            signature=model_output.signature_of(item.signature) if model else None,
            policy=handle.job.spec.checkpoint_policy,
            pinned=self.context.pinned(),
        )
        best = self.context.checkpoints.best(self.name, handle.job.spec.checkpoint_policy)

        def stored(job: tj.TrainingJob) -> None:
            job.latest_checkpoint = checkpoint.name
            job.best_checkpoint = best

        handle.update(stored)

    async def _stored(self) -> None:
        """Wait for the checkpoints reported so far to be stored."""
        stores, self._stores = self._stores, []
        for task in stores:
            try:
                await task
            except Exception:
                log.exception("storing a checkpoint of %s failed", self.name)


def _failure_error(failure: AttemptFailure) -> LeptonError:
    kind = _FAILURE_ERRORS.get(failure.reason, Aborted)
    return kind(reason=failure.reason, message=failure.message, metadata=failure.metadata)


def _inside(root: Path, path: str) -> Path | None:
    """`path` (absolute, or relative to `root`) when it lies under `root`, else None."""
    candidate = (root / path).resolve()
    return candidate if candidate.is_relative_to(root.resolve()) else None
