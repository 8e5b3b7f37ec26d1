"""The persistent telemetry outbox (spec/edge.md 2.8, EDG-099, EDG-100): every record is
written here, numbered per (stream, boot id) in the same transaction as the next sequence,
before anything else happens to it; it stays until the fleet acknowledges it.

Durability: SQLite in WAL mode with synchronous=NORMAL (runtime/sqlite_database.py). A
committed transaction is in the WAL file, in the operating system's page cache, when
COMMIT returns, so it survives the agent being killed (SIGKILL, a crash). Only a power loss
can lose the last commits, and a power loss is an OS boot, which gives a new boot id: the
sequence numbers of a lost tail are never reused within the boot id that uploaded them.
FULL would add an fsync to every record, on the inference path, which EDG-100 forbids
blocking.

Bound: `capacity_bytes` (0 = unbounded) over the records' payload bytes; a record that does
not fit drops the oldest records first (by insertion order), counted per boot id in
`dropped_record_count`; appending never waits for an upload.

Encryption (`lepton agent --encryption-key-file`): each payload is sealed on its own
(runtime/encryption.py, RecordCipher) under the outbox's data key, whose key record is kept
in the outbox itself (`data_keys`); sizes and the capacity stay those of the plaintext. Rows
stored before encryption was turned on are sealed in the transaction that stores the key; a
record under an older key of the key file is re-wrapped under the first as the outbox opens;
a row that does not open (altered on disk) is dropped, logged and counted as dropped, never
uploaded; an encrypted outbox opened without a key file stops the agent."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import timestamp_pb2

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_state_pb2, telemetry_pb2
from lepton_server.runtime.encryption import KeyProvider, RecordCipher, key_unavailable
from lepton_server.runtime.errors import DataLoss
from lepton_server.runtime.sqlite_database import SqliteDatabase

log = logging.getLogger(__name__)
_KEY_LABEL = b"lepton telemetry outbox v1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    payload BLOB NOT NULL,
    UNIQUE (stream, boot_id, sequence)
);
CREATE TABLE IF NOT EXISTS sequences (
    stream TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    next_sequence INTEGER NOT NULL,
    PRIMARY KEY (stream, boot_id)
);
CREATE TABLE IF NOT EXISTS dropped (boot_id TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS data_keys (label TEXT PRIMARY KEY, record BLOB NOT NULL);
"""


@dataclass(frozen=True)
class Segment:
    """Pending records of one (stream, boot id), ascending."""

    stream: str
    boot_id: str
    records: list[telemetry_pb2.TelemetryRecord]

    def proto(self) -> agent_pb.TelemetrySegment:
        return agent_pb.TelemetrySegment(
            stream=self.stream, boot_id=self.boot_id, records=self.records
        )


