"""The primary's worker processes (`lepton serve --workers N`): started once the primary
listens, with the primary's own arguments and the port it bound, and stopped before it stops.

Each worker binds the same port (SO_REUSEPORT: the kernel spreads connections over the
processes), serves the inference data plane from an engine of its own and forwards every
other call to the primary over a private unix socket (runtime/worker_host.py)."""

from __future__ import annotations

import logging
import select
import signal
import subprocess
import sys
import time

from lepton_server.config import WorkersConfig
from lepton_server.runtime.startup_errors import StartupError

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 300.0  # a worker loads every model before it listens
ANNOUNCEMENT = "listening on"


class WorkerPool:
    """Worker processes 1..count-1 of `workers`."""

    def __init__(self, workers: WorkersConfig) -> None:
        self.workers = workers
        self._processes: list[subprocess.Popen] = []

    def start(self, address: str) -> None:
        """Start every worker on `address` and wait until each listens (blocking)."""
        for index in range(1, self.workers.count):
            command = [
                sys.executable,
                "-m",
                "lepton_server.cli",
                *self.workers.argv,
                # The last occurrence of a flag wins: the bound port, and this worker's place.
                f"--address={address}",
                f"--workers={self.workers.count}",
                f"--worker-index={index}",
                f"--worker-socket-dir={self.workers.socket_dir}",
            ]
            self._processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        deadline = time.monotonic() + READY_TIMEOUT_S
        for index, process in enumerate(self._processes, start=1):
            if not _announced(process, deadline):
                self.stop(0)
                raise StartupError(f"worker {index} did not start listening")

    def stop(self, grace_seconds: float) -> None:
        """SIGTERM every worker (each drains its calls within the grace period), then SIGKILL
        those still running a little after it."""
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds + 5.0
        for process in self._processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        self._processes.clear()


def _announced(process: subprocess.Popen, deadline: float) -> bool:
    """Whether `process` announces that it listens before `deadline` (False if it exits)."""
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([process.stdout], [], [], remaining)
        if not readable:
            return False
        line = process.stdout.readline()
        if not line:
            return False  # exited
        if ANNOUNCEMENT in line:
            return True
    return False
