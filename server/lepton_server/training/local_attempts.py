"""One attempt of a training job on local worker processes: the working directory the
trainer runtime contract describes (spec/training.md), the worker, its output and reports
followed as they come, a stop on request, and how the attempt ended — a success with its
model, or a failure reason of the "Job failure reasons" table. The job lifecycle around it
(queue, restarts, pause, registration) is not this module's."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_server.training.local_workers import LocalWorker, WorkerLaunch
from lepton_server.training.report_lines import OutputReport, Report, ReportReader

# How often the report file is read while the worker runs.
REPORT_POLL_SECONDS = 0.1
# Trailing stderr lines kept to tell an out-of-memory failure from another.
_TAIL_LINES = 20
_OUT_OF_MEMORY_SIGNS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory")


@dataclass(frozen=True)
class CheckpointPolicy:
    """The job's CheckpointPolicy, as the runtime contract passes it on."""

    step_interval: int = 0
    interval_seconds: float = 0.0
    final: bool = False
    export_model: bool = False


@dataclass(frozen=True)
class AttemptPlan:
    """Everything one attempt needs; the caller has resolved the job's inputs."""

    job: str
    attempt: int
    argv: list[str]
    work_dir: Path
    hyperparameters: dict[str, Any]
    # Role ("train", "validation", "test") -> an Arrow IPC file of that dataset.
    data_files: dict[str, Path] = field(default_factory=dict)
    feature_columns: list[str] = field(default_factory=list)
    label_column: str = ""
    model_format: str = ""
    checkpoints: CheckpointPolicy = CheckpointPolicy()
    resume_dir: Path | None = None
    cpu: float = 1.0
    memory_bytes: int = 0
    env: dict[str, str] = field(default_factory=dict)
    grace_seconds: float = 10.0


@dataclass(frozen=True)
class AttemptFailure:
    """Why an attempt failed: a reason of the job failure table, with its metadata."""

    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AttemptResult:
    """How an attempt ended. A stopped attempt (pause, cancel, deadline) has `stop_reason`
    and neither output nor failure: the job decides what a stop means."""

    exit_code: int
    stop_reason: str | None = None
    output: OutputReport | None = None
    output_dir: Path | None = None
    failure: AttemptFailure | None = None


LogSink = Callable[[str, str], None]
ReportSink = Callable[[Report], None]


class LocalAttempt:
    """Runs one attempt; `stop` may be called while `run` is in progress."""

    def __init__(self, plan: AttemptPlan) -> None:
        self.plan = plan
        self._worker: LocalWorker | None = None
        self._stop: tuple[str, float] | None = None
        self._stopping: asyncio.Future[None] | None = None

    async def run(self, on_log: LogSink, on_report: ReportSink) -> AttemptResult:
        plan = self.plan
        launch = _prepare(plan)
        reader = ReportReader(Path(launch.env["LEPTON_REPORT_FILE"]))
        tail: deque[str] = deque(maxlen=_TAIL_LINES)

        def log(stream: str, line: str) -> None:
            if stream == "stderr":
                tail.append(line)
            on_log(stream, line)

        output: OutputReport | None = None

        def drain() -> None:
            nonlocal output
            for item in reader.read():
                if isinstance(item, OutputReport):
                    output = item
                on_report(item)

        self._worker = await LocalWorker.start(launch, log)
        if self._stop is not None:  # asked to stop while it was starting
            self._stopping = asyncio.ensure_future(self.stop(*self._stop))
        waiting = asyncio.ensure_future(self._worker.wait())
        while not waiting.done():
            drain()
            await asyncio.wait({waiting}, timeout=REPORT_POLL_SECONDS)
        code = waiting.result()
        drain()
        if self._worker.stop_reason is not None:
            return AttemptResult(code, stop_reason=self._worker.stop_reason)
        failure = _failure(code, output, plan, launch, list(tail))
        if failure is not None:
            return AttemptResult(code, failure=failure)
        return AttemptResult(code, output=output, output_dir=launch.cwd.parent / "output")

    async def stop(self, reason: str, grace_seconds: float | None = None) -> None:
        """Stop the attempt (pause, cancel or deadline); `run` then returns the stop."""
        grace = self.plan.grace_seconds if grace_seconds is None else grace_seconds
        if self._worker is None:
            self._stop = (reason, grace)
            return
        await self._worker.stop(reason, grace)

    def kill(self) -> None:
        """End the worker's process group at once (the server is stopping)."""
        if self._worker is not None:
            self._worker.kill()


