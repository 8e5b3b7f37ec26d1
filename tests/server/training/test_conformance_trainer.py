"""The `lepton.conformance` trainer run as a real worker under the runtime contract
(spec/training.md): its reports, checkpoints and resume, a pause that checkpoints, each way of
failing, and the model it exports, which onnxruntime runs."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from lepton_server.training.local_workers import LocalWorker, WorkerLaunch, group_alive
from lepton_server.training.report_lines import (
    CheckpointReport,
    Metric,
    OutputReport,
    Progress,
    ReportReader,
)

TRAINER = [sys.executable, "-m", "lepton_server.training.conformance_trainer"]


def _launch(tmp_path: Path, params: dict, attempt: int = 0, **env: str) -> WorkerLaunch:
    work = tmp_path / f"attempt-{attempt}"
    for name in ("out", "checkpoints"):
        (work / name).mkdir(parents=True, exist_ok=True)
    (work / "hyperparameters.json").write_text(json.dumps(params))
    contract = {
        "LEPTON_ATTEMPT": str(attempt),
        "LEPTON_HYPERPARAMETERS": str(work / "hyperparameters.json"),
        "LEPTON_REPORT_FILE": str(work / "report.jsonl"),
        "LEPTON_OUTPUT_DIR": str(work / "out"),
        "LEPTON_CHECKPOINT_DIR": str(work / "checkpoints"),
        "LEPTON_STOP_FILE": str(work / "stop"),
    }
    return WorkerLaunch(TRAINER, work, {**os.environ, **contract, **env}, work / "stop")


def _run(launch: WorkerLaunch, stop: str | None = None):
    """Run the worker to its end; with `stop`, stop it for that reason once it has written a
    line, so that its SIGTERM handler is in place (a fixed delay raced its start-up)."""

    async def scenario():
        lines: list[str] = []
        logged = asyncio.Event()

        def on_line(_stream: str, line: str) -> None:
            lines.append(line)
            logged.set()

        worker = await LocalWorker.start(launch, on_line)
        if stop is None:
            code = await worker.wait()
        else:
            await logged.wait()
            code = await worker.stop(stop, 5)
        return code, lines, ReportReader(Path(launch.env["LEPTON_REPORT_FILE"])).read(), worker

    return asyncio.run(scenario())


def test_a_run_reports_every_step_and_exports_a_model_onnxruntime_runs(tmp_path):
    launch = _launch(
        tmp_path,
        {"steps": 4, "step_seconds": 0, "log_lines_per_step": 2, "best_step": 3},
        LEPTON_CHECKPOINT_STEP_INTERVAL="2",
        LEPTON_FINAL_CHECKPOINT="true",
    )
    code, lines, reports, _ = _run(launch)
    assert code == 0
    assert len(lines) == 8 and lines[:2] == ["step 1 line 1", "step 1 line 2"]
    metrics = [r for r in reports if isinstance(r, Metric)]
    assert [m.value for m in metrics if m.name == "validation/loss"] == [3, 2, 1, 2]
    assert [m.value for m in metrics if m.name == "train/loss"] == [1, 1 / 2, 1 / 3, 1 / 4]
    assert [r for r in reports if isinstance(r, Progress)][-1] == Progress(4, 4, "steps")
    checkpoints = [r for r in reports if isinstance(r, CheckpointReport)]
    assert [(c.step, c.trigger) for c in checkpoints] == [
        (2, "periodic"),
        (4, "periodic"),
        (4, "final"),
    ]
    [output] = [r for r in reports if isinstance(r, OutputReport)]
    assert (output.entry_path, output.format) == ("model.onnx", "ONNX")
    session = ort.InferenceSession(str(launch.cwd / "out" / "model.onnx"))
    x = np.array([1.5, -2.0], dtype=np.float32)
    assert np.array_equal(session.run(None, {"input": x})[0], x)


def test_a_resumed_attempt_continues_after_the_checkpoint(tmp_path):
    first = _launch(tmp_path, {"steps": 3, "step_seconds": 0}, LEPTON_CHECKPOINT_STEP_INTERVAL="2")
    _, _, reports, _ = _run(first)
    checkpoint = next(r for r in reports if isinstance(r, CheckpointReport))
    # As a server restores it: a directory holding the checkpoint's content.
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(checkpoint.path, restored)
    resumed = _launch(tmp_path, {"steps": 3, "step_seconds": 0}, 1, LEPTON_RESUME_DIR=str(restored))
    code, lines, reports, _ = _run(resumed)
    assert code == 0 and lines == ["step 3 line 1"]
    assert [m.step for m in reports if isinstance(m, Metric)] == [3, 3]


def test_a_pause_writes_a_checkpoint_and_stops_the_children(tmp_path):
    launch = _launch(tmp_path, {"steps": 1000, "step_seconds": 0.02, "child_processes": 2})
    code, _, reports, worker = _run(launch, stop="pause")
    assert code == 0
    [checkpoint] = [r for r in reports if isinstance(r, CheckpointReport)]
    assert checkpoint.trigger == "pause" and checkpoint.step > 0
    assert Path(checkpoint.path).read_text() == str(checkpoint.step)
    assert not group_alive(worker.pgid)


def test_each_way_of_failing(tmp_path):
    base = {"steps": 5, "step_seconds": 0, "fail_at_step": 3}
    code, _, reports, _ = _run(_launch(tmp_path / "exit", {**base, "exit_code": 7}))
    assert code == 7
    assert max(m.step for m in reports if isinstance(m, Metric)) == 2
    code, *_ = _run(_launch(tmp_path / "kill", {**base, "failure": "kill_self"}))
    assert code == -9
    params = {**base, "failure": "allocate", "allocate_bytes": 1 << 30}
    launch = _launch(tmp_path / "oom", params)
    launch = WorkerLaunch(launch.argv, launch.cwd, launch.env, launch.stop_file, 512 << 20)
    code, lines, *_ = _run(launch)
    assert code != 0 and any("MemoryError" in line for line in lines)


def test_failures_stop_after_fail_attempts(tmp_path):
    params = {"steps": 3, "step_seconds": 0, "fail_at_step": 2, "fail_attempts": 1}
    assert _run(_launch(tmp_path, params, attempt=0))[0] == 1
    assert _run(_launch(tmp_path, params, attempt=1))[0] == 0


def test_the_output_can_be_missing_or_not_a_model(tmp_path):
    base = {"steps": 1, "step_seconds": 0}
    launch = _launch(tmp_path / "none", {**base, "output": "none"})
    code, _, reports, _ = _run(launch)
    assert code == 0 and not any(isinstance(r, OutputReport) for r in reports)
    assert not list((launch.cwd / "out").iterdir())
    launch = _launch(tmp_path / "invalid", {**base, "output": "invalid"})
    _run(launch)
    assert (launch.cwd / "out" / "model.onnx").read_bytes() == b"these bytes are no model"
