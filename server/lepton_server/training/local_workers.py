"""Training workers as local processes, the reference server's default executor
(spec/training.md, "Resources and executors"): each worker is the leader of its own process
group, with its memory capped, its output read line by line, and a stop that reaches every
process it started (TRN-063): the stop file, SIGTERM to the group, a grace period, then
SIGKILL to whatever is left."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Output lines longer than this are replaced by a note that they were cut.
MAX_OUTPUT_LINE_BYTES = 64 * 1024
# How long to wait for the last processes of a group to go after SIGKILL.
_REAP_SECONDS = 5.0

OutputSink = Callable[[str, str], None]
"""Receives ("stdout" or "stderr", line without its newline)."""


@dataclass(frozen=True)
class WorkerLaunch:
    """How to start one worker."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    stop_file: Path
    # RLIMIT_AS of the worker's processes; 0 leaves it unlimited.
    memory_bytes: int = 0


@dataclass
class LocalWorker:
    """One running worker process group."""

    launch: WorkerLaunch
    process: asyncio.subprocess.Process
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    stop_reason: str | None = None

    @property
    def pgid(self) -> int:
        return self.process.pid  # the leader of a new session leads its group

    @classmethod
    async def start(cls, launch: WorkerLaunch, sink: OutputSink) -> LocalWorker:
        """Start the worker; its output lines go to `sink` as they come."""
        process = await asyncio.create_subprocess_exec(
            *launch.argv,
            cwd=launch.cwd,
            env=launch.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=MAX_OUTPUT_LINE_BYTES,
        )
        if launch.memory_bytes:
            # Set from outside rather than in a preexec hook, which is unsafe in a threaded
            # server; the child's first instants run unlimited.
            limit = (launch.memory_bytes, launch.memory_bytes)
            with contextlib.suppress(ProcessLookupError):
                resource.prlimit(process.pid, resource.RLIMIT_AS, limit)
        worker = cls(launch, process)
        worker.readers = [
            asyncio.ensure_future(_read_lines(process.stdout, "stdout", sink)),
            asyncio.ensure_future(_read_lines(process.stderr, "stderr", sink)),
        ]
        return worker

    async def wait(self) -> int:
        """The leader's exit code (negative: the signal that ended it), once it and every
        process of its group are gone and its output is read."""
        await self._exited(math.inf)
        await self._end_group()
        # Only now: Process.wait() also waits for the pipes, which the group's last
        # processes held open.
        code = await self.process.wait()
        await asyncio.gather(*self.readers, return_exceptions=True)
        return code

    async def stop(self, reason: str, grace_seconds: float) -> int:
        """Ask the worker to stop: `reason` (pause, cancel or deadline) in the stop file,
        SIGTERM to the group, and SIGKILL to what is left after `grace_seconds`."""
        self.stop_reason = reason
        self.launch.stop_file.write_text(f"{reason}\n", encoding="utf-8")
        _signal_group(self.pgid, signal.SIGTERM)
        if not await self._exited(grace_seconds):
            _signal_group(self.pgid, signal.SIGKILL)
        return await self.wait()

    def kill(self) -> None:
        """SIGKILL the whole group now, without waiting (the server is stopping)."""
        self.stop_reason = self.stop_reason or "cancel"
        _signal_group(self.pgid, signal.SIGKILL)

    async def _exited(self, seconds: float) -> bool:
        """Whether the leader exited within `seconds`. Polled, because Process.wait() waits
        for the output pipes too, which children may hold long after the leader is gone."""
        deadline = time.monotonic() + seconds
        while self.process.returncode is None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def _end_group(self) -> None:
        """SIGKILL every process left in the group (children the trainer started and did
        not wait for), and wait until none is."""
        _signal_group(self.pgid, signal.SIGKILL)
        deadline = time.monotonic() + _REAP_SECONDS
        # Polled: nothing signals the death of processes that are not our children.
        while group_alive(self.pgid) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` still runs (zombies count as gone)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp.
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


async def _read_lines(stream: asyncio.StreamReader | None, name: str, sink: OutputSink) -> None:
    if stream is None:
        return
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # longer than the limit; asyncio has dropped what it buffered
            sink(name, f"[an output line longer than {MAX_OUTPUT_LINE_BYTES} bytes was cut]")
            continue
        if not line:
            return
        sink(name, line.decode("utf-8", errors="replace").rstrip("\r\n"))