def _prepare(plan: AttemptPlan) -> WorkerLaunch:
    """The attempt's directories and files, and the worker's environment."""
    root = plan.work_dir / f"attempt-{plan.attempt}"
    paths = {name: root / name for name in ("work", "output", "checkpoints")}
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    hyperparameters = root / "hyperparameters.json"
    hyperparameters.write_text(json.dumps(plan.hyperparameters), encoding="utf-8")
    policy = plan.checkpoints
    contract = {
        "LEPTON_TRAINING_JOB": plan.job,
        "LEPTON_ATTEMPT": str(plan.attempt),
        "LEPTON_WORKER_INDEX": "0",
        "LEPTON_WORKER_COUNT": "1",
        "RANK": "0",
        "WORLD_SIZE": "1",
        "LEPTON_HYPERPARAMETERS": str(hyperparameters),
        "LEPTON_FEATURE_COLUMNS": json.dumps(plan.feature_columns),
        "LEPTON_LABEL_COLUMN": plan.label_column,
        "LEPTON_MODEL_FORMAT": plan.model_format,
        "LEPTON_OUTPUT_DIR": str(paths["output"]),
        "LEPTON_CHECKPOINT_DIR": str(paths["checkpoints"]),
        "LEPTON_REPORT_FILE": str(root / "report.jsonl"),
        "LEPTON_STOP_FILE": str(root / "stop"),
        "LEPTON_STOP_GRACE_SECONDS": f"{plan.grace_seconds:g}",
        "LEPTON_CHECKPOINT_STEP_INTERVAL": str(policy.step_interval),
        "LEPTON_CHECKPOINT_INTERVAL_SECONDS": f"{policy.interval_seconds:g}",
        "LEPTON_FINAL_CHECKPOINT": "true" if policy.final else "false",
        "LEPTON_EXPORT_CHECKPOINT_MODEL": "true" if policy.export_model else "false",
        "LEPTON_CPU": f"{plan.cpu:g}",
        "LEPTON_MEMORY_BYTES": str(plan.memory_bytes),
        "OMP_NUM_THREADS": str(max(1, -int(-plan.cpu // 1))),
    }
    for role, path in plan.data_files.items():
        contract[f"LEPTON_DATA_{role.upper()}"] = str(path)
    if plan.resume_dir is not None:
        contract["LEPTON_RESUME_DIR"] = str(plan.resume_dir)
    environment = {**_inherited(), **plan.env, **contract}
    return WorkerLaunch(
        plan.argv, paths["work"], environment, root / "stop", memory_bytes=plan.memory_bytes
    )


def _inherited() -> dict[str, str]:
    """What a worker inherits from the server: enough to find Python and its packages, and
    no LEPTON_ variable of the server's own."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
    return {name: os.environ[name] for name in keep if name in os.environ}


def _failure(
    code: int,
    output: OutputReport | None,
    plan: AttemptPlan,
    launch: WorkerLaunch,
    stderr_tail: list[str],
) -> AttemptFailure | None:
    """The failure of an attempt that was not asked to stop; None for a success."""
    out_of_memory = plan.memory_bytes and any(
        sign in line for line in stderr_tail for sign in _OUT_OF_MEMORY_SIGNS
    )
    if code != 0 and out_of_memory:
        return AttemptFailure(
            "OUT_OF_MEMORY",
            f"the worker exceeded its {plan.memory_bytes} bytes of memory",
            {"worker_index": "0"},
        )
    if code < 0:
        name = signal.Signals(-code).name
        return AttemptFailure(
            "WORKER_LOST", f"the worker was ended by {name}", {"worker_index": "0"}
        )
    if code > 0:
        return AttemptFailure(
            "TRAINER_FAILED",
            f"the trainer exited with code {code}",
            {"exit_code": str(code), "worker_index": "0"},
        )
    output_dir = launch.cwd.parent / "output"
    if output is None or not (output_dir / output.entry_path).is_file():
        return AttemptFailure(
            "TRAINER_FAILED",
            "the trainer exited with code 0 but wrote no model",
            {"exit_code": "0", "worker_index": "0"},
        )
    return None
