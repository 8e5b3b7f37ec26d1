"""Group commit of telemetry uploads. Every acknowledged record must be on disk before its
acknowledgement leaves (the agent then deletes it), so each commit waits for the disk. One
commit per request would bound a fleet's ingest by the disk's flush rate; here the uploads
that arrive while one batch commits are stored together in the next one, in a thread of
their own, so a thousand devices pay one flush per batch and the event loop keeps serving
while the disk works."""

from __future__ import annotations

import asyncio

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton_server.edge.telemetry_store import TelemetryStore

# Records per transaction at most: a batch's commit stays short, so no acknowledgement
# waits behind a very large one.
MAX_BATCH_RECORDS = 50_000

_Pending = tuple[str, agent_pb.UploadTelemetryRequest, asyncio.Future]


class TelemetryBatches:
    """UploadTelemetry requests, checked at once and stored in batches, one at a time."""

    def __init__(self, store: TelemetryStore) -> None:
        self.store = store
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task | None = None

    async def ingest(
        self, device: str, request: agent_pb.UploadTelemetryRequest
    ) -> agent_pb.UploadTelemetryResponse:
        """Check `request` (its error is this caller's alone), then wait until the batch
        holding it has committed; its acknowledgements."""
        self.store.check(request)
        answer = asyncio.get_running_loop().create_future()
        self._pending.append((device, request, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # The batch commits even if this caller goes away: its records are then stored
        # and acknowledged as duplicates when the agent resends them.
        return await asyncio.shield(answer)

    async def _write(self) -> None:
        while self._pending:
            batch = self._take()
            uploads = [(device, request) for device, request, _ in batch]
            try:
                responses = await asyncio.to_thread(self.store.store_batch, uploads)
            except Exception as error:  # a storage failure: each caller of the batch sees it
                for *_, answer in batch:
                    if not answer.done():
                        answer.set_exception(error)
                continue
            for (*_, answer), response in zip(batch, responses, strict=True):
                if not answer.done():
                    answer.set_result(response)

    def _take(self) -> list[_Pending]:
        """The oldest pending uploads up to MAX_BATCH_RECORDS records (at least one)."""
        count = 0
        taken = 0
        for _, request, _ in self._pending:
            size = sum(len(segment.records) for segment in request.segments)
            if taken and count + size > MAX_BATCH_RECORDS:
                break
            count += size
            taken += 1
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        return batch
