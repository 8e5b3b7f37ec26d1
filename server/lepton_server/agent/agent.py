"""`lepton agent`: the device agent's parts put together. It serves its committed releases
at once, whether or not the fleet answers (EDG-098, EDG-120), then registers, follows the
Sync stream, applies every newer desired state it holds, and uploads its outbox."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable

from grpc import aio

from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import device_state_pb2, telemetry_pb2
from lepton_ai.edge.releases import load_trust_roots
from lepton_server import __version__
from lepton_server.agent.agent_state import AgentState
from lepton_server.agent.capabilities import device_capabilities
from lepton_server.agent.downloads import Downloads
from lepton_server.agent.fleet_link import FleetLink, SyncHandler
from lepton_server.agent.installs import Installer
from lepton_server.agent.local_inference import LocalInference
from lepton_server.agent.options import AgentConfig, configure
from lepton_server.agent.outbox import Outbox
from lepton_server.agent.telemetry_upload import TelemetryUploader
from lepton_server.runtime.encryption import KeyFile
from lepton_server.runtime.errors import LeptonError
from lepton_server.runtime.startup_errors import StartupError

log = logging.getLogger(__name__)
AGENT_VERSION = f"lepton-agent/{__version__}"
# The link's own backoff paces retries (EDG-102); the channel's reconnect backoff (up to two
# minutes by default) must not add to it once the fleet is back.
CHANNEL_OPTIONS = [("grpc.max_reconnect_backoff_ms", 5000)]


def _outbox(config: AgentConfig, boot_id: str) -> Outbox:
    keys = None
    if config.encryption_key_file is not None:
        keys = KeyFile.load(config.encryption_key_file)
    try:
        return Outbox(config.state_dir / "outbox.db", boot_id, config.outbox_capacity_bytes, keys)
    except LeptonError as error:  # the outbox's key is not in the key file
        raise StartupError(f"the telemetry outbox: {error.message}") from error


class Agent:
    """One running agent."""

    def __init__(self, config: AgentConfig) -> None:
        try:
            self.trust_roots = load_trust_roots(config.trust_roots)
        except ValueError as error:
            raise StartupError(str(error)) from error
        self.config = config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.state = AgentState(config.state_dir)
        self.outbox = _outbox(config, self.state.boot_id)
        self.serving = LocalInference(config.serve, config.state_dir, self.outbox.append)
        self._tasks: list[asyncio.Task] = []
        self._apply: asyncio.Task | None = None

    async def start(self) -> str:
        """Serve the committed releases, then connect to the fleet; the serve address."""
        config = self.config
        running = await self.serving.start()
        self.channel = aio.insecure_channel(config.fleet, options=CHANNEL_OPTIONS)
        self.link = FleetLink(
            channel=self.channel,
            state=self.state,
            handler=SyncHandler(
                hold_desired_state=self._hold_desired_state,
                reported_state=self._reported_state,
                heartbeat_health=lambda: self._reported_state().health,
                outbox_status=self.outbox.status,
            ),
            bootstrap_token=config.bootstrap_token,
            device_id=config.device_id,
            capabilities=device_capabilities(config.state_dir),
            agent_version=AGENT_VERSION,
        )
        self.installer = Installer(
            root=config.state_dir / "deployments",
            state=self.state,
            downloads=Downloads(
                config.state_dir / "downloads",
                agent_grpc.DeviceAgentServiceStub(self.channel),
                self.link.metadata,
            ),
            trust_roots=self.trust_roots,
            serving=self.serving,
            clock=self.link.server_now,
            on_change=self.link.report_changed,
        )
        await self.installer.serve_committed()
        held = self.state.desired_state()
        if held is not None and self.state.applied_generation < held.generation:
            self._start_apply(held)
        self._tasks = [
            asyncio.ensure_future(self.link.run()),
            asyncio.ensure_future(TelemetryUploader(self.outbox, self.link).run()),
        ]
        return running.address

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._apply] if self._apply else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.channel.close()
        await self.serving.stop()
        self.outbox.close()
        self.state.close()

    def _reported_state(self) -> device_state_pb2.ReportedState:
        return self.installer.reported_state()

    async def _hold_desired_state(self, desired: device_state_pb2.DesiredState) -> bool:
        if not self.state.hold_desired_state(desired):
            return False
        self._start_apply(desired)
        return True

    def _start_apply(self, desired: device_state_pb2.DesiredState) -> None:
        """Apply `desired`, cancelling the application of an older one (its downloads
        resume where they stopped)."""
        if self._apply is not None:
            self._apply.cancel()
        self._apply = asyncio.ensure_future(self._applying(self._apply, desired))

    async def _applying(
        self, previous: asyncio.Task | None, desired: device_state_pb2.DesiredState
    ) -> None:
        if previous is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await previous
        try:
            await self.installer.apply(desired)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("applying desired generation %d failed", desired.generation)

    def record(self, stream: str, record: telemetry_pb2.TelemetryRecord) -> int:
        """Write a telemetry record to the outbox."""
        return self.outbox.append(stream, record)


async def run(config: AgentConfig, on_ready: Callable[[str], None]) -> None:
    """Run an agent until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    agent = Agent(config)
    try:
        on_ready(await agent.start())
        await stop.wait()
    finally:
        await agent.stop()


def main(options: argparse.Namespace) -> int:
    """`lepton agent` with parsed options."""
    logging.basicConfig(level=options.log_level.upper(), stream=sys.stderr)
    try:
        config = configure(options)
    except StartupError as exc:
        raise SystemExit(f"lepton agent: {exc}") from exc

    def announce(address: str) -> None:
        # Tests and scripts read this line to learn the port when --serve ends in :0.
        sys.stdout.write(f"lepton agent: serving on {address}\n")
        sys.stdout.flush()

    try:
        asyncio.run(run(config, announce))
    except StartupError as exc:
        raise SystemExit(f"lepton agent: {exc}") from exc
    return 0
