"""Edge fleet benchmark, by simulation (issue 12): one fleet server (`lepton serve --services
edge`) and many simulated devices (benchmarks/simulated_devices.py: the real agent's link,
state, outbox and uploader; only installs are simulated) in a few worker processes.

- registration: the time for every device to register with its key and open its stream;
- memory: the fleet server's resident memory per connected device;
- a staged rollout (1%, 10%, 50%, 100%, each gated on every device healthy): the time from
  CreateRollout to SUCCEEDED on every device;
- telemetry ingest: records per second from every outbox into the fleet, against the same
  devices uploading to a bare DeviceAgentService that acknowledges and stores nothing
  (benchmarks/bare_fleet_server.py), the floor of receiving telemetry over Python gRPC;
- offline day: a share of the devices is cut off for a simulated day while inferring (one
  event a minute) and a second release rolls out meanwhile; once they reconnect, every event
  must be in the fleet exactly once and every device on the second release.

    python benchmarks/edge.py [--devices 1000] [--workers 4] [--offline-percent 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from server_process import lepton_serve, process
from simulated_devices import serve as serve_devices

from lepton.edge.v1 import rollout_pb2
from lepton_ai import EdgeFleet

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = "deployments/sim"
MINUTE_NS = 60 * 10**9
DAY_MINUTES = 24 * 60
TERMINAL = {
    rollout_pb2.ROLLOUT_STATE_SUCCEEDED,
    rollout_pb2.ROLLOUT_STATE_FAILED,
    rollout_pb2.ROLLOUT_STATE_ABORTED,
    rollout_pb2.ROLLOUT_STATE_ROLLED_BACK,
}


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> float:
    """Seconds until `condition` held; RuntimeError after `timeout`."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)
    return time.perf_counter() - start


