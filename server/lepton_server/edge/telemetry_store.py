"""Device telemetry (spec/edge.md 2.8, EDG-050 to EDG-058, EDG-115, EDG-118): the records
agents upload, stored once per (device, stream, boot_id, sequence) in
`<data-dir>/edge/telemetry.db`, with the acknowledged high-water mark of every
(device, stream, boot_id); ListTelemetryRecords over them; and the inference summary a
rollout's telemetry gate judges.

Ingest is idempotent: a record at or below its pair's mark is a duplicate, so an agent may
resend anything after any failure without creating a second copy. A request is validated in
full before anything is written and stored in one transaction, durably before it is
acknowledged (synchronous=FULL: the agent deletes what the mark covers)."""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from google.protobuf import timestamp_pb2

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as edge_pb
from lepton.edge.v1 import rollout_pb2, telemetry_pb2
from lepton_server.aip import pagination
from lepton_server.aip.filtering.compile import compile_filter
from lepton_server.aip.filtering.fields import EQUALITY, FieldType, FilterField
from lepton_server.aip.filtering.values import instant_nanos
from lepton_server.aip.ordering import OrderKey, format_order, parse_order_by
from lepton_server.aip.resource_names import ID, parse
from lepton_server.aip.standard_fields import now_ns, timestamp
from lepton_server.runtime.errors import ResourceExhausted, invalid_argument, invalid_field
from lepton_server.runtime.sqlite_database import SqliteDatabase

# The limits of one UploadTelemetryRequest (EDG-051), announced in AgentSettings; the
# contract asks for at least 1000 records and 4 MiB.
DEFAULT_MAX_BATCH_RECORDS = 10_000
DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024

MAX_OUTPUT_BYTES = 256 * 1024
MAX_LOG_BODY_BYTES = 64 * 1024
MAX_ATTRIBUTES = 32
MAX_SHORT_TEXT = 128  # InferenceEvent.correlation_id, TelemetryLog.source
_METRIC_NAME = re.compile(r"[a-z0-9._-]{1,255}")

ALL_DEVICES = "devices/-"

SCHEMA = """
-- An acknowledged record is one the agent deletes: commit it to disk, not only to the WAL.
PRAGMA synchronous=FULL;
CREATE TABLE IF NOT EXISTS telemetry_records (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    record_time INTEGER NOT NULL,
    receive_time INTEGER NOT NULL,
    deployment TEXT NOT NULL,
    rollout TEXT NOT NULL,
    inference INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    latency INTEGER,
    record BLOB NOT NULL,
    PRIMARY KEY (device, stream, boot_id, sequence)
);
CREATE INDEX IF NOT EXISTS telemetry_in_storage_order
    ON telemetry_records (receive_time, stream, boot_id, sequence, device);
CREATE INDEX IF NOT EXISTS telemetry_inference_by_rollout
    ON telemetry_records (rollout, receive_time) WHERE inference = 1;
CREATE TABLE IF NOT EXISTS telemetry_marks (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (device, stream, boot_id)
) WITHOUT ROWID;
"""

_INSERT_RECORD = (
    "INSERT OR IGNORE INTO telemetry_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RAISE_MARK = (
    "INSERT INTO telemetry_marks VALUES (?, ?, ?, ?) ON CONFLICT (device, stream, boot_id) "
    "DO UPDATE SET sequence = max(sequence, excluded.sequence)"
)

# ListTelemetryRecords (spec/edge.md 3.1, 3.2): filter fields, orderable fields, and the
# column of each. `deployment` and `rollout` are the short forms of the record's fields.
FILTER_FIELDS = (
    FilterField("stream", FieldType.STRING, EQUALITY),
    FilterField("boot_id", FieldType.STRING, EQUALITY),
    FilterField("device", FieldType.RESOURCE_NAME, EQUALITY),
    FilterField("record.deployment", FieldType.RESOURCE_NAME, EQUALITY),
    FilterField("deployment", FieldType.RESOURCE_NAME, EQUALITY),
    FilterField("record.rollout", FieldType.RESOURCE_NAME, EQUALITY),
    FilterField("rollout", FieldType.RESOURCE_NAME, EQUALITY),
)
ORDERABLE = ("receive_time", "record.time", "stream", "boot_id", "record.sequence")
DEFAULT_ORDER = "receive_time, stream, boot_id, record.sequence"
# A record's identity, so that every sort key is unique across devices (devices/-).
TIE_BREAKER = "device, stream, boot_id, record.sequence"
DEFAULT_PAGE_SIZE = 50
_COLUMNS = {
    "stream": "stream",
    "boot_id": "boot_id",
    "device": "device",
    "record.deployment": "deployment",
    "deployment": "deployment",
    "record.rollout": "rollout",
    "rollout": "rollout",
    "receive_time": "receive_time",
    "record.time": "record_time",
    "record.sequence": "sequence",
}
_INTEGER_COLUMNS = frozenset({"receive_time", "record_time", "sequence"})


