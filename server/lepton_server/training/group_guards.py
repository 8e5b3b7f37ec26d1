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
Run as a script (`main`), this module is the launcher, its watcher, or guard_group's starter."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from lepton_server.training.local_workers import group_alive

# This module's name, also when it runs as `python -m` (where __name__ is "__main__").
_MODULE = __spec__.name if __spec__ is not None else __name__
# How often the watcher checks whether the group has ended by itself.
_CHECK_SECONDS = 1.0


def guarded_argv(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """`argv`, to be run with `env`, under the launcher: guarded against the end of this
    process. A server that is PID 1 needs no guard (its end is its container's), and would
    have to reap every watcher."""
    if os.getpid() == 1:
        return list(argv)
    # Isolated (-I): neither the job's environment (PYTHONHOME, PYTHONPATH) nor its working
    # directory, where its own files are, can change what the launcher runs; it finds this
    # module on this process's path instead.
    path = os.pathsep.join(entry for entry in sys.path if entry)
    boot = (
        f"import sys; sys.path[:0] = sys.argv[1].split({os.pathsep!r}); "
        f"from {_MODULE} import main; main(sys.argv[2:])"
    )
    # What Python adds to its environment on a C locale (PEP 538), which the command's must
    # not gain.
    added = ",".join(name for name in ("LC_CTYPE",) if name not in env)
    return [sys.executable, "-I", "-c", boot, path, "exec", str(os.getpid()), added, *argv]


async def guard_group(pgid: int, directory: Path) -> None:
    """Have process group `pgid` killed, and `directory` removed, once this process is gone."""
    starter = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        _MODULE,
        "guard",
        str(os.getpid()),
        str(pgid),
        str(directory),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # outside the worker's group, which it must outlive
    )
    await starter.wait()


def _launch(starter: int, added: list[str], argv: list[str]) -> None:
    """Start the watcher of this process's group, then become `argv`."""
    pgid = os.getpgrp()
    child = os.fork()
    if child == 0:
        os.setsid()  # out of the worker's group, which it must outlive
        if os.fork() == 0:
            # Nothing of the worker's: neither its output pipes, which the server reads to
            # their end, nor its environment, by which a job's processes are found.
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            environment = {k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}
            watcher = [sys.executable, "-m", _MODULE, "watch", str(starter), str(pgid)]
            os.execve(sys.executable, watcher, environment)
        os._exit(0)  # the watcher is now init's child: it never becomes the worker's zombie
    os.waitpid(child, 0)
    for name in added:
        os.environ.pop(name, None)
    # Python ignores these; an ignored signal stays ignored across exec, and a shell cannot
    # undo it.
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(signum, signal.SIG_DFL)
    try:
        os.execvp(argv[0], argv)
    except OSError as error:  # as a shell reports a command it cannot run
        sys.stderr.write(f"cannot run {argv[0]}: {error.strerror}\n")
        os._exit(127)


def _watch(watched: int, pgid: int, directory: Path | None) -> None:
    try:
        handle: int | None = os.pidfd_open(watched)
    except ProcessLookupError:
        handle = None

    def gone(seconds: float | None) -> bool:
        return handle is None or bool(select.select([handle], [], [], seconds)[0])

    while group_alive(pgid):
        if gone(_CHECK_SECONDS):
            if group_alive(pgid):  # not a group ended meanwhile, whose number is free again
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
            break
    if directory is not None:
        gone(None)
        shutil.rmtree(directory, ignore_errors=True)


def main(args: list[str]) -> None:
    """The launcher (`exec`), its watcher (`watch`), or guard_group's starter (`guard`)."""
    mode, starter, rest = args[0], int(args[1]), args[2:]
    if mode == "exec":  # the launcher: [added names] argv...
        _launch(starter, [name for name in rest[0].split(",") if name], rest[1:])
    elif mode == "watch":  # the launcher's watcher: pgid
        _watch(starter, int(rest[0]), None)
    else:  # guard_group's starter: pgid directory
        if os.fork() != 0:
            os._exit(0)  # its child is now no process's child but init's
        _watch(starter, int(rest[0]), Path(rest[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
