"""Shared fixtures: real `lepton serve` processes on loopback ports chosen by the kernel."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

LISTENING = re.compile(r"^lepton: listening on (\S+)$")
FLIGHT_LISTENING = re.compile(r"^lepton: flight listening on (\S+)$")
REPO_ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Starts servers with extra CLI arguments; stops every one at teardown."""
    started: list[ServerProcess] = []

    def factory(*args: str, launcher: list[str] = SERVE) -> ServerProcess:
        server = start_server(list(args), tmp_path / f"data-{len(started)}", launcher=launcher)
        started.append(server)
        return server

    yield factory
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """One plain server: no TLS, no auth, every implemented layer."""
    return server_factory()


@pytest.fixture(scope="session")
def model_repository(tmp_path_factory) -> Path:
    """The conformance model set, built once per test session."""
    from lepton_conformance.models import write_model_set  # noqa: PLC0415

    root = tmp_path_factory.mktemp("models")
    write_model_set(root)
    return root


@pytest.fixture
def inference_server(server_factory, model_repository) -> ServerProcess:
    """A server hosting the conformance model set."""
    return server_factory("--model-repository", str(model_repository))


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """HOST:PORT of an S3-protocol server (moto) on loopback, shared by a module's tests; it
    accepts any credentials."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30  # moto takes a few seconds to start
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("the S3 server did not start")
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)