class InferenceSummary(NamedTuple):
    """What a telemetry gate evaluates (EDG-115): the inference events, those with an error,
    and the nearest-rank 95th percentile of their latencies (None without any latency)."""

    count: int
    error_count: int
    latency_p95: timedelta | None

    def to_proto(self) -> rollout_pb2.TelemetrySummary:
        """As RolloutStageStatus.telemetry shows it."""
        summary = rollout_pb2.TelemetrySummary(
            inference_count=self.count, error_count=self.error_count
        )
        if self.latency_p95 is not None:
            summary.latency_p95.FromTimedelta(self.latency_p95)
        return summary


class TelemetryStore(SqliteDatabase):
    """Telemetry records and high-water marks of every device."""

    def __init__(
        self,
        path: Path,
        tokens: pagination.PageTokens,
        *,
        max_batch_records: int = DEFAULT_MAX_BATCH_RECORDS,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    ) -> None:
        super().__init__(path, SCHEMA)
        self.tokens = tokens
        self.max_batch_records = max_batch_records
        self.max_batch_bytes = max_batch_bytes

    # --- ingest -----------------------------------------------------------------------------

    def ingest(
        self, device: str, request: agent_pb.UploadTelemetryRequest
    ) -> agent_pb.UploadTelemetryResponse:
        """UploadTelemetry for `device` ("devices/{id}"): check the whole request (EDG-050,
        EDG-051), then store it in a transaction of its own (see `store_batch`)."""
        self.check(request)
        return self.store_batch([(device, request)])[0]

    def check(self, request: agent_pb.UploadTelemetryRequest) -> None:
        """The checks of a whole UploadTelemetry request (EDG-050, EDG-051)."""
        self._check_limits(request)
        check_upload(request)

    def store_batch(
        self, uploads: Sequence[tuple[str, agent_pb.UploadTelemetryRequest]]
    ) -> list[agent_pb.UploadTelemetryResponse]:
        """Store checked UploadTelemetry requests of (device, request) in one transaction,
        in order: every record above its pair's mark, with the marks raised as each request
        is stored, so a later request of the batch sees an earlier one's records as
        duplicates (EDG-052 to EDG-056); one acknowledgement per segment, in order."""
        received = now_ns()
        with self.transaction():
            return [self._store(device, request, received) for device, request in uploads]

    def _store(
        self, device: str, request: agent_pb.UploadTelemetryRequest, received: int
    ) -> agent_pb.UploadTelemetryResponse:
        acknowledgements: list[agent_pb.StreamAcknowledgement] = []
        rows: list[tuple] = []
        marks: list[tuple[str, str, str, int]] = []
        for segment in request.segments:
            stream, boot_id, records = segment.stream, segment.boot_id, segment.records
            found = self._db.execute(
                "SELECT sequence FROM telemetry_marks WHERE device=? AND stream=? AND boot_id=?",
                (device, stream, boot_id),
            ).fetchone()
            mark = found[0] if found else 0
            # Sequences increase strictly: the new records are those after the mark.
            sequences = [record.sequence for record in records]
            first_new = bisect_right(sequences, mark)
            for record in records[first_new:]:
                rows.append(_row(device, stream, boot_id, record, received))
            high = max(mark, sequences[-1])
            if high > mark:
                marks.append((device, stream, boot_id, high))
            acknowledgements.append(
                agent_pb.StreamAcknowledgement(
                    stream=stream,
                    boot_id=boot_id,
                    acknowledged_sequence=high,
                    accepted_record_count=len(records) - first_new,
                    duplicate_record_count=first_new,
                )
            )
        self._db.executemany(_INSERT_RECORD, rows)
        self._db.executemany(_RAISE_MARK, marks)
        return agent_pb.UploadTelemetryResponse(acknowledgements=acknowledgements)

    def _check_limits(self, request: agent_pb.UploadTelemetryRequest) -> None:
        """EDG-051: RESOURCE_EXHAUSTED [MESSAGE_TOO_LARGE] above either limit."""
        count = sum(len(segment.records) for segment in request.segments)
        if count > self.max_batch_records:
            raise ResourceExhausted(
                reason="MESSAGE_TOO_LARGE",
                message=f"{count} records; one request carries at most {self.max_batch_records}",
            )
        size = request.ByteSize()
        if size > self.max_batch_bytes:
            raise ResourceExhausted(
                reason="MESSAGE_TOO_LARGE",
                message=f"{size} bytes; one request is at most {self.max_batch_bytes}",
            )

    def delete_device(self, device: str) -> None:
        """Forget every record and mark of `device` ("devices/{id}"), when it is deleted."""
        with self.transaction():
            self._db.execute("DELETE FROM telemetry_records WHERE device=?", (device,))
            self._db.execute("DELETE FROM telemetry_marks WHERE device=?", (device,))

    def marks(self, device: str) -> dict[tuple[str, str], int]:
        """The high-water mark of each (stream, boot_id) of `device`."""
        rows = self._all(
            "SELECT stream, boot_id, sequence FROM telemetry_marks WHERE device=?", device
        )
        return {(stream, boot_id): sequence for stream, boot_id, sequence in rows}

    # --- listing ----------------------------------------------------------------------------

    def list_records(
        self, request: edge_pb.ListTelemetryRecordsRequest
    ) -> edge_pb.ListTelemetryRecordsResponse:
        """ListTelemetryRecords (EDG-058, EDG-118): the records of `parent` ("devices/{id}" or
        "devices/-"), filtered, ordered and paged by keyset in SQL. A parent that is not a
        device name is INVALID_NAME; whether the device exists is the caller's check."""
        parent = request.parent
        if parent != ALL_DEVICES:
            parse(parent, ("devices",), "parent")
        size = pagination.page_size(request.page_size, default=DEFAULT_PAGE_SIZE)
        matches = compile_filter(request.filter, FILTER_FIELDS)
        order = parse_order_by(request.order_by, ORDERABLE, DEFAULT_ORDER, TIE_BREAKER)
        binding = pagination.request_binding(parent, matches.fingerprint, format_order(order))
        after = self.tokens.read(request.page_token, binding)
        where: list[str] = []
        arguments: list[Any] = []
        if parent != ALL_DEVICES:
            where.append("device = ?")
            arguments.append(parent)
        for term in matches.terms:
            where.append(f"{_COLUMNS[term.field.path]} {term.operator} ?")
            arguments.append(term.value)
        columns = [_COLUMNS[path] for path, _ in order]
        if after is not None:
            clause, values = _after(order, columns, after)
            where.append(clause)
            arguments += values
        sql = (
            f"SELECT device, stream, boot_id, record, receive_time, {', '.join(columns)} "
            "FROM telemetry_records"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY "
            + ", ".join(
                f"{c} DESC" if desc else c for c, (_, desc) in zip(columns, order, strict=True)
            )
            + " LIMIT ?"
        )
        rows = self._all(sql, *arguments, size + 1)
        response = edge_pb.ListTelemetryRecordsResponse(
            records=[
                telemetry_pb2.StoredTelemetryRecord(
                    device=device,
                    stream=stream,
                    boot_id=boot_id,
                    record=telemetry_pb2.TelemetryRecord.FromString(record),
                    receive_time=timestamp(received),
                )
                for device, stream, boot_id, record, received, *_ in rows[:size]
            ]
        )
        if len(rows) > size:
            response.next_page_token = self.tokens.issue(list(rows[size - 1][5:]), binding)
        return response

    # --- rollout health gates ---------------------------------------------------------------

    def inference_summary(
        self,
        rollout: str,
        devices: Collection[str] | None,
        since: datetime | timestamp_pb2.Timestamp,
    ) -> InferenceSummary:
        """EDG-115: the InferenceEvent records whose TelemetryRecord.rollout is `rollout`,
        received (server clock) at or after `since`, from `devices` ("devices/{id}" names;
        None for any device)."""
        rows = self._all(
            "SELECT device, failed, latency FROM telemetry_records "
            "WHERE inference = 1 AND rollout = ? AND receive_time >= ?",
            rollout,
            instant_nanos(since),
        )
        if devices is not None:
            chosen = set(devices)
            rows = [row for row in rows if row[0] in chosen]
        latencies = sorted(latency for _, _, latency in rows if latency is not None)
        p95 = None
        if latencies:
            # Nearest rank: the smallest value with at least 95% of the values at or below it.
            nanos = latencies[math.ceil(0.95 * len(latencies)) - 1]
            p95 = timedelta(microseconds=nanos / 1000)
        return InferenceSummary(len(rows), sum(failed for _, failed, _ in rows), p95)


