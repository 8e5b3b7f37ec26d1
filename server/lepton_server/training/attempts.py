"""What one attempt of a training job is, whatever executor runs it: the plan the job
lifecycle hands over, the attempt's directories and the worker environment of the trainer
runtime contract (spec/training.md), the following of its logs and reports, and how it ended
— a success with its model, a stop, or a failure reason of the "Job failure reasons" table.
The executors (local processes, Ray) only start, follow and stop the worker."""

from __future__ import annotations

import json
import os
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_server.training.local_workers import WorkerLaunch
from lepton_server.training.report_lines import OutputReport, Report, ReportReader

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
    # Role -> the resolved dataset version, and the data layer's host:port, so a trainer can
    # stream its data from the data layer instead of reading the file.
    datasets: dict[str, str] = field(default_factory=dict)
    data_endpoint: str = ""
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


def attempt_dir(plan: AttemptPlan, name: str = "") -> Path:
    """The attempt's directory under the job's `work_dir`, or its sub-directory `name`
    ("work", "output", "checkpoints")."""
    root = plan.work_dir / f"attempt-{plan.attempt}"
    return root / name if name else root


def prepare(plan: AttemptPlan) -> WorkerLaunch:
    """The attempt's directories and files, and the worker's environment."""
    root = attempt_dir(plan)
    paths = {name: attempt_dir(plan, name) for name in ("work", "output", "checkpoints")}
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
    for role, version in plan.datasets.items():
        contract[f"LEPTON_DATASET_{role.upper()}"] = version
    if plan.data_endpoint:
        contract["LEPTON_DATA_ENDPOINT"] = plan.data_endpoint
    if plan.resume_dir is not None:
        contract["LEPTON_RESUME_DIR"] = str(plan.resume_dir)
    environment = {**_inherited(), **plan.env, **contract}
    return WorkerLaunch(
        plan.argv, paths["work"], environment, root / "stop", memory_bytes=plan.memory_bytes
    )


def _inherited() -> dict[str, str]:
    """What a worker inherits from the process that starts it: enough to find Python and its
    packages, and no LEPTON_ variable of the server's own."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
    return {name: os.environ[name] for name in keep if name in os.environ}


class AttemptFollower:
    """Passes an attempt's log lines and reports on as they come, keeping what its end is
    judged by: the output report and the last lines of standard error."""

    def __init__(self, plan: AttemptPlan, on_log: LogSink, on_report: ReportSink) -> None:
        self.plan = plan
        self.output: OutputReport | None = None
        self._on_log = on_log
        self._on_report = on_report
        self._tail: deque[str] = deque(maxlen=_TAIL_LINES)

    def log(self, stream: str, line: str) -> None:
        if stream == "stderr":
            self._tail.append(line)
        self._on_log(stream, line)

    def report(self, item: Report) -> None:
        if isinstance(item, OutputReport):
            self.output = item
        self._on_report(item)

    def drain(self, reader: ReportReader) -> None:
        """Pass on the reports of the lines completed since the last drain."""
        for item in reader.read():
            self.report(item)

    def result(
        self, code: int, stop_reason: str | None, output_dir: Path, out_of_memory: bool = False
    ) -> AttemptResult:
        """How the attempt ended, once its worker is gone and every report is passed on;
        `output_dir` holds what the worker wrote to `LEPTON_OUTPUT_DIR`; `out_of_memory`
        says the executor ended the worker for passing its memory."""
        if stop_reason is not None:
            return AttemptResult(code, stop_reason=stop_reason)
        failure = self._failure(code, output_dir, out_of_memory)
        if failure is not None:
            return AttemptResult(code, failure=failure)
        return AttemptResult(code, output=self.output, output_dir=output_dir)

    def _failure(self, code: int, output_dir: Path, out_of_memory: bool) -> AttemptFailure | None:
        """The failure of an attempt that was not asked to stop; None for a success."""
        memory_bytes = self.plan.memory_bytes
        out_of_memory = out_of_memory or bool(
            memory_bytes
            and any(sign in line for line in self._tail for sign in _OUT_OF_MEMORY_SIGNS)
        )
        if code != 0 and out_of_memory:
            return AttemptFailure(
                "OUT_OF_MEMORY",
                f"the worker exceeded its {memory_bytes} bytes of memory",
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
        if self.output is None or not (output_dir / self.output.entry_path).is_file():
            return AttemptFailure(
                "TRAINER_FAILED",
                "the trainer exited with code 0 but wrote no model",
                {"exit_code": "0", "worker_index": "0"},
            )
        return None
