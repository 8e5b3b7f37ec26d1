"""Training workers as local processes, the reference server's default executor
(spec/training.md, "Resources and executors"): each worker is the leader of its own process
group, the resident memory of the whole group watched and the group ended when it passes the
worker's share (as a cgroup's limit or Kubernetes would; a cap on address space instead
breaks numerical libraries, which reserve far more than they use), its output read line by
line, and a stop that reaches every
process it started (TRN-063): the stop file, SIGTERM to the group, a grace period, then
SIGKILL to whatever is left."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Output lines longer than this are replaced by a note that they were cut.
MAX_OUTPUT_LINE_BYTES = 64 * 1024
# How often a worker's memory is measured.
MEMORY_POLL_SECONDS = 0.05
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
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
    # The resident memory the worker's processes may hold together; 0 leaves it unlimited.
    memory_bytes: int = 0


@dataclass
class LocalWorker:
    """One running worker process group."""

    launch: WorkerLaunch
    process: asyncio.subprocess.Process
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    stop_reason: str | None = None
    # Set when the group was ended for holding more memory than the launch allows.
    out_of_memory: bool = False

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
        worker = cls(launch, process)
        worker.readers = [
            asyncio.ensure_future(_read_lines(process.stdout, "stdout", sink)),
            asyncio.ensure_future(_read_lines(process.stderr, "stderr", sink)),
        ]
        if launch.memory_bytes:
            worker.readers.append(asyncio.ensure_future(worker._watch_memory()))
        return worker

    async def _watch_memory(self) -> None:
        """SIGKILL the group once its resident memory passes the limit (`out_of_memory`)."""
        while self.process.returncode is None:
            if group_resident_bytes(self.pgid) > self.launch.memory_bytes:
                self.out_of_memory = True
                _signal_group(self.pgid, signal.SIGKILL)
                return
            await asyncio.sleep(MEMORY_POLL_SECONDS)

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


def _group_stats(pgid: int) -> list[list[str]]:
    """The /proc stat fields after the command (state, ppid, pgrp, ...) of each live process
    of group `pgid` (zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(fields)
    return found


def group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` still runs (zombies count as gone)."""
    return bool(_group_stats(pgid))


def group_resident_bytes(pgid: int) -> int:
    """The resident memory of every process of group `pgid`, summed."""
    # The 22nd field after the command is the resident set in pages.
    return sum(int(fields[21]) for fields in _group_stats(pgid)) * _PAGE_BYTES


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