def _row(
    device: str, stream: str, boot_id: str, record: telemetry_pb2.TelemetryRecord, received: int
) -> tuple:
    """A record as the columns of telemetry_records hold it."""
    inference = record.WhichOneof("payload") == "inference"
    failed = latency = None
    if inference:
        event = record.inference
        failed = event.HasField("error")
        latency = event.latency.ToNanoseconds() if event.HasField("latency") else None
    return (
        device,
        stream,
        boot_id,
        record.sequence,
        record.time.ToNanoseconds(),
        received,
        record.deployment,
        record.rollout,
        inference,
        bool(failed),
        latency,
        record.SerializeToString(),
    )


def _after(order: Sequence[OrderKey], columns: Sequence[str], after: Any) -> tuple[str, list]:
    """The SQL condition "the sort key follows `after`" (a page token's position), written out
    per column since the directions may differ."""
    if (
        not isinstance(after, list)
        or len(after) != len(columns)
        or any(
            not isinstance(value, int if column in _INTEGER_COLUMNS else str)
            or isinstance(value, bool)
            for column, value in zip(columns, after, strict=True)
        )
    ):
        raise invalid_argument(
            pagination.INVALID_PAGE_TOKEN, "page_token", "does not hold a position of this list"
        )
    alternatives = []
    values: list[Any] = []
    for index, ((_, descending), column) in enumerate(zip(order, columns, strict=True)):
        equal = [f"{earlier} = ?" for earlier in columns[:index]]
        alternatives.append(" AND ".join([*equal, f"{column} {'<' if descending else '>'} ?"]))
        values += [*after[:index], after[index]]
    return "(" + " OR ".join(f"({a})" for a in alternatives) + ")", values


