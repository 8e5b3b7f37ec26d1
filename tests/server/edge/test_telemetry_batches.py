"""Group commit of telemetry uploads (telemetry_batches.py): concurrent uploads commit
together, in arrival order, each checked on its own, and a batch is bounded in records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_telemetry_store import CAM, DOOR, acks, listed, segment, upload

from lepton_server.aip.pagination import PageTokens
from lepton_server.edge import telemetry_batches
from lepton_server.edge.telemetry_batches import TelemetryBatches
from lepton_server.edge.telemetry_store import TelemetryStore
from lepton_server.runtime.errors import InvalidArgument


@pytest.fixture
def store(tmp_path: Path) -> TelemetryStore:
    opened = TelemetryStore(tmp_path / "telemetry.db", PageTokens())
    yield opened
    opened.close()


class CountingStore:
    """The store with its batches recorded."""

    def __init__(self, inner: TelemetryStore) -> None:
        self.store = inner
        self.batches: list[int] = []

    def check(self, request) -> None:
        self.store.check(request)

    def store_batch(self, uploads):
        self.batches.append(len(uploads))
        return self.store.store_batch(uploads)


def test_concurrent_uploads_commit_in_one_batch_in_arrival_order(store):
    counting = CountingStore(store)
    batches = TelemetryBatches(counting)

    async def upload_all():
        return await asyncio.gather(
            batches.ingest(CAM, upload(segment("metrics", "b1", [1, 2, 3]))),
            # The same pair again, within the same batch: the first's records are duplicates.
            batches.ingest(CAM, upload(segment("metrics", "b1", [2, 3, 4]))),
            batches.ingest(DOOR, upload(segment("metrics", "b1", [1]))),
        )

    first, second, door = asyncio.run(upload_all())
    assert counting.batches == [3]
    assert acks(first) == [("metrics", "b1", 3, 3, 0)]
    assert acks(second) == [("metrics", "b1", 4, 1, 2)]
    assert acks(door) == [("metrics", "b1", 1, 1, 0)]
    assert [r[3] for r in listed(store)] == [1, 2, 3, 4]


def test_a_bad_upload_fails_alone(store):
    batches = TelemetryBatches(store)

    async def upload_both():
        return await asyncio.gather(
            batches.ingest(CAM, upload(segment("metrics", "b1", [3, 2]))),
            batches.ingest(DOOR, upload(segment("metrics", "b1", [1, 2]))),
            return_exceptions=True,
        )

    bad, good = asyncio.run(upload_both())
    assert isinstance(bad, InvalidArgument)
    assert acks(good) == [("metrics", "b1", 2, 2, 0)]
    assert listed(store, CAM) == []


def test_a_batch_holds_at_most_the_record_limit(store, monkeypatch):
    monkeypatch.setattr(telemetry_batches, "MAX_BATCH_RECORDS", 5)
    counting = CountingStore(store)
    batches = TelemetryBatches(counting)

    async def upload_all():
        return await asyncio.gather(
            *(
                batches.ingest(f"devices/d{i}", upload(segment("metrics", "b1", [1, 2, 3])))
                for i in range(4)
            )
        )

    answers = asyncio.run(upload_all())
    # 3 records each: one upload per batch fits under 5, never two.
    assert counting.batches == [1, 1, 1, 1]
    assert all(acks(a) == [("metrics", "b1", 3, 3, 0)] for a in answers)


@pytest.mark.parametrize("count", [1, 40])
def test_every_upload_is_answered_after_its_commit(store, count):
    batches = TelemetryBatches(store)

    async def upload_all():
        return await asyncio.gather(
            *(batches.ingest(f"devices/d{i}", upload(segment("m", "b", [1]))) for i in range(count))
        )

    answers = asyncio.run(upload_all())
    assert len(answers) == count
    assert len(listed(store, "devices/-")) == count
