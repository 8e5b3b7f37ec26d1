"""Local worker processes (spec/training.md, "Resources and executors", TRN-063): output
read line by line, the stop file says why, SIGTERM then SIGKILL after the grace period, and
no process the worker started survives its end — real processes, no mocks."""

from __future__ import annotations

import asyncio
import os
import sys

from lepton_server.training.local_workers import LocalWorker, WorkerLaunch, group_alive

GRACE = 0.5  # short for tests; the contract's grace is 10 to 30 seconds


def _launch(tmp_path, script: str, memory_bytes: int = 0) -> WorkerLaunch:
    return WorkerLaunch(
        argv=[sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "LEPTON_STOP_FILE": str(tmp_path / "stop")},
        stop_file=tmp_path / "stop",
        memory_bytes=memory_bytes,
    )


def _run(coroutine):
    return asyncio.run(coroutine)


CHILDREN = """
import subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
children = [subprocess.Popen(sleeper) for _ in range(3)]
print("started", len(children), flush=True)
time.sleep(60)
"""


async def _started(tmp_path, script: str, wanted: str):
    lines: list[tuple[str, str]] = []
    worker = await LocalWorker.start(_launch(tmp_path, script), lambda s, t: lines.append((s, t)))
    for _ in range(500):
        if any(wanted in text for _, text in lines):
            break
        await asyncio.sleep(0.01)
    return worker, lines


def test_output_lines_arrive_per_stream_and_the_exit_code_is_kept(tmp_path):
    async def scenario():
        lines: list[tuple[str, str]] = []
        script = "import sys; print('one'); print('two', file=sys.stderr); sys.exit(3)"
        worker = await LocalWorker.start(
            _launch(tmp_path, script), lambda *line: lines.append(line)
        )
        return await worker.wait(), lines

    code, lines = _run(scenario())
    assert code == 3
    assert sorted(lines) == [("stderr", "two"), ("stdout", "one")]


def test_a_stop_reaches_every_process_the_worker_started(tmp_path):
    async def scenario():
        worker, _ = await _started(tmp_path, CHILDREN, "started 3")
        assert group_alive(worker.pgid)
        code = await worker.stop("cancel", GRACE)
        return worker, code

    worker, code = _run(scenario())
    assert code == -15  # SIGTERM ended the leader
    assert (tmp_path / "stop").read_text() == "cancel\n"
    assert not group_alive(worker.pgid)  # no orphan left


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    script = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )

    async def scenario():
        worker, _ = await _started(tmp_path, script, "ready")
        return await worker.stop("pause", GRACE), worker

    code, worker = _run(scenario())
    assert code == -9
    assert not group_alive(worker.pgid)


def test_children_left_behind_by_a_finished_worker_are_ended(tmp_path):
    script = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('leaving', flush=True)\n"
    )

    async def scenario():
        worker = await LocalWorker.start(_launch(tmp_path, script), lambda *_: None)
        return await worker.wait(), worker

    code, worker = _run(scenario())
    assert code == 0
    assert not group_alive(worker.pgid)


def test_the_memory_limit_holds(tmp_path):
    """A group holding more resident memory than its limit is ended, and says why."""
    script = "import time\nblock = bytearray(512 * 1024 * 1024)\ntime.sleep(30)\n"

    async def scenario():
        launch = _launch(tmp_path, script, memory_bytes=256 * 1024 * 1024)
        worker = await LocalWorker.start(launch, lambda *line: None)
        return await worker.wait(), worker

    code, worker = _run(scenario())
    assert code == -9 and worker.out_of_memory
    assert not group_alive(worker.pgid)


def test_memory_the_group_only_reserves_is_not_counted(tmp_path):
    """Address space reserved but never written (as numerical libraries do) is no use of
    memory: the worker runs to its end."""
    script = (
        "import mmap\nreserved = mmap.mmap(-1, 2 * 1024 * 1024 * 1024)\n"
        "block = bytearray(32 * 1024 * 1024)\nprint('done', flush=True)\n"
    )

    async def scenario():
        launch = _launch(tmp_path, script, memory_bytes=256 * 1024 * 1024)
        lines: list[tuple[str, str]] = []
        worker = await LocalWorker.start(launch, lambda *line: lines.append(line))
        return await worker.wait(), lines, worker

    code, lines, worker = _run(scenario())
    assert code == 0 and ("stdout", "done") in lines and not worker.out_of_memory
