"""Attempts on a real Ray head bound to 127.0.0.1 (spec/training.md, "Resources and
executors", "Trainer runtime contract", TRN-063): the conformance trainer's logs, reports,
checkpoints and model come back from the actor without a shared file system, a failure has
its reason, a cancel leaves no process behind, a pause checkpoints and a resume continues
from the checkpoint shipped to the node."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from support.training_attempts import arrow_file, conformance_plan, job_processes, run_attempt

from lepton_server.training.attempts import CheckpointPolicy
from lepton_server.training.ray_attempts import RayAttempt
from lepton_server.training.report_lines import CheckpointReport, Metric, OutputReport

pytestmark = pytest.mark.slow


def _once_running(attempt: RayAttempt, action: Callable[[], Awaitable[Any]]) -> tuple:
    """Run `attempt` and, once its trainer has logged a line, `action`; the attempt's result
    and what `action` returned."""

    async def scenario():
        logged = asyncio.Event()
        running = asyncio.ensure_future(attempt.run(lambda *_: logged.set(), lambda _: None))
        await logged.wait()
        done = await action()
        return await running, done

    return asyncio.run(scenario())


def test_a_successful_attempt_brings_back_its_logs_reports_checkpoints_and_model(
    tmp_path, ray_address
):
    plan = conformance_plan(
        tmp_path, checkpoints=CheckpointPolicy(step_interval=1, export_model=True)
    )
    result, logs, reports = run_attempt(RayAttempt(plan, ray_address))
    assert result.failure is None and result.stop_reason is None and result.exit_code == 0
    assert isinstance(result.output, OutputReport)
    assert result.output_dir == tmp_path / "attempt-0" / "output"
    assert (result.output_dir / result.output.entry_path).read_bytes().startswith(b"\x08")
    assert logs == [("stdout", f"step {s} line 1") for s in (1, 2, 3)]
    assert [m.step for m in reports if isinstance(m, Metric) and m.name == "train/loss"] == [
        1,
        2,
        3,
    ]
    checkpoints = [r for r in reports if isinstance(r, CheckpointReport)]
    assert [c.step for c in checkpoints] == [1, 2, 3]
    server_checkpoints = tmp_path / "attempt-0" / "checkpoints"
    for checkpoint in checkpoints:
        # The paths are the server's, and the files are there.
        assert Path(checkpoint.path).parent == server_checkpoints
        assert Path(checkpoint.path).read_text() == str(checkpoint.step)
        assert Path(checkpoint.model_path).is_file()


def test_the_data_reaches_the_node_through_the_object_store(tmp_path, ray_address):
    data = arrow_file(tmp_path / "train.arrow", pa.table({"x": [1.0, 2.0, 3.0]}))
    script = (
        "import os\n"
        "from lepton_ai.training import report\n"
        "print(report.data('train').num_rows, os.environ['LEPTON_DATA_TRAIN'],\n"
        "      report.hyperparameters()['steps'], os.environ['LEPTON_ATTEMPT'])\n"
        "(report.output_dir() / 'm.bin').write_bytes(b'model')\n"
        "report.output('m.bin')\n"
    )
    plan = conformance_plan(
        tmp_path, attempt=1, argv=[sys.executable, "-c", script], data_files={"train": data}
    )
    result, logs, _ = run_attempt(RayAttempt(plan, ray_address))
    assert result.failure is None
    [(stream, line)] = logs
    rows, node_path, steps, attempt = line.split()
    assert (stream, rows, steps, attempt) == ("stdout", "3", "3", "1")
    assert node_path != str(data)  # the node's own copy
    assert (result.output_dir / "m.bin").read_bytes() == b"model"


FAIL_AT_2 = {"steps": 3, "step_seconds": 0, "fail_at_step": 2}


@pytest.mark.parametrize(
    "case",
    [
        ({**FAIL_AT_2, "exit_code": 4}, {}, "TRAINER_FAILED", {"exit_code": "4"}),
        ({**FAIL_AT_2, "failure": "kill_self"}, {}, "WORKER_LOST", {}),
        (
            {**FAIL_AT_2, "failure": "allocate", "allocate_bytes": 1 << 30},
            {"memory_bytes": 512 << 20},
            "OUT_OF_MEMORY",
            {},
        ),
        ({"steps": 1, "output": "none"}, {}, "TRAINER_FAILED", {"exit_code": "0"}),
    ],
    ids=["exit", "kill_self", "allocate", "no_model"],
)
def test_each_failure_on_the_node_has_its_reason(tmp_path, ray_address, case):
    params, changes, reason, metadata = case
    plan = conformance_plan(tmp_path, hyperparameters=params, **changes)
    result, _, reports = run_attempt(RayAttempt(plan, ray_address))
    assert result.failure is not None and result.failure.reason == reason, result
    assert result.failure.metadata == {**metadata, "worker_index": "0"}
    assert result.output is None and result.stop_reason is None
    assert max(r.step for r in reports if isinstance(r, Metric)) == 1


def test_a_cancel_leaves_no_process_of_the_attempt(tmp_path, ray_address):
    job = f"trainingJobs/cancel-{os.getpid()}"
    params = {"steps": 1000, "step_seconds": 0.05, "child_processes": 3, "ignore_sigterm": True}
    attempt = RayAttempt(conformance_plan(tmp_path, job=job, hyperparameters=params), ray_address)

    async def cancel():
        before = job_processes(job)
        await attempt.stop("cancel", 1.0)  # the trainer ignores SIGTERM: SIGKILL after 1 s
        return before

    result, before = _once_running(attempt, cancel)
    assert len(before) == 4  # the trainer and its three children, on the Ray node
    assert result.stop_reason == "cancel" and result.failure is None
    assert job_processes(job) == {}


def test_a_worker_whose_actor_dies_is_lost_and_leaves_no_process(tmp_path, ray_address):
    job = f"trainingJobs/lost-{os.getpid()}"
    params = {"steps": 1000, "step_seconds": 0.05, "child_processes": 3}
    attempt = RayAttempt(conformance_plan(tmp_path, job=job, hyperparameters=params), ray_address)

    async def kill_the_actor():
        processes = job_processes(job)
        [trainer] = [pid for pid, parent in processes.items() if parent not in processes]
        node_files = Path(os.readlink(f"/proc/{trainer}/cwd")).parents[1]
        os.kill(processes[trainer], signal.SIGKILL)  # as a memory killer would
        return node_files

    result, node_files = _once_running(attempt, kill_the_actor)
    assert result.failure is not None and result.failure.reason == "WORKER_LOST"
    # Ray ends the trainer; the guard its children and the attempt's files on the node, as
    # soon as it sees the actor gone.
    for _ in range(100):
        if not job_processes(job) and not node_files.exists():
            break
        time.sleep(0.1)
    assert job_processes(job) == {}
    assert node_files.name.startswith("lepton-attempt-") and not node_files.exists()


def test_a_pause_checkpoints_and_a_resume_continues_from_it(tmp_path, ray_address):
    params = {"steps": 1000, "step_seconds": 0.02}
    plan = conformance_plan(tmp_path / "paused", hyperparameters=params)
    result, _, reports = run_attempt(RayAttempt(plan, ray_address), stop="pause")
    assert result.stop_reason == "pause" and result.failure is None and result.output is None
    [paused] = [r for r in reports if isinstance(r, CheckpointReport)]
    assert paused.trigger == "pause"
    resume = tmp_path / "resume"
    resume.mkdir()
    (resume / "checkpoint").write_bytes(Path(paused.path).read_bytes())

    params = {"steps": paused.step + 2, "step_seconds": 0}
    plan = conformance_plan(
        tmp_path / "resumed", attempt=1, hyperparameters=params, resume_dir=resume
    )
    result, _, reports = run_attempt(RayAttempt(plan, ray_address))
    assert result.failure is None
    steps = [r.step for r in reports if isinstance(r, Metric) and r.name == "train/loss"]
    assert steps == [paused.step + 1, paused.step + 2]


def test_a_stop_before_ray_placed_the_worker_ends_the_attempt(tmp_path, ray_address):
    # Two CPUs on a one-CPU head: Ray never places the worker.
    attempt = RayAttempt(conformance_plan(tmp_path, cpu=2.0), ray_address)

    async def scenario():
        running = asyncio.ensure_future(attempt.run(lambda *_: None, lambda _: None))
        await asyncio.sleep(1.0)
        await attempt.stop("cancel")
        return await running

    result = asyncio.run(scenario())
    assert result.stop_reason == "cancel" and result.output is None
