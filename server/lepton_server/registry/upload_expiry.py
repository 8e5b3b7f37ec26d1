"""Pending uploads nobody finishes (REG-029): a PENDING_REGISTRATION version expires a set time
after its last committed byte (or its creation), announced in `upload_expire_time`; a sweep at
start and then at intervals fails expired versions with UPLOAD_EXPIRED and discards their
bytes."""

from __future__ import annotations

import asyncio
import logging

from lepton_server.aip.standard_fields import now_ns
from lepton_server.registry.blob_store import BlobStore
from lepton_server.registry.model_names import VersionRef
from lepton_server.registry.records import PENDING, Records
from lepton_server.registry.uploads import Uploads, staging_key

log = logging.getLogger(__name__)

_MAX_SWEEP_INTERVAL = 60.0


class UploadExpiry:
    """When pending uploads expire, and the sweep that expires them."""

    def __init__(self, records: Records, uploads: Uploads, blobs: BlobStore, seconds: float):
        self.records = records
        self.uploads = uploads
        self.blobs = blobs
        self.expiry_ns = int(seconds * 1_000_000_000)
        self.interval = min(max(seconds / 4, 0.05), _MAX_SWEEP_INTERVAL)
        self._task: asyncio.Task[None] | None = None

    def expire_time_ns(self, model_uid: str, number: int, create_ns: int) -> int:
        """When the pending version `number` of `model_uid` expires."""
        last = self.blobs.last_write_ns(staging_key(model_uid, number)) or 0
        return max(create_ns, last) + self.expiry_ns

    def sweep(self) -> int:
        """Expire every pending version whose time has come; how many."""
        now, expired = now_ns(), 0
        store = self.records.store
        for model in store.models():
            for row in store.versions(model.uid):
                if row.state != PENDING:
                    continue
                version = self.records.stored_version(row)
                create_ns = version.create_time.ToNanoseconds()
                if now >= self.expire_time_ns(model.uid, row.number, create_ns):
                    ref = VersionRef(model.id, number=row.number)
                    self.uploads.expire(ref, model.uid, version.artifact.descriptor)
                    expired += 1
        return expired

    def start(self, loop: asyncio.AbstractEventLoop, _address: str) -> None:
        """Sweep at intervals on the host's loop."""
        self._task = loop.create_task(self._run())

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.sweep()
            except Exception:  # the next sweep tries again; serving goes on meanwhile
                log.exception("expiring pending uploads failed")