class Outbox(SqliteDatabase):
    """`<state-dir>/outbox.db`, writing records under the current `boot_id`."""

    def __init__(
        self,
        path: Path,
        boot_id: str,
        capacity_bytes: int = 0,
        encryption: KeyProvider | None = None,
    ) -> None:
        super().__init__(path, SCHEMA)
        self.boot_id = boot_id
        self.capacity_bytes = capacity_bytes
        self._cipher = self._open_cipher(encryption)
        self._pending_bytes = self._one("SELECT COALESCE(SUM(size), 0) FROM records")[0]
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()

    def on_append(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from the appending thread) after every append."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def append(self, stream: str, record: telemetry_pb2.TelemetryRecord) -> int:
        """Store `record` under the next sequence of (stream, current boot id); the sequence.
        Drops the oldest records when the outbox would exceed its capacity."""
        with self.transaction():
            row = self._one(
                "SELECT next_sequence FROM sequences WHERE stream=? AND boot_id=?",
                stream,
                self.boot_id,
            )
            sequence = row[0] if row else 1  # numbering starts at 1 in every boot (EDG-090)
            record.sequence = sequence
            payload = record.SerializeToString()
            size = len(payload)
            if self._cipher is not None:
                payload = self._cipher.seal(payload, _identity(stream, self.boot_id, sequence))
            self._run(
                "INSERT OR REPLACE INTO sequences VALUES (?, ?, ?)",
                stream,
                self.boot_id,
                sequence + 1,
            )
            self._run(
                "INSERT INTO records (stream, boot_id, sequence, time_ns, size, payload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                stream,
                self.boot_id,
                sequence,
                record.time.ToNanoseconds(),
                size,
                payload,
            )
            self._pending_bytes += size
            self._enforce_capacity()
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        return sequence

    def _enforce_capacity(self) -> None:
        """Inside append's transaction: drop the oldest records until the rest fit."""
        if self.capacity_bytes <= 0 or self._pending_bytes <= self.capacity_bytes:
            return
        dropped = 0
        for record_id, size in self._all("SELECT id, size FROM records ORDER BY id"):
            if self._pending_bytes <= self.capacity_bytes:
                break
            self._run("DELETE FROM records WHERE id=?", record_id)
            self._pending_bytes -= size
            dropped += 1
        self._run(
            "INSERT INTO dropped VALUES (?, ?) "
            "ON CONFLICT (boot_id) DO UPDATE SET count = count + excluded.count",
            self.boot_id,
            dropped,
        )

    def pending_segments(self, max_records: int, max_bytes: int) -> list[Segment]:
        """The oldest pending records, at most `max_records` and about `max_bytes` of
        payload, grouped by (stream, boot id) with the pair holding the oldest record first
        and each pair's records ascending from its lowest pending sequence (EDG-099)."""
        pairs = self._all(
            "SELECT stream, boot_id FROM records GROUP BY stream, boot_id ORDER BY MIN(id)"
        )
        segments: list[Segment] = []
        records_left, bytes_left = max_records, max_bytes
        for stream, boot_id in pairs:
            if records_left <= 0 or bytes_left <= 0:
                break
            rows = self._all(
                "SELECT id, sequence, payload, size FROM records WHERE stream=? AND boot_id=? "
                "ORDER BY sequence LIMIT ?",
                stream,
                boot_id,
                records_left,
            )
            records: list[telemetry_pb2.TelemetryRecord] = []
            for record_id, sequence, payload, size in rows:
                # Headroom for the segment's framing; one record always goes.
                if records and size + 16 > bytes_left:
                    break
                plain = self._plain(record_id, stream, boot_id, sequence, payload)
                if plain is None:
                    continue
                records.append(telemetry_pb2.TelemetryRecord.FromString(plain))
                bytes_left -= size + 16
            records_left -= len(records)
            if records:  # none when every row of the pair failed to open
                segments.append(Segment(stream, boot_id, records))
        return segments

    def _plain(
        self, record_id: int, stream: str, boot_id: str, sequence: int, payload: bytes
    ) -> bytes | None:
        """A row's record bytes; None (the row dropped) when a sealed row does not open."""
        if self._cipher is None:
            return payload
        try:
            return self._cipher.open(payload, _identity(stream, boot_id, sequence), "a record")
        except DataLoss as error:
            log.error("telemetry record %s/%s/%d dropped: %s", stream, boot_id, sequence, error)
            with self.transaction():
                size = self._one("SELECT size FROM records WHERE id=?", record_id)
                self._run("DELETE FROM records WHERE id=?", record_id)
                self._run(
                    "INSERT INTO dropped VALUES (?, 1) "
                    "ON CONFLICT (boot_id) DO UPDATE SET count = count + 1",
                    self.boot_id,
                )
                self._pending_bytes -= size[0] if size else 0
            return None

    def _open_cipher(self, encryption: KeyProvider | None) -> RecordCipher | None:
        """The outbox's cipher: its stored key, re-wrapped if an older KEK wraps it, or a new
        one, with the rows stored before sealed in the same transaction."""
        label = _KEY_LABEL.decode()
        stored = self._one("SELECT record FROM data_keys WHERE label=?", label)
        if encryption is None:
            if stored is not None:
                raise key_unavailable("the telemetry outbox")
            return None
        if stored is not None:
            cipher, rewrapped = RecordCipher.opened(
                encryption, stored[0], _KEY_LABEL, "the telemetry outbox"
            )
            if rewrapped is not None:
                with self.transaction():
                    self._run("UPDATE data_keys SET record=? WHERE label=?", rewrapped, label)
            return cipher
        cipher, record = RecordCipher.new(encryption, _KEY_LABEL)
        with self.transaction():
            for record_id, stream, boot_id, sequence, payload in self._all(
                "SELECT id, stream, boot_id, sequence, payload FROM records"
            ):
                sealed = cipher.seal(payload, _identity(stream, boot_id, sequence))
                self._run("UPDATE records SET payload=? WHERE id=?", sealed, record_id)
            self._run("INSERT INTO data_keys VALUES (?, ?)", label, record)
        return cipher

    def acknowledge(self, stream: str, boot_id: str, acknowledged_sequence: int) -> int:
        """Delete the records of the pair at or below the server's high-water mark; how many."""
        with self.transaction():
            count, size = self._one(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM records "
                "WHERE stream=? AND boot_id=? AND sequence<=?",
                stream,
                boot_id,
                acknowledged_sequence,
            )
            self._run(
                "DELETE FROM records WHERE stream=? AND boot_id=? AND sequence<=?",
                stream,
                boot_id,
                acknowledged_sequence,
            )
            self._pending_bytes -= size
        return count

    def pending_count(self) -> int:
        return self._one("SELECT COUNT(*) FROM records")[0]

    def status(self) -> device_state_pb2.OutboxStatus:
        """OutboxStatus for the heartbeat; dropped records counted since the current boot."""
        count, oldest = self._one("SELECT COUNT(*), MIN(time_ns) FROM records")
        dropped = self._one("SELECT count FROM dropped WHERE boot_id=?", self.boot_id)
        status = device_state_pb2.OutboxStatus(
            pending_record_count=count,
            pending_bytes=self._pending_bytes,
            capacity_bytes=self.capacity_bytes,
            dropped_record_count=dropped[0] if dropped else 0,
        )
        if oldest is not None:
            status.oldest_pending_time.CopyFrom(timestamp_pb2.Timestamp())
            status.oldest_pending_time.FromNanoseconds(oldest)
        return status


def _identity(stream: str, boot_id: str, sequence: int) -> bytes:
    """What a sealed row is bound to: moved to another place in the outbox, it does not open."""
    return f"{stream}\0{boot_id}\0{sequence}".encode()
