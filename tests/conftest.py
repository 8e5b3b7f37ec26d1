"""Shared fixtures: real `lepton serve` processes on loopback ports chosen by the kernel."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyarrow import fs
from support.ray_head import ray_driver, ray_head
from support.servers import SERVE, ServerProcess, start_server

from lepton_server.runtime.ray_connection import disconnect


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
    from lepton_conformance.suites.inference.model_set import write_model_set  # noqa: PLC0415

    root = tmp_path_factory.mktemp("models")
    write_model_set(root)
    return root


@pytest.fixture
def inference_server(server_factory, model_repository) -> ServerProcess:
    """A server hosting the conformance model set."""
    return server_factory("--model-repository", str(model_repository))


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """A Ray head on loopback for every test of a Ray executor in this test process: a
    process has one connection to Ray (runtime.ray_connection), so one head serves them all.
    Its files are in a short directory: Ray's socket paths under it must stay short."""
    with (
        ray_driver(),
        tempfile.TemporaryDirectory(prefix="ray") as temp,
        ray_head(Path(temp)) as head,
    ):
        print(f"Ray head started in {head.started_seconds:.1f} s")
        yield head.address
        disconnect()


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


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch) -> tuple[fs.S3FileSystem, str]:
    """A fresh bucket on the loopback S3 server: a filesystem reaching it and its name. The
    servers a test starts inherit the credentials from the environment."""
    for key, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    filesystem = fs.S3FileSystem(
        endpoint_override=s3_endpoint,
        scheme="http",
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        allow_bucket_creation=True,
    )
    name = f"lepton-{uuid.uuid4().hex[:12]}"
    filesystem.create_dir(name)
    return filesystem, name
