"""Uploads the outbox (EDG-099): the oldest pending records, grouped per (stream, boot id)
in ascending sequence order, one UploadTelemetry call at a time (so at most one upload of a
pair is in flight), deleting records only at or below each acknowledged high-water mark,
and retrying with backoff after a failure. Resent records are harmless: the fleet drops
those at or below its mark as duplicates. This agent produces no blobs, so no record waits
for an UploadBlob (EDG-119)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import grpc
from grpc import aio

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton_server.agent.backoff import Backoff
from lepton_server.agent.fleet_link import FleetLink
from lepton_server.agent.outbox import Outbox

log = logging.getLogger(__name__)

# Room for the request's own framing within max_telemetry_batch_bytes.
FRAMING_BYTES = 64 * 1024
IDLE_POLL_SECONDS = 5.0


class TelemetryUploader:
    """Drains an outbox to the fleet while the link holds a token."""

    def __init__(self, outbox: Outbox, link: FleetLink) -> None:
        self.outbox = outbox
        self.link = link
        self._pending = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Appends happen on executor threads too; the event lives on the loop.
        outbox.on_append(lambda: loop.call_soon_threadsafe(self._pending.set))

    async def run(self) -> None:
        backoff = Backoff()
        while True:
            if not self.outbox.pending_count():
                self._pending.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._pending.wait(), IDLE_POLL_SECONDS)
                continue
            await self.link.token_ready.wait()
            try:
                deleted = await self.upload_once()
            except aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                    self.link.credentials_rejected()
                log.info("UploadTelemetry failed: %s", error.code().name)
                await asyncio.sleep(backoff.next_delay())
                continue
            if deleted:
                backoff.reset()
            else:  # acknowledged nothing new: do not hammer the fleet
                await asyncio.sleep(backoff.next_delay())

    async def upload_once(self) -> int:
        """Upload one batch; the number of records deleted after its acknowledgements."""
        settings = self.link.settings
        segments = self.outbox.pending_segments(
            max(1, settings.max_telemetry_batch_record_count),
            max(1, settings.max_telemetry_batch_bytes - FRAMING_BYTES),
        )
        if not segments:
            return 0
        response = await self.link.stub.UploadTelemetry(
            agent_pb.UploadTelemetryRequest(segments=[s.proto() for s in segments]),
            metadata=self.link.metadata(),
        )
        return sum(
            self.outbox.acknowledge(ack.stream, ack.boot_id, ack.acknowledged_sequence)
            for ack in response.acknowledgements
        )
