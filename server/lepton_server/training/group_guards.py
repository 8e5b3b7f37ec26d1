"""Guards that end a worker's process group once the process that started the worker is gone
(TRN-063), so that a trainer outlives neither a server killed with SIGKILL nor a Ray actor
killed without warning (by its node's memory killer, say).

A guard is a watcher process outside the group: it waits for the starter to end (a pidfd) or
the group to end by itself, and kills the group in the first case. It is started two ways:
- `guarded_argv` (local workers): the worker's command runs under a launcher that forks the
  watcher and then becomes the command (same process, group, pipes and exit status), so the
  trainer never runs unguarded, however soon the server dies;
- `guard_group` (Ray actors, whose children Ray ends with the actor, the guard among them, so
  the guard detaches): started after the worker, for its group; given the attempt's
  directory on the node, it also waits for the starter to be gone and removes it.
Run as a script, this module is the launcher (`exec`) or the watcher."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from lepton_server.training.local_workers import group_alive

# This module's name, also when it runs as `python -m` (where __name__ is "__main__").
_MODULE = __spec__.name if __spec__ is not None else __name__
# How often the watcher checks whether the group has ended by itself.
_CHECK_SECONDS = 1.0


def guarded_argv(argv: Sequence[str]) -> list[str]:
    """`argv` run under the launcher: guarded against the end of this process."""
    return [sys.executable, "-m", _MODULE, "exec", str(os.getpid()), *argv]


async def guard_group(pgid: int, directory: Path) -> None:
    """Have process group `pgid` killed, and `directory` removed, once this process is gone."""
    starter = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        _MODULE,
        str(os.getpid()),
        str(pgid),
        str(directory),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # outside the worker's group, which it must outlive
    )
    await starter.wait()


def _launch(starter: int, argv: list[str]) -> None:
    """Fork the watcher of this process's group, then become `argv`."""
    pgid = os.getpgrp()
    child = os.fork()
    if child == 0:
        os.setsid()  # out of the worker's group, which it must outlive
        # Nothing of the worker's: neither its output pipes, which the server reads to their
        # end, nor its environment, by which a job's processes are found.
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}
        watcher = [sys.executable, "-m", _MODULE, str(starter), str(pgid), ""]
        os.execve(sys.executable, watcher, environment)
    os.waitpid(child, 0)  # the watcher's starter, which exits at once: no zombie is left
    try:
        os.execvp(argv[0], argv)
    except OSError as error:  # as a shell reports a command it cannot run
        sys.stderr.write(f"cannot run {argv[0]}: {error.strerror}\n")
        os._exit(127)


def _watch(watched: int, pgid: int, directory: Path | None) -> None:
    if os.fork() != 0:
        os._exit(0)  # the starter: its child is now no process's child but init's
    try:
        handle: int | None = os.pidfd_open(watched)
    except ProcessLookupError:
        handle = None

    def gone(seconds: float | None) -> bool:
        return handle is None or bool(select.select([handle], [], [], seconds)[0])

    while group_alive(pgid):
        if gone(_CHECK_SECONDS):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            break
    if directory is not None:
        gone(None)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1] == "exec":
        _launch(int(sys.argv[2]), sys.argv[3:])
    else:
        _watch(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]) if sys.argv[3] else None)
