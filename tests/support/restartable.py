"""A server the conformance suite can restart (`--restart-command`): `supervise` runs a
`lepton serve` command and, on SIGHUP, stops it and starts it again on the addresses it first
announced (its port, and those of --flight-address and --metrics-address); `restart` (the
command the suite runs) signals the supervisor and returns once the new server listens.

    python restartable.py supervise STATE_DIR -- COMMAND...   (COMMAND ends in `serve ...`)
    python restartable.py restart STATE_DIR"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

LISTENING = "lepton: listening on "
# What else the server announces, and the flag each address was given with.
ANNOUNCED = {
    "--flight-address": re.compile(r"^lepton: flight listening on grpc\+tcp://(\S+)$"),
    "--metrics-address": re.compile(r"^lepton: metrics on http://(\S+)/metrics$"),
}
PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None).prctl


def _die_with_parent() -> None:
    # A supervisor killed outright (SIGKILL at a test's teardown) takes its server with it.
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _start(command: list[str], announced: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start `command`; once it listens, its address (and, as it announces them, the other
    addresses in `announced`, by flag)."""
    process = subprocess.Popen(
        # Safe beside the echo threads: it only calls a function resolved before any fork.
        command,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_die_with_parent,  # noqa: PLW1509
    )
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith(LISTENING):
            threading.Thread(target=_echo, args=(process, announced), daemon=True).start()
            return process, line[len(LISTENING) :].strip()
    raise SystemExit(f"the server did not start (exit {process.wait()})")


def _echo(process: subprocess.Popen[str], announced: dict[str, str]) -> None:
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        for flag, pattern in ANNOUNCED.items():
            if match := pattern.match(line.strip()):
                announced[flag] = match.group(1)


def _pinned(command: list[str], addresses: dict[str, str]) -> list[str]:
    """`command` with each flag of `addresses` given that address (port 0 no more)."""
    command = list(command)
    for flag, address in addresses.items():
        if flag in command:
            command[command.index(flag) + 1] = address
    return command


def supervise(state: Path, command: list[str]) -> int:
    state.mkdir(parents=True, exist_ok=True)
    announced: dict[str, str] = {}
    process, announced["--address"] = _start(command, announced)
    generation = 0
    wanted = threading.Event()
    signal.signal(signal.SIGHUP, lambda *_: wanted.set())
    signal.signal(signal.SIGTERM, lambda *_: (process.terminate(), sys.exit(0)))
    (state / "pid").write_text(str(os.getpid()))
    (state / "generation").write_text("0")
    while True:
        if process.poll() is not None and not wanted.is_set():
            return process.returncode
        if not wanted.wait(0.2):
            continue
        wanted.clear()
        process.terminate()
        process.wait(timeout=60)
        # The same ports on every restart.
        process, _ = _start(_pinned(command, announced), {})
        generation += 1
        (state / "generation").write_text(str(generation))


def restart(state: Path, timeout: float = 90) -> int:
    before = int((state / "generation").read_text())
    os.kill(int((state / "pid").read_text()), signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while int((state / "generation").read_text() or before) == before:
        if time.monotonic() > deadline:
            sys.stderr.write("the server did not restart in time\n")
            return 1
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "supervise":
        sys.exit(supervise(Path(sys.argv[2]), sys.argv[4:]))
    sys.exit(restart(Path(sys.argv[2])))
