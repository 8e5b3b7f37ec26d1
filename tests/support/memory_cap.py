"""A memory limit the kernel enforces on a server under test: a child of this process's
cgroup (v1 memory controller, or v2 where the memory controller is delegated), which a
launcher prefix joins before it execs the server."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class MemoryCap:
    """A cgroup with a memory limit, and how to start a command inside it."""

    path: Path
    limit_file: str  # memory.limit_in_bytes (v1) or memory.max (v2)
    events_file: str  # where the kernel counts OOM kills

    def launcher(self, command: list[str]) -> list[str]:
        # The shell joins the group, then becomes the command: the server and every child
        # it starts are charged to the group from their first page.
        join = f'echo $$ > {self.path}/cgroup.procs && exec "$@"'
        return ["sh", "-c", join, "sh", *command]

    def oom_kills(self) -> int:
        for line in (self.path / self.events_file).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        raise AssertionError(f"no oom_kill count in {self.events_file}")


def _own_group(controller: str) -> Path | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return ROOT / controller / path.lstrip("/")
        if controller == "" and controllers == "":
            return ROOT / path.lstrip("/")
    return None


def _candidates() -> Iterator[tuple[Path, str, str]]:
    v1 = _own_group("memory")
    if v1 is not None:
        yield v1, "memory.limit_in_bytes", "memory.oom_control"
    v2 = _own_group("")
    if v2 is not None and (ROOT / "cgroup.controllers").exists():
        yield v2, "memory.max", "memory.events"


@contextmanager
def memory_cap(limit_bytes: int, name: str) -> Iterator[MemoryCap]:
    """A fresh cgroup capped at `limit_bytes`, removed afterwards (stop what runs in it
    first); the test is skipped, with the reason, where this process may not create one (not
    root, no memory controller)."""
    reasons = []
    for parent, limit_file, events_file in _candidates():
        path = parent / f"{name}-{os.getpid()}"
        try:
            path.mkdir()
        except OSError as exc:
            reasons.append(f"{parent}: {exc.strerror}")
            continue
        try:
            (path / limit_file).write_text(str(limit_bytes))
        except OSError as exc:
            path.rmdir()
            reasons.append(f"{path / limit_file}: {exc.strerror}")
            continue
        try:
            yield MemoryCap(path, limit_file, events_file)
        finally:
            _remove(path)
        return
    pytest.skip(f"cannot create a memory-limited cgroup here: {'; '.join(reasons) or 'none'}")


def _remove(path: Path, timeout: float = 10.0) -> None:
    # A group can be removed once its last process has exited (which the kernel notes a
    # moment after the wait returns): what a failed test left running is killed first.
    for pid in (path / "cgroup.procs").read_text().split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            path.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
