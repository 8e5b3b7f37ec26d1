"""A real Ray head on loopback for the tests of the Ray executors, and this test process set up as
its driver (`ray_driver`). A child process starts a one-machine cluster with `ray.init` — node
address 127.0.0.1, so every Ray server listens on loopback only, no dashboard, no usage
statistics, one CPU and a small object store — prints its address, and shuts it down when its
standard input closes. Unlike `ray start --head`, it takes no fixed port (the Ray client
server's 10001, the dashboard's 8265), so heads of parallel test workers do not collide, and
Ray ends the head with the process that started it. Run as a script, it is that child."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lepton_server.training.local_workers import group_alive

# Keeps Ray on this machine and quiet: a loopback node address stays loopback (Ray otherwise
# replaces it by the machine's outward address), no usage report, no authentication token
# written to the home directory (nothing outside loopback can reach the head).
RAY_ENVIRONMENT = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
}
OBJECT_STORE_BYTES = 100 * 1024 * 1024
_READY = "ray head at "


@dataclass(frozen=True)
class RayHead:
    address: str
    started_seconds: float


@contextlib.contextmanager
def ray_driver() -> Iterator[None]:
    """This process set up as a driver of a loopback head: the variables above, also for a
    Ray imported before (it read the first one then); as they were on exit."""
    saved = {name: os.environ.get(name) for name in RAY_ENVIRONMENT}
    os.environ.update(RAY_ENVIRONMENT)
    constants = sys.modules.get("ray._private.ray_constants")
    cluster = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if constants is not None:
            constants.ENABLE_RAY_CLUSTER = cluster
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def ray_head(temp_dir: Path) -> Iterator[RayHead]:
    """A running head whose files are under `temp_dir`; ended, with every process it
    started, on exit."""
    began = time.monotonic()
    head = subprocess.Popen(
        [sys.executable, __file__, str(temp_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **RAY_ENVIRONMENT},
        start_new_session=True,  # the head's processes share this group, ended together
    )
    try:
        assert head.stdout is not None
        line = head.stdout.readline()
        if not line.startswith(_READY):
            raise RuntimeError(f"the Ray head did not start: {line!r}")
        yield RayHead(line[len(_READY) :].strip(), time.monotonic() - began)
    finally:
        assert head.stdin is not None
        head.stdin.close()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # what ray.shutdown() left
        deadline = time.monotonic() + 10
        while group_alive(head.pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def _serve(temp_dir: str) -> None:
    import ray  # noqa: PLC0415

    context = ray.init(
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        num_cpus=1,
        object_store_memory=OBJECT_STORE_BYTES,
        _temp_dir=temp_dir,
        log_to_driver=False,
    )
    print(f"{_READY}{context.address_info['gcs_address']}", flush=True)
    sys.stdin.read()
    ray.shutdown()


if __name__ == "__main__":
    _serve(sys.argv[1])
