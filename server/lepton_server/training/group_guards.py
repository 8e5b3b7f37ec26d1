"""A guard that ends a worker's process group once the process that started the worker is
gone (TRN-063), so that a Ray actor killed without warning — by its node's memory killer, or
along with a server that died — leaves no trainer behind. Ray ends the direct children of a
worker process that dies, the guard among them, so the guard detaches: the process started
here forks the watcher and exits at once, and the watcher waits for the starter to end (a
pidfd) or the group to end by itself; then, once the starter is gone, it removes the
directory it was given (the attempt's files on the node). Run as a script, it is that
process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shutil
import signal
import sys
from pathlib import Path

from lepton_server.training.local_workers import group_alive

# How often the watcher checks whether the group has ended by itself.
_CHECK_SECONDS = 1.0


async def guard_group(pgid: int, directory: Path) -> None:
    """Have process group `pgid` killed, and `directory` removed, once this process is gone."""
    starter = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        str(os.getpid()),
        str(pgid),
        str(directory),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # outside the worker's group, which it must outlive
    )
    await starter.wait()


def _watch(watched: int, pgid: int, directory: Path) -> None:
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
    gone(None)
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    _watch(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
