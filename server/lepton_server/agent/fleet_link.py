"""The agent's link to its fleet server: registration with a signed challenge (EDG-088,
EDG-106), the access token and its refresh, the estimated server clock, and the Sync stream
(EDG-091, EDG-092) with heartbeats every report interval, reported state on every change,
desired states persisted before they are acknowledged, and command answers (EDG-101);
reconnecting with exponential backoff and jitter (EDG-102). The fleet being unreachable
never touches what the device runs (EDG-098)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import duration_pb2, timestamp_pb2
from grpc import aio

from lepton.edge.v1 import capabilities_pb2, command_pb2, device_pb2, device_state_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.type.v1 import error_pb2
from lepton_ai.errors import from_rpc_error
from lepton_server.agent.agent_state import AgentState
from lepton_server.agent.backoff import Backoff

log = logging.getLogger(__name__)

REGISTER_PROOF = b"lepton.edge.v1.Register"
DEFAULT_REPORT_INTERVAL = 30.0
REJECTED_RETRY_SECONDS = 3600.0  # EDG-089: at most once per hour
DEFAULT_PENDING_RETRY_SECONDS = 30.0
# The token is renewed when this share of its lifetime has passed.
REFRESH_AT = 0.8
Approval = device_pb2.DeviceApprovalState
CommandState = command_pb2.DeviceCommandState


def registration_proof(challenge: bytes, device_id: str, boot_id: str) -> bytes:
    """What the device key signs in Register (spec/edge.md 2.1, EDG-106)."""
    return b"\0".join((REGISTER_PROOF, challenge, device_id.encode(), boot_id.encode()))


class Decommissioned(Exception):
    """The fleet decommissioned the device: the agent stops contacting it (EDG-089)."""


@dataclass
class SyncHandler:
    """What the link asks of the rest of the agent."""

    # Persist and start applying a desired state; False when its generation is not newer.
    hold_desired_state: Callable[[device_state_pb2.DesiredState], Awaitable[bool]]
    reported_state: Callable[[], device_state_pb2.ReportedState]
    heartbeat_health: Callable[[], device_state_pb2.HealthState.ValueType]
    outbox_status: Callable[[], device_state_pb2.OutboxStatus]


class FleetLink:
    """Registration, token and Sync stream of one device."""

    def __init__(
        self,
        *,
        channel: aio.Channel,
        state: AgentState,
        handler: SyncHandler,
        bootstrap_token: str = "",
        device_id: str = "",
        capabilities: capabilities_pb2.DeviceCapabilities | None = None,
        agent_version: str = "",
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.stub = agent_grpc.DeviceAgentServiceStub(channel)
        self.state = state
        self.handler = handler
        self.bootstrap_token = bootstrap_token
        self.device_id = device_id
        self.capabilities = capabilities
        self.agent_version = agent_version
        self.backoff = backoff
        self.access_token = ""
        self.token_refresh_at = 0.0  # monotonic
        self.token_ready = asyncio.Event()
        self.skew = dt.timedelta(0)  # server clock - device clock
        self.settings = agent_pb.AgentSettings(
            report_interval=duration_pb2.Duration(seconds=int(DEFAULT_REPORT_INTERVAL)),
            max_telemetry_batch_record_count=1000,
            max_telemetry_batch_bytes=4 * 1024 * 1024,
        )
        self.decommissioned = False
        self._changed = asyncio.Event()
        self._settings_changed = asyncio.Event()

    # --- shared with the rest of the agent --------------------------------------------

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.access_token}"),) if self.access_token else ()

    def server_now(self) -> dt.datetime:
        """The estimated server clock: device clock corrected by the measured skew."""
        return dt.datetime.now(dt.timezone.utc) + self.skew

    def report_changed(self) -> None:
        """The reported state changed: send it on the stream (EDG-091)."""
        self._changed.set()

    def credentials_rejected(self) -> None:
        """A call got UNAUTHENTICATED: register again before the next call (EDG-088)."""
        self.access_token = ""
        self.token_ready.clear()

    def _measure_skew(self, server_time: timestamp_pb2.Timestamp) -> None:
        if server_time.seconds or server_time.nanos:
            self.skew = server_time.ToDatetime(dt.timezone.utc) - dt.datetime.now(dt.timezone.utc)

    # --- registration -----------------------------------------------------------------

    def _register_device_id(self) -> str:
        stored = self.state.device_name.removeprefix("devices/")
        return stored or self.device_id

    async def register(self) -> None:
        """Register until approved (waiting out PENDING and REJECTED); Decommissioned."""
        backoff = self.backoff()
        while True:
            try:
                response = await self._register_once()
            except aio.AioRpcError as error:
                reason = from_rpc_error(error).reason
                if reason == "DEVICE_DECOMMISSIONED":
                    self.decommissioned = True
                    raise Decommissioned(error.details() or reason) from error
                delay = REJECTED_RETRY_SECONDS if reason == "DEVICE_REJECTED" else None
                log.warning("Register failed: %s %s", error.code().name, reason)
                await asyncio.sleep(delay if delay is not None else backoff.next_delay())
                continue
            self.state.set_device_name(response.device)
            self._measure_skew(response.server_time)
            if response.approval_state != Approval.DEVICE_APPROVAL_STATE_APPROVED:
                retry = response.retry_after.ToNanoseconds() / 1e9
                await asyncio.sleep(retry if retry > 0 else DEFAULT_PENDING_RETRY_SECONDS)
                continue
            self.access_token = response.access_token
            lifetime = (
                response.access_token_expire_time.ToNanoseconds()
                - response.server_time.ToNanoseconds()
            ) / 1e9
            self.token_refresh_at = time.monotonic() + max(1.0, lifetime * REFRESH_AT)
            if response.HasField("settings"):
                self._apply_settings(response.settings)
            self.token_ready.set()
            return

    async def _register_once(self) -> agent_pb.RegisterResponse:
        device_id = self._register_device_id()
        boot_id = self.state.boot_id
        challenge = await self.stub.CreateRegistrationChallenge(
            agent_pb.CreateRegistrationChallengeRequest(device_id=device_id)
        )
        signature = self.state.device_key.sign(
            registration_proof(challenge.challenge, device_id, boot_id)
        )
        request = agent_pb.RegisterRequest(
            device_id=device_id,
            device_public_key=self.state.device_public_key,
            bootstrap_token=self.bootstrap_token,
            boot_id=boot_id,
            agent_version=self.agent_version,
            challenge=challenge.challenge,
            challenge_signature=signature,
        )
        if self.capabilities is not None:
            request.capabilities.CopyFrom(self.capabilities)
        return await self.stub.Register(request)

    def _apply_settings(self, settings: agent_pb.AgentSettings) -> None:
        self.settings.CopyFrom(settings)
        self._settings_changed.set()

    @property
    def report_interval(self) -> float:
        seconds = self.settings.report_interval.ToNanoseconds() / 1e9
        return seconds if seconds > 0 else DEFAULT_REPORT_INTERVAL

    # --- the link's life --------------------------------------------------------------

    async def run(self) -> None:
        """Register, then keep a Sync stream open, for as long as the agent runs."""
        backoff = self.backoff()
        while not self.decommissioned:
            try:
                if not self.access_token or time.monotonic() >= self.token_refresh_at:
                    await self.register()
                opened = await self._sync()
            except Decommissioned:
                log.error("the device was decommissioned; the agent stops contacting the fleet")
                return
            except aio.AioRpcError as error:
                reason = from_rpc_error(error).reason
                if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                    self.credentials_rejected()
                elif reason == "DEVICE_DECOMMISSIONED":
                    self.decommissioned = True
                    return
                log.info("Sync ended: %s %s", error.code().name, reason)
                opened = False
            if opened:
                backoff.reset()
            await asyncio.sleep(backoff.next_delay())

    async def _sync(self) -> bool:
        """One Sync stream until it ends or the token is due for renewal; True when the
        stream was welcomed."""
        outgoing: asyncio.Queue[agent_pb.SyncRequest] = asyncio.Queue()
        hello = agent_pb.SyncHello(
            boot_id=self.state.boot_id,
            agent_version=self.agent_version,
            acknowledged_generation=self.state.held_generation,
            reported_state=self.handler.reported_state(),
        )

        async def requests() -> AsyncIterator[agent_pb.SyncRequest]:
            yield agent_pb.SyncRequest(hello=hello)
            while True:
                yield await outgoing.get()

        call = self.stub.Sync(requests(), metadata=self.metadata())
        self._changed.clear()
        tasks = [
            asyncio.ensure_future(self._heartbeats(outgoing)),
            asyncio.ensure_future(self._reports(outgoing)),
            asyncio.ensure_future(self._refresh_due()),
        ]
        welcomed = False
        try:
            reading = asyncio.ensure_future(self._read(call, outgoing))
            done, _ = await asyncio.wait([reading, tasks[2]], return_when=asyncio.FIRST_COMPLETED)
            if reading in done:
                welcomed = reading.result()
            else:
                reading.cancel()
                welcomed = True
        finally:
            for task in tasks:
                task.cancel()
            call.cancel()
        return welcomed

    async def _read(
        self, call: aio.StreamStreamCall, outgoing: asyncio.Queue[agent_pb.SyncRequest]
    ) -> bool:
        welcomed = False
        async for response in call:
            kind = response.WhichOneof("message")
            if kind == "welcome":
                welcomed = True
                self._measure_skew(response.welcome.server_time)
                if response.welcome.HasField("settings"):
                    self._apply_settings(response.welcome.settings)
            elif kind == "desired_state":
                desired = response.desired_state
                # Persisted first, acknowledged after (EDG-092); older generations ignored.
                if await self.handler.hold_desired_state(desired):
                    ack = agent_pb.DesiredStateAck(generation=desired.generation)
                    await outgoing.put(agent_pb.SyncRequest(desired_state_ack=ack))
            elif kind == "command":
                await outgoing.put(
                    agent_pb.SyncRequest(command_update=self._answer(response.command))
                )
            elif kind == "settings":
                self._apply_settings(response.settings)
        return welcomed

    async def _refresh_due(self) -> None:
        await asyncio.sleep(max(0.0, self.token_refresh_at - time.monotonic()))

    async def _heartbeats(self, outgoing: asyncio.Queue[agent_pb.SyncRequest]) -> None:
        while True:
            await outgoing.put(agent_pb.SyncRequest(heartbeat=self._heartbeat()))
            self._settings_changed.clear()
            # New settings apply at once (EDG-091).
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._settings_changed.wait(), self.report_interval)

    async def _reports(self, outgoing: asyncio.Queue[agent_pb.SyncRequest]) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            await outgoing.put(agent_pb.SyncRequest(reported_state=self.handler.reported_state()))

    def _heartbeat(self) -> device_state_pb2.Heartbeat:
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        heartbeat = device_state_pb2.Heartbeat(
            time=now, health=self.handler.heartbeat_health(), outbox=self.handler.outbox_status()
        )
        uptime = _uptime_seconds()
        if uptime is not None:
            heartbeat.uptime.FromNanoseconds(int(uptime * 1e9))
        with contextlib.suppress(OSError):
            heartbeat.resource_usage.storage_free_bytes = shutil.disk_usage(
                self.state.state_dir
            ).free
        return heartbeat

    # --- commands (EDG-101) -----------------------------------------------------------

    def _answer(self, command: agent_pb.CommandDelivery) -> agent_pb.CommandUpdate:
        """This agent executes no command type: each is rejected (or expired), once per
        idempotency key, and a redelivery gets the first answer."""
        first = self.state.command_outcome(command.idempotency_key)
        if first is not None:
            first.name = command.name
            return first
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        if command.HasField("remaining_ttl") and command.remaining_ttl.ToNanoseconds() <= 0:
            state, reason, code = CommandState.DEVICE_COMMAND_STATE_EXPIRED, "COMMAND_EXPIRED", 4
            message = "the command arrived after its deadline"
        else:
            state, reason, code = (
                CommandState.DEVICE_COMMAND_STATE_REJECTED,
                "COMMAND_NOT_SUPPORTED",
                12,
            )
            message = f"this agent does not implement command type {command.type!r}"
        outcome = agent_pb.CommandUpdate(
            name=command.name,
            idempotency_key=command.idempotency_key,
            state=state,
            error=error_pb2.ErrorStatus(
                code=code, reason=reason, domain="lepton.ai", message=message
            ),
            time=now,
        )
        expire_ns = time.time_ns() + max(command.remaining_ttl.ToNanoseconds(), 0)
        if command.idempotency_key:
            self.state.remember_command(command.idempotency_key, outcome, expire_ns, time.time_ns())
        return outcome


def _uptime_seconds() -> float | None:
    try:
        return float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
