"""Lightweight simulated edge devices for benchmarks/edge.py: hundreds per process, each with
the real agent's fleet link (registration with its own Ed25519 key, the Sync stream,
heartbeats and reports), its SQLite state and telemetry outbox, and its telemetry uploader.
Only the install is simulated: a desired release is committed at once, without a download
or a health check, so the fleet server, not the devices, is what the benchmark loads.

A worker process runs `serve(connection)` and obeys the driver's commands over a
multiprocessing pipe (see `Worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from google.protobuf import timestamp_pb2
from grpc import aio

from lepton.edge.v1 import device_state_pb2, telemetry_pb2
from lepton_server.agent.agent_state import AgentState
from lepton_server.agent.fleet_link import FleetLink, SyncHandler
from lepton_server.agent.outbox import Outbox
from lepton_server.agent.telemetry_upload import TelemetryUploader

INFERENCE_STREAM = "inference"
Phase = device_state_pb2.UpdatePhase


def _timestamp(ns: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(ns)
    return stamp


@dataclass
class SimulatedDevice:
    """One device: its agent state, outbox and link, and the releases it has committed."""

    device_id: str
    state: AgentState
    outbox: Outbox
    link: FleetLink | None = None
    running: dict[str, device_state_pb2.ReportedDeployment] = field(default_factory=dict)
    tasks: list[asyncio.Task] = field(default_factory=list)
    appended: int = 0

    async def hold_desired_state(self, desired: device_state_pb2.DesiredState) -> bool:
        """Persist the desired state, then commit each release at once (the simulation)."""
        if not self.state.hold_desired_state(desired):
            return False
        now = _timestamp(time.time_ns())
        self.running = {}
        for wanted in desired.deployments:
            release = wanted.release
            self.running[wanted.deployment] = device_state_pb2.ReportedDeployment(
                deployment=wanted.deployment,
                running=device_state_pb2.InstalledRelease(
                    model_version=release.model_version,
                    artifact_digest=release.artifact.digest,
                    rollout=wanted.rollout,
                    commit_time=now,
                ),
                last_update=device_state_pb2.UpdateAttempt(
                    model_version=release.model_version,
                    artifact_digest=release.artifact.digest,
                    rollout=wanted.rollout,
                    generation=desired.generation,
                    phase=Phase.UPDATE_PHASE_COMMITTED,
                    start_time=now,
                    end_time=now,
                ),
                health=device_state_pb2.HEALTH_STATE_HEALTHY,
            )
        self.state.set_applied_generation(desired.generation)
        if self.link is not None:
            self.link.report_changed()
        return True

    def reported_state(self) -> device_state_pb2.ReportedState:
        return device_state_pb2.ReportedState(
            applied_generation=self.state.applied_generation,
            deployments=[self.running[name] for name in sorted(self.running)],
            health=device_state_pb2.HEALTH_STATE_HEALTHY,
            report_time=_timestamp(time.time_ns()),
        )

    def infer(self, count: int, start_ns: int, step_ns: int) -> None:
        """Record `count` inference events of each running deployment, timed from
        `start_ns` every `step_ns` (a simulated clock: a day passes in a moment)."""
        for index in range(count):
            for name, deployment in self.running.items():
                record = telemetry_pb2.TelemetryRecord(
                    time=_timestamp(start_ns + index * step_ns),
                    deployment=name,
                    rollout=deployment.running.rollout,
                    inference=telemetry_pb2.InferenceEvent(
                        deployment=name, model_version=deployment.running.model_version
                    ),
                )
                record.inference.latency.FromMilliseconds(3)
                self.outbox.append(INFERENCE_STREAM, record)
                self.appended += 1

    def connect(self, channel: aio.Channel, bootstrap_token: str) -> None:
        """Open the link to the fleet (registration and the Sync stream)."""
        self.link = FleetLink(
            channel=channel,
            state=self.state,
            handler=SyncHandler(
                hold_desired_state=self.hold_desired_state,
                reported_state=self.reported_state,
                heartbeat_health=lambda: device_state_pb2.HEALTH_STATE_HEALTHY,
                outbox_status=self.outbox.status,
            ),
            bootstrap_token=bootstrap_token,
            device_id=self.device_id,
            agent_version="simulated-device/1",
        )
        self.tasks.append(asyncio.ensure_future(self.link.run()))

    def upload(self) -> None:
        """Start uploading the outbox over the link."""
        self.tasks.append(asyncio.ensure_future(TelemetryUploader(self.outbox, self.link).run()))

    async def disconnect(self) -> None:
        """Cut the device off the fleet; it keeps its state and outbox."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks = []


