"""`lepton serve` and `lepton agent` as child processes on loopback ports the kernel picks, and
the addresses they announce; the fixtures in conftest.py and the tests that need a server of
their own use it."""

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
METRICS = re.compile(r"^lepton: metrics on (\S+)$")
AGENT_SERVING = re.compile(r"^lepton agent: serving on (\S+)$")


@dataclass
class ServerProcess:
    """A running `lepton serve` child process and the addresses it announced."""

    process: subprocess.Popen[str]
    address: str
    stderr: list[str]
    flight_location: str | None = None  # with --flight-address
    metrics_url: str | None = None  # with --metrics-address

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
    optional = {"flight_location": FLIGHT_LISTENING, "metrics_url": METRICS}
    flags = {"flight_location": "--flight-address", "metrics_url": "--metrics-address"}
    wanted = [name for name in optional if flags[name] in args]
    patterns = [LISTENING, *(optional[name] for name in wanted)]
    process, stderr, announced = launch(command, patterns, timeout, "lepton serve")
    return ServerProcess(
        process, announced[0], stderr, **dict(zip(wanted, announced[1:], strict=True))
    )


def start_agent(
    args: list[str], state_dir: Path, timeout: float = 30, env: dict[str, str] | None = None
) -> ServerProcess:
    """Start `lepton agent` serving inference on 127.0.0.1:0 with its state in `state_dir`
    (and `env` added to its environment); wait for its serving line (`args` name the fleet,
    trust roots and the rest)."""
    command = [*SERVE, "agent", "--serve", "127.0.0.1:0", "--state-dir", str(state_dir), *args]
    process, stderr, announced = launch(command, [AGENT_SERVING], timeout, "lepton agent", env)
    return ServerProcess(process, announced[0], stderr)


def launch(
    command: list[str],
    patterns: list[re.Pattern[str]],
    timeout: float,
    what: str,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], list[str], list[str]]:
    """Start `command` (with `env` added to this environment); wait until its stdout has
    printed a line matching each of `patterns`. The process, its stderr lines (collected as
    they come) and each pattern's first group."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True).start()
    announced: list[queue.Queue[str | None]] = [queue.Queue() for _ in patterns]

    def read_stdout() -> None:
        for line in process.stdout:
            for pattern, found in zip(patterns, announced, strict=True):
                match = pattern.match(line.strip())
                if match:
                    found.put(match.group(1))
        for found in announced:
            found.put(None)  # stdout closed: the process ended

    threading.Thread(target=read_stdout, daemon=True).start()
    try:
        values = [found.get(timeout=timeout) for found in announced]
    except queue.Empty:
        values = [None]
    if None in values:
        process.kill()
        process.wait()
        raise RuntimeError(f"{what} did not start: {''.join(stderr)}")
    return process, stderr, values