class Devices:
    """The worker processes and the devices each one runs."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(workers):
            ours, theirs = context.Pipe()
            child = context.Process(target=serve_devices, args=(theirs,), daemon=True)
            child.start()
            self.pipes.append(ours)
            self.processes.append(child)
        self.owner: dict[str, int] = {}

    def _all(self, command_for: Callable[[int], tuple | None]) -> list[object]:
        sent = []
        for index, pipe in enumerate(self.pipes):
            command = command_for(index)
            if command is not None:
                pipe.send(command)
                sent.append(pipe)
        return [pipe.recv() for pipe in sent]

    def _by_worker(self, ids: list[str]) -> dict[int, list[str]]:
        grouped: dict[int, list[str]] = {}
        for device_id in ids:
            grouped.setdefault(self.owner[device_id], []).append(device_id)
        return grouped

    def start(self, fleet: str, tokens: list[tuple[str, str]], state_root: Path) -> None:
        for index, (device_id, _) in enumerate(tokens):
            self.owner[device_id] = index % len(self.pipes)
        chunks = {i: [t for t in tokens if self.owner[t[0]] == i] for i in range(len(self.pipes))}
        self._all(lambda i: ("start", fleet, chunks[i], str(state_root)))

    def command(self, kind: str, ids: list[str], *args: object) -> None:
        grouped = self._by_worker(ids)
        self._all(lambda i: (kind, grouped[i], *args) if i in grouped else None)

    def status(self) -> dict[str, dict]:
        merged: dict[str, dict] = {}
        for part in self._all(lambda _: ("status",)):
            merged.update(part)
        return merged

    def stop(self) -> None:
        self._all(lambda _: ("stop",))
        for child in self.processes:
            child.join(timeout=30)


@contextmanager
def fleet_server(data_dir: Path, *extra: str) -> Iterator:
    with process(lepton_serve(data_dir, "--services", "edge", *extra)) as server:
        yield server


def staged_strategy(percents: list[float]) -> rollout_pb2.RolloutStrategy:
    return rollout_pb2.RolloutStrategy(
        stages=[rollout_pb2.RolloutStage(percent=percent) for percent in percents]
    )


def roll_out(fleet: EdgeFleet, release, percents: list[float]) -> rollout_pb2.Rollout:
    return fleet.create_rollout(DEPLOYMENT, release, strategy=staged_strategy(percents))


def finished(fleet: EdgeFleet, name: str) -> rollout_pb2.Rollout | None:
    rollout = fleet.rollout(name)
    return rollout if rollout.status.state in TERMINAL else None


def all_uploaded(devices: Devices) -> bool:
    return all(s["pending"] == 0 for s in devices.status().values())


def register_all(devices: Devices, ids: list[str], timeout: float) -> float:
    """Connect every device (not yet uploading); seconds until each has registered and holds
    a token."""
    devices.command("connect", ids)
    return wait_until(
        lambda: all(s["registered"] for s in devices.status().values()),
        "every device to register",
        timeout,
    )


def ingest_rate(devices: Devices, ids: list[str], events: int, timeout: float) -> float:
    """Records per second from `events` records waiting in each device's outbox until every
    outbox is empty (each record acknowledged by the fleet); the devices upload from then on."""
    devices.command("infer", ids, events, time.time_ns(), 10**6)
    started = time.perf_counter()
    devices.command("upload", ids)
    wait_until(lambda: all_uploaded(devices), "telemetry upload", timeout)
    return len(ids) * events / (time.perf_counter() - started)


def bare_ingest_rate(args: argparse.Namespace, ids: list[str], scratch: Path) -> float:
    """ingest_rate of the same devices against benchmarks/bare_fleet_server.py."""
    bare = [sys.executable, str(ROOT / "benchmarks" / "bare_fleet_server.py")]
    with process(bare) as server:
        devices = Devices(args.workers)
        try:
            devices.start(server.address, [(i, "") for i in ids], scratch / "bare-devices")
            register_all(devices, ids, args.timeout)
            return ingest_rate(devices, ids, args.events, args.timeout)
        finally:
            devices.stop()


def count_telemetry(fleet: EdgeFleet) -> tuple[Counter, int]:
    """Records stored per device, and how many (device, stream, boot, sequence) repeat."""
    per_device: Counter = Counter()
    keys: Counter = Counter()
    for stored in fleet.telemetry():
        per_device[stored.device.removeprefix("devices/")] += 1
        keys[(stored.device, stored.stream, stored.boot_id, stored.record.sequence)] += 1
    return per_device, sum(n - 1 for n in keys.values() if n > 1)


def release(fleet: EdgeFleet, key: Ed25519PrivateKey, version: int):
    return fleet.create_release(
        f"models/sim/versions/{version}",
        f"simulated model {version}".encode(),
        skip_inference_test=True,
        sign_with=(key, "bench"),
    )


def staged_rollout(fleet: EdgeFleet, key: Ed25519PrivateKey, count: int, timeout: float) -> None:
    fleet.create_deployment("sim", all_devices=True)
    started = time.perf_counter()
    rollout = roll_out(fleet, release(fleet, key, 1), [1, 10, 50, 100])
    wait_until(lambda: finished(fleet, rollout.name), "the rollout", timeout)
    state = rollout_pb2.RolloutState.Name(fleet.rollout(rollout.name).status.state)
    seconds = time.perf_counter() - started
    print(f"staged rollout 1/10/50/100% to {count} devices: {seconds:.1f} s ({state})")


def offline_day(
    fleet: EdgeFleet, devices: Devices, key: Ed25519PrivateKey, offline: list[str], args
) -> bool:
    """Cut `offline` off for a simulated day of inference while a release rolls out, then
    reconnect them; True when no event was lost or duplicated and every device runs it."""
    devices.command("disconnect", offline)
    day_start = time.time_ns() - DAY_MINUTES * MINUTE_NS
    devices.command("infer", offline, args.day_minutes, day_start, MINUTE_NS)
    second = release(fleet, key, 2)
    rollout = roll_out(fleet, second, [100])
    devices.command("connect", offline)
    devices.command("upload", offline)
    wait_until(lambda: finished(fleet, rollout.name), "the second rollout", args.timeout)
    wait_until(lambda: all_uploaded(devices), "the offline backlog", args.timeout)
    status = devices.status()
    stored, duplicates = count_telemetry(fleet)
    lost = sum(max(0, s["appended"] - stored[i]) for i, s in status.items())
    behind = [i for i, s in status.items() if s["releases"].get(DEPLOYMENT) != second.model_version]
    print(
        f"offline day ({len(offline)} devices, {args.day_minutes} events each): "
        f"{sum(s['appended'] for s in status.values())} events, {lost} lost, "
        f"{duplicates} duplicated, {len(behind)} devices not on the new release"
    )
    return not (lost or duplicates or behind)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--events", type=int, default=200, help="per device, for the ingest rate")
    parser.add_argument("--offline-percent", type=float, default=20.0)
    parser.add_argument("--day-minutes", type=int, default=DAY_MINUTES)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    ids = [f"sim-{i:05d}" for i in range(args.devices)]
    offline = ids[: int(len(ids) * args.offline_percent / 100)]
    print(f"edge benchmark: {args.devices} simulated devices in {args.workers} processes")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        with (
            fleet_server(scratch / "fleet") as server,
            EdgeFleet.connect(server.address, progress=False) as fleet,
        ):
            idle = rss_bytes(server.pid)
            tokens = [
                (i, fleet.create_device(i, labels={"fleet": "sim"}).bootstrap_token) for i in ids
            ]
            devices = Devices(args.workers)
            try:
                devices.start(server.address, tokens, scratch / "devices")
                seconds = register_all(devices, ids, args.timeout)
                print(f"registration of {len(ids)} devices: {seconds:.1f} s")
                staged_rollout(fleet, key, len(ids), args.timeout)
                per_device = (rss_bytes(server.pid) - idle) / len(ids)
                print(f"fleet server memory: {per_device / 1024:.0f} KiB per connected device")
                rate = ingest_rate(devices, ids, args.events, args.timeout)
                bare = bare_ingest_rate(args, ids, scratch)
                print(
                    f"telemetry ingest: {rate:,.0f} records/s against a bare stream's "
                    f"{bare:,.0f} records/s: {rate / bare:.2f}x ({len(ids) * args.events} records)"
                )
                return 0 if offline_day(fleet, devices, key, offline, args) else 1
            finally:
                devices.stop()


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