def check_upload(request: agent_pb.UploadTelemetryRequest) -> None:
    """EDG-050: INVALID_FIELD naming the first offending field of the request."""
    if not request.segments:
        raise invalid_field("segments", "an upload carries at least one segment")
    seen: set[tuple[str, str]] = set()
    for i, segment in enumerate(request.segments):
        path = f"segments[{i}]"
        if not ID.match(segment.stream):
            raise invalid_field(
                f"{path}.stream",
                f"stream {segment.stream!r} must be 1-63 characters of a-z, 0-9 and '-', "
                "start with a letter and not end with '-'",
            )
        if not segment.boot_id:
            raise invalid_field(f"{path}.boot_id", "is required")
        if (segment.stream, segment.boot_id) in seen:
            raise invalid_field(
                path, f"a second segment of stream {segment.stream} and boot {segment.boot_id}"
            )
        seen.add((segment.stream, segment.boot_id))
        if not segment.records:
            raise invalid_field(f"{path}.records", "a segment carries at least one record")
        previous = 0
        for j, record in enumerate(segment.records):
            _check_record(record, f"{path}.records[{j}]", previous)
            previous = record.sequence


def _check_record(record: telemetry_pb2.TelemetryRecord, path: str, previous: int) -> None:
    if record.sequence <= previous:
        problem = "must be greater than 0" if previous == 0 else f"must be above {previous}"
        raise invalid_field(f"{path}.sequence", f"{record.sequence} {problem}")
    if not record.HasField("time"):
        raise invalid_field(f"{path}.time", "is required")
    if len(record.attributes) > MAX_ATTRIBUTES:
        raise invalid_field(f"{path}.attributes", f"at most {MAX_ATTRIBUTES} entries")
    if any(not 1 <= len(key) <= 63 for key in record.attributes):
        raise invalid_field(f"{path}.attributes", "keys are 1-63 characters")
    _check_payload(record, path)


def _check_payload(record: telemetry_pb2.TelemetryRecord, path: str) -> None:
    kind = record.WhichOneof("payload")
    if kind is None:
        raise invalid_field(f"{path}.payload", "one of metric, inference or log is required")
    if kind == "metric":
        if not _METRIC_NAME.fullmatch(record.metric.name):
            raise invalid_field(f"{path}.metric.name", "1-255 characters of [a-z0-9._-]")
    elif kind == "inference":
        event = record.inference
        if len(event.output) > MAX_OUTPUT_BYTES:
            raise invalid_field(f"{path}.inference.output", f"at most {MAX_OUTPUT_BYTES} bytes")
        if event.output and not event.output_media_type:
            raise invalid_field(f"{path}.inference.output_media_type", "required with output")
        if len(event.correlation_id) > MAX_SHORT_TEXT:
            raise invalid_field(
                f"{path}.inference.correlation_id", f"at most {MAX_SHORT_TEXT} characters"
            )
    else:
        log = record.log
        if len(log.body.encode()) > MAX_LOG_BODY_BYTES:
            raise invalid_field(f"{path}.log.body", f"at most {MAX_LOG_BODY_BYTES} bytes")
        if len(log.source) > MAX_SHORT_TEXT:
            raise invalid_field(f"{path}.log.source", f"at most {MAX_SHORT_TEXT} characters")