class Worker:
    """The devices of one process and the commands the driver sends, each a tuple of a
    method name of this class and its arguments, answered with the method's result:
    ("start", fleet, [(device_id, bootstrap_token)], state_root), ("connect", ids) (the link
    only), ("upload", ids) (start uploading), ("disconnect", ids) (both stop),
    ("infer", ids, count, start_ns, step_ns), ("status",), ("stop",)."""

    COMMANDS = ("start", "connect", "upload", "disconnect", "infer", "status", "stop")

    def __init__(self) -> None:
        self.devices: dict[str, SimulatedDevice] = {}
        self.tokens: dict[str, str] = {}
        self.channel: aio.Channel | None = None

    async def handle(self, command: tuple) -> object:
        kind, *args = command
        if kind not in self.COMMANDS:
            raise ValueError(f"unknown command {kind!r}")
        result = getattr(self, kind)(*args)
        return await result if asyncio.iscoroutine(result) else result

    def start(self, fleet: str, devices: list[tuple[str, str]], state_root: str) -> int:
        # One channel per process: a real fleet's devices share no connection, but a
        # simulated one need not open a thousand sockets to load the server.
        self.channel = aio.insecure_channel(fleet)
        for device_id, token in devices:
            directory = Path(state_root) / device_id
            directory.mkdir(parents=True, exist_ok=True)
            state = AgentState(directory)
            self.devices[device_id] = SimulatedDevice(
                device_id, state, Outbox(directory / "outbox.db", state.boot_id)
            )
            self.tokens[device_id] = token
        return len(self.devices)

    def connect(self, ids: list[str]) -> int:
        for device_id in ids:
            self.devices[device_id].connect(self.channel, self.tokens[device_id])
        return len(ids)

    def upload(self, ids: list[str]) -> int:
        for device_id in ids:
            self.devices[device_id].upload()
        return len(ids)

    async def disconnect(self, ids: list[str]) -> int:
        await asyncio.gather(*(self.devices[d].disconnect() for d in ids))
        return len(ids)

    async def infer(self, ids: list[str], count: int, start_ns: int, step_ns: int) -> int:
        for device_id in ids:
            self.devices[device_id].infer(count, start_ns, step_ns)
            await asyncio.sleep(0)
        return sum(self.devices[d].appended for d in ids)

    def status(self) -> dict[str, dict]:
        return {
            device_id: {
                "pending": device.outbox.pending_count(),
                "appended": device.appended,
                "registered": bool(device.link and device.link.token_ready.is_set()),
                "releases": {name: d.running.model_version for name, d in device.running.items()},
            }
            for device_id, device in self.devices.items()
        }

    async def stop(self) -> int:
        await asyncio.gather(*(d.disconnect() for d in self.devices.values()))
        for device in self.devices.values():
            device.outbox.close()
            device.state.close()
        if self.channel is not None:
            await self.channel.close()
        return 0


def serve(connection: Connection) -> None:
    """A worker process's main: obey commands until "stop"."""

    async def main() -> None:
        worker = Worker()
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, connection.recv)
            connection.send(await worker.handle(command))
            if command[0] == "stop":
                return

    asyncio.run(main())
