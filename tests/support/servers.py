"""`lepton serve` as a child process on a loopback port the kernel picks, and the addresses it
announces; the fixtures in conftest.py and the tests that need a server of their own use it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

LISTENING = re.compile(r"^lepton: listening on (\S+)$")
FLIGHT_LISTENING = re.compile(r"^lepton: flight listening on (\S+)$")


@dataclass
class ServerProcess:
    """A running `lepton serve` child process and the addresses it announced."""

    process: subprocess.Popen[str]
    address: str
    stderr: list[str]
    flight_location: str | None = None  # with --flight-address

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)


SERVE = [sys.executable, "-m", "lepton_server.cli"]


def start_server(
    args: list[str], data_dir: Path, timeout: float = 30, launcher: list[str] = SERVE
) -> ServerProcess:
    """Start `lepton serve` (through `launcher`) on 127.0.0.1:0; wait for its listening line
    (and, with --flight-address, its flight listening line)."""
    command = [
        *launcher,
        "serve",
        "--address",
        "127.0.0.1:0",
        "--data-dir",
        str(data_dir),
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True).start()
    announced: queue.Queue[str | None] = queue.Queue()
    flight_announced: queue.Queue[str | None] = queue.Queue()

    def read_stdout() -> None:
        for line in process.stdout:
            match = LISTENING.match(line.strip())
            if match:
                announced.put(match.group(1))
            match = FLIGHT_LISTENING.match(line.strip())
            if match:
                flight_announced.put(match.group(1))
        announced.put(None)  # stdout closed: the process ended
        flight_announced.put(None)

    threading.Thread(target=read_stdout, daemon=True).start()
    try:
        address = announced.get(timeout=timeout)
        flight_location = (
            flight_announced.get(timeout=timeout) if "--flight-address" in args else None
        )
    except queue.Empty:
        address = None
    if address is None or ("--flight-address" in args and flight_location is None):
        process.kill()
        process.wait()
        raise RuntimeError(f"lepton serve did not start: {''.join(stderr)}")
    return ServerProcess(process, address, stderr, flight_location)
