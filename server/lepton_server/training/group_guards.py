"""A guard that ends a worker's process group once the process that started the worker is
gone (TRN-063), so that a trainer outlives neither a Ray actor killed without warning (by its
node's memory killer, say) nor a server killed with SIGKILL. A local worker's group leaves
its session, and a Ray actor's children are ended with it, the guard among them, so the guard
detaches: the process started here forks the watcher and exits at once, and the watcher
waits for the starter to end (a pidfd) or the group to end by itself. Given a directory (the
attempt's files on a Ray node), it then waits for the starter to be gone and removes it. Run
as a script, it is that process."""

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


async def guard_group(pgid: int, directory: Path | None = None) -> None:
    """Have process group `pgid` killed, and `directory` (if any) removed, once this process
    is gone."""
    starter = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        str(os.getpid()),
        str(pgid),
        "" if directory is None else str(directory),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # outside the worker's group, which it must outlive
    )
    await starter.wait()


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
    _watch(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]) if sys.argv[3] else None)
