"""Attempts for the executor tests: a plan of the conformance trainer, a data file, and a run
that collects every log line and report, optionally stopped once the trainer has started."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

from lepton_server.training.attempts import AttemptPlan, AttemptResult
from lepton_server.training.report_lines import Report

TRAINER = [sys.executable, "-m", "lepton_server.training.conformance_trainer"]


def job_processes(job: str) -> dict[int, int]:
    """The live processes whose environment names training job `job` (its trainer and the
    trainer's children), each with its parent."""
    marker = f"LEPTON_TRAINING_JOB={job}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue  # ended while being read, or not ours to read
        if marker in environment and state != "Z":
            found[int(entry.name)] = int(parent)
    return found


def arrow_file(path: Path, table: pa.Table) -> Path:
    """`table` written at `path` as the runtime contract's data files are: an Arrow IPC file."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def conformance_plan(work_dir: Path, attempt: int = 0, **changes: Any) -> AttemptPlan:
    """A short run of the conformance trainer; `changes` replace any field."""
    fields: dict[str, Any] = {
        "job": "trainingJobs/t1",
        "attempt": attempt,
        "argv": TRAINER,
        "work_dir": work_dir,
        "hyperparameters": {"steps": 3, "step_seconds": 0},
        "grace_seconds": 2.0,
    }
    return AttemptPlan(**{**fields, **changes})


def run_attempt(
    attempt: Any, stop: str | None = None
) -> tuple[AttemptResult, list[tuple[str, str]], list[Report]]:
    """Run `attempt` (a LocalAttempt or a RayAttempt) to its end; with `stop`, ask it to stop
    for that reason once its first log line arrived, so the trainer is past its start-up."""

    async def scenario() -> tuple[AttemptResult, list[tuple[str, str]], list[Report]]:
        logs: list[tuple[str, str]] = []
        reports: list[Report] = []
        logged = asyncio.Event()

        def on_log(stream: str, line: str) -> None:
            logs.append((stream, line))
            logged.set()

        running = asyncio.ensure_future(attempt.run(on_log, reports.append))
        if stop is not None:
            started = asyncio.ensure_future(logged.wait())
            await asyncio.wait({running, started}, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            await attempt.stop(stop)
        return await running, logs, reports

    return asyncio.run(scenario())
