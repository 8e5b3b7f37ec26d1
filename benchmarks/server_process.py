"""A server under benchmark: a child process that announces its address, with the CPU time
and resident memory of its whole process tree (worker processes and backend stubs count)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on (\S+)")
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


@dataclass
class Server:
    """A running server: its name, root pid and the address it serves on."""

    name: str
    pid: int
    address: str

    def pids(self) -> list[int]:
        """The root process and every descendant alive now."""
        tree, found, stack = _children(), [], [self.pid]
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(tree.get(pid, []))
        return found

    def cpu_seconds(self) -> float | None:
        """User plus system CPU time of the process tree, where /proc tells."""
        if not Path(f"/proc/{self.pid}/stat").exists():
            return None
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited between the listing and the read
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int | None:
        """Resident memory of the process tree (shared pages count once per process)."""
        if not Path(f"/proc/{self.pid}/statm").exists():
            return None
        total = 0
        for pid in self.pids():
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            except OSError:
                continue
        return total


class PeakMemory:
    """Samples a server's resident memory in a thread while a load runs; `peak` in bytes."""

    def __init__(self, server: Server, interval_s: float = 0.1) -> None:
        self.server, self.interval_s = server, interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.rss_bytes() or 0)
            self._stop.wait(self.interval_s)


def lepton_serve(data_dir: Path, *args: str) -> list[str]:
    """The command of `lepton serve` on a free loopback port with its data in `data_dir`."""
    return [
        sys.executable,
        "-m",
        "lepton_server.cli",
        "serve",
        "--address",
        "127.0.0.1:0",
        "--data-dir",
        str(data_dir),
        *args,
    ]


@contextmanager
def process(command: list[str], name: str | None = None) -> Iterator[Server]:
    """Start a server process; yield it once it announces its address."""
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in child.stdout:
            match = LISTENING.search(line)
            if match:
                yield Server(name or Path(command[0]).name, child.pid, match.group(1))
                break
        else:
            raise RuntimeError(f"{command[0]} exited before listening")
    finally:
        child.terminate()
        child.wait(timeout=30)
