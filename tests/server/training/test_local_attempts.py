"""One attempt on local workers (spec/training.md, "Trainer runtime contract", "Job failure
reasons"): the conformance trainer run through the attempt's directory and environment, its
reports and logs followed, a stop on request, and each way an attempt ends."""

from __future__ import annotations

import asyncio
import sys

import pyarrow as pa
from support.training_attempts import arrow_file, conformance_plan, run_attempt

from lepton_server.training.attempts import CheckpointPolicy
from lepton_server.training.local_attempts import LocalAttempt
from lepton_server.training.report_lines import CheckpointReport, Metric, OutputReport


def test_a_successful_attempt_has_its_model_and_every_report(tmp_path):
    plan = conformance_plan(
        tmp_path, checkpoints=CheckpointPolicy(step_interval=1, export_model=True)
    )
    result, logs, reports = run_attempt(LocalAttempt(plan))
    assert result.failure is None and result.stop_reason is None and result.exit_code == 0
    assert isinstance(result.output, OutputReport)
    assert (result.output_dir / result.output.entry_path).is_file()
    assert logs == [("stdout", f"step {s} line 1") for s in (1, 2, 3)]
    checkpoints = [r for r in reports if isinstance(r, CheckpointReport)]
    assert [c.step for c in checkpoints] == [1, 2, 3]
    assert all(c.model_path and c.format == "ONNX" for c in checkpoints)


def test_the_trainer_sees_the_runtime_contract(tmp_path):
    data = arrow_file(tmp_path / "train.arrow", pa.table({"x": [1.0, 2.0]}))
    script = (
        "import json, os\n"
        "from lepton_ai.training import report\n"
        "print(report.hyperparameters()['steps'], report.data('train').num_rows,\n"
        "      os.environ['LEPTON_TRAINING_JOB'], os.environ['LEPTON_ATTEMPT'],\n"
        "      os.environ['OMP_NUM_THREADS'], json.loads(os.environ['LEPTON_FEATURE_COLUMNS']))\n"
        "(report.output_dir() / 'm.bin').write_bytes(b'm')\n"
        "report.output('m.bin')\n"
    )
    plan = conformance_plan(
        tmp_path,
        attempt=2,
        argv=[sys.executable, "-c", script],
        data_files={"train": data},
        feature_columns=["x"],
        cpu=1.5,
    )
    result, logs, _ = run_attempt(LocalAttempt(plan))
    assert result.failure is None
    assert logs == [("stdout", "3 2 trainingJobs/t1 2 2 ['x']")]


def test_a_stop_is_a_stop_not_a_failure(tmp_path):
    plan = conformance_plan(tmp_path, hyperparameters={"steps": 1000, "step_seconds": 0.02})
    result, _, reports = run_attempt(LocalAttempt(plan), stop="pause")
    assert result.stop_reason == "pause" and result.failure is None and result.output is None
    assert any(isinstance(r, CheckpointReport) and r.trigger == "pause" for r in reports)


def test_a_stop_before_the_worker_started_still_stops_it(tmp_path):
    async def scenario():
        attempt = LocalAttempt(
            conformance_plan(tmp_path, hyperparameters={"steps": 1000, "step_seconds": 0.05})
        )
        await attempt.stop("cancel")
        return await attempt.run(lambda *_: None, lambda _: None)

    result = asyncio.run(scenario())
    assert result.stop_reason == "cancel"


def test_each_failure_has_its_reason(tmp_path):
    fail = {"steps": 3, "step_seconds": 0, "fail_at_step": 2}
    cases = {
        "TRAINER_FAILED": ({**fail, "exit_code": 4}, {}),
        "WORKER_LOST": ({**fail, "failure": "kill_self"}, {}),
        "OUT_OF_MEMORY": (
            {**fail, "failure": "allocate", "allocate_bytes": 1 << 30},
            {"memory_bytes": 512 << 20},
        ),
    }
    for reason, (params, extra) in cases.items():
        result, _, reports = run_attempt(
            LocalAttempt(conformance_plan(tmp_path / reason, hyperparameters=params, **extra))
        )
        assert result.failure is not None and result.failure.reason == reason, result
        assert max(r.step for r in reports if isinstance(r, Metric)) == 1
    result, _, _ = run_attempt(
        LocalAttempt(
            conformance_plan(tmp_path / "none", hyperparameters={"steps": 1, "output": "none"})
        )
    )
    assert result.failure.reason == "TRAINER_FAILED"
    assert result.failure.metadata["exit_code"] == "0"
    assert run_attempt(
        LocalAttempt(conformance_plan(tmp_path / "4", hyperparameters={**fail, "exit_code": 4}))
    )[0].failure.metadata == {"exit_code": "4", "worker_index": "0"}
