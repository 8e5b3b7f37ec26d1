"""The log lines and metric points of training jobs (spec/training.md "Logs, metrics and
checkpoints", TRN-037 to TRN-044, GEN-083): two series per job, each numbered from 1 without
gaps, in one SQLite database, with the summary of each metric kept as points arrive and the
streams that replay a series from a sequence and then follow it until the job has ended.

A job is named by its resource name, `trainingJobs/{job}`. Everything runs on the event loop's
thread: `add_*` number and store records and wake the job's followers, which read the same
table, so replay and live delivery neither skip nor repeat a record. A follower takes the
job's wake-up event before it reads, so a record added after the read sets an event it is
about to wait on and is never missed."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import Message

from lepton.training.v1 import log_entry_pb2, metric_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton_server.aip.standard_fields import not_found, now_ns, timestamp
from lepton_server.runtime.errors import invalid_field
from lepton_server.runtime.sqlite_database import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS log_entries (
    job TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    message BLOB NOT NULL,
    PRIMARY KEY (job, sequence)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metric_points (
    job TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    name TEXT NOT NULL,
    message BLOB NOT NULL,
    PRIMARY KEY (job, sequence)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metric_summaries (
    job TEXT NOT NULL,
    name TEXT NOT NULL,
    latest BLOB NOT NULL,
    min_value REAL,
    max_value REAL,
    point_count INTEGER NOT NULL,
    latest_finite REAL,
    PRIMARY KEY (job, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ended_jobs (
    job TEXT PRIMARY KEY
) WITHOUT ROWID;
"""

# One stream message holds at most this many records and, past its first record, this many
# bytes: far below the 4 MiB gRPC receive limit even with 64 KiB log lines.
MAX_RECORDS_PER_MESSAGE = 1000
MAX_MESSAGE_BYTES = 1024 * 1024
# Each repeated record costs its bytes plus a tag and a length prefix.
_RECORD_OVERHEAD = 6


@dataclass(frozen=True)
class _Series:
    """One kind of record: its table, its message type, whether the table has its `name`
    (for the metric_names filter), and its stream's response."""

    table: str
    record: type[Message]
    named: bool
    response: Callable[..., Message]
    records_field: str


LOGS = _Series(
    "log_entries", log_entry_pb2.LogEntry, False, pb.StreamTrainingJobLogsResponse, "entries"
)
METRICS = _Series(
    "metric_points", metric_pb2.MetricPoint, True, pb.StreamTrainingJobMetricsResponse, "points"
)


@dataclass
class _JobState:
    """What followers of one job watch: the newest sequence of each series, whether the job
    has ended or was deleted, and the event set at the next change."""

    newest: dict[str, int]
    ended: bool
    deleted: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


@dataclass(frozen=True)
class _Start:
    """Where a stream starts, whether retention cut the requested start, and the series as
    the request found it: its newest sequence and whether the job had ended."""

    sequence: int
    truncated: bool
    newest: int
    ended: bool


class JobRecords(SqliteDatabase):
    """The log and metric series of every job, their metric summaries and their streams."""

    def __init__(
        self,
        path: Path,
        *,
        keepalive_seconds: float = 30.0,
        max_records_per_job: int = 0,
    ) -> None:
        """`max_records_per_job` > 0 keeps only that many of the newest records of each
        series (0 keeps all); the numbering is unchanged by what is removed (GEN-083)."""
        super().__init__(path, SCHEMA)
        self.keepalive_seconds = keepalive_seconds
        self.max_records_per_job = max_records_per_job
        self._states: dict[str, _JobState] = {}

    # --- writing ----------------------------------------------------------------------------

    def add_logs(self, job: str, entries: Sequence[log_entry_pb2.LogEntry]) -> None:
        """Append `entries` to the job's log, numbered after its last line (TRN-037)."""
        self._append(LOGS, job, entries)

    def add_metrics(self, job: str, points: Sequence[metric_pb2.MetricPoint]) -> None:
        """Append `points` to the job's metric series, numbered after its last point, and
        update the summaries of their names (TRN-043, TRN-044)."""
        self._append(METRICS, job, points)

    def _append(self, series: _Series, job: str, records: Sequence[Message]) -> None:
        if not records:
            return
        state = self._state(job)
        if state.ended:
            raise ValueError(f"{job} has ended; it gets no more records")
        now = timestamp(now_ns())
        numbered = []
        sequence = state.newest[series.table]
        for record in records:
            sequence += 1
            copy = series.record()
            copy.CopyFrom(record)
            copy.sequence = sequence
            if not copy.HasField("time"):
                copy.time.CopyFrom(now)
            numbered.append(copy)
        marks = "?, ?, ?, ?" if series.named else "?, ?, ?"
        with self.transaction():
            self._db.executemany(
                f"INSERT INTO {series.table} VALUES ({marks})",
                [
                    (
                        job,
                        record.sequence,
                        *((record.name,) if series.named else ()),
                        record.SerializeToString(),
                    )
                    for record in numbered
                ],
            )
            if self.max_records_per_job:
                self._run(
                    f"DELETE FROM {series.table} WHERE job=? AND sequence<=?",
                    job,
                    sequence - self.max_records_per_job,
                )
            if series is METRICS:
                self._summarize(job, numbered)
        state.newest[series.table] = sequence
        state.wake()

    def end(self, job: str) -> None:
        """The job is terminal and gets no more records: its streams complete once they have
        sent everything. Persisted; calling it again changes nothing."""
        state = self._state(job)
        if state.ended:
            return
        self._run("INSERT OR IGNORE INTO ended_jobs VALUES (?)", job)
        state.ended = True
        state.wake()

    def delete(self, job: str) -> None:
        """Remove the job's records; its open streams end with NOT_FOUND."""
        with self.transaction():
            for table in ("log_entries", "metric_points", "metric_summaries", "ended_jobs"):
                self._run(f"DELETE FROM {table} WHERE job=?", job)
        state = self._states.pop(job, None)
        if state is not None:
            state.deleted = True
            state.wake()

    # --- metric summaries -------------------------------------------------------------------

    def _summarize(self, job: str, points: list[Message]) -> None:
        """Fold `points` into their names' summaries; run inside the append's transaction."""
        names = sorted({point.name for point in points})
        marks = ", ".join("?" * len(names))
        known = {
            row[0]: list(row[1:])
            for row in self._all(
                "SELECT name, latest, min_value, max_value, point_count, latest_finite "
                f"FROM metric_summaries WHERE job=? AND name IN ({marks})",
                job,
                *names,
            )
        }
        for point in points:
            summary = known.setdefault(point.name, [b"", None, None, 0, None])
            summary[0] = point.SerializeToString()
            if not math.isnan(point.value):
                summary[1] = point.value if summary[1] is None else min(summary[1], point.value)
                summary[2] = point.value if summary[2] is None else max(summary[2], point.value)
            summary[3] += 1
            if math.isfinite(point.value):
                summary[4] = point.value
        self._db.executemany(
            "INSERT OR REPLACE INTO metric_summaries VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(job, name, *summary) for name, summary in known.items()],
        )

    def summaries(self, job: str) -> list[metric_pb2.MetricSummary]:
        """One summary per metric name the job reported, by name (TRN-044): the point with
        the highest sequence, the minimum and maximum of the non-NaN values (NaN when every
        value was NaN) and the number of points, including points retention removed."""
        rows = self._all(
            "SELECT name, latest, min_value, max_value, point_count FROM metric_summaries "
            "WHERE job=? ORDER BY name",
            job,
        )
        return [
            metric_pb2.MetricSummary(
                name=name,
                latest=metric_pb2.MetricPoint.FromString(latest),
                min_value=math.nan if low is None else low,
                max_value=math.nan if high is None else high,
                point_count=count,
            )
            for name, latest, low, high, count in rows
        ]

    def latest_values(self, job: str) -> dict[str, float]:
        """The latest finite value of each metric name the job reported finite values of,
        as a checkpoint and a registered version record them."""
        rows = self._all(
            "SELECT name, latest_finite FROM metric_summaries "
            "WHERE job=? AND latest_finite IS NOT NULL ORDER BY name",
            job,
        )
        return dict(rows)

    # --- streams ----------------------------------------------------------------------------

    def stream_logs(
        self, job: str, request: pb.StreamTrainingJobLogsRequest
    ) -> AsyncIterator[pb.StreamTrainingJobLogsResponse]:
        """Check the request now (INVALID_FIELD before any message), then the responses of
        one StreamTrainingJobLogs (TRN-038 to TRN-041). The caller has checked the job."""
        if request.start_sequence < 0:
            raise invalid_field("start_sequence", "must not be negative")
        if request.tail_line_count < 0:
            raise invalid_field("tail_line_count", "must not be negative")
        start = self._start(LOGS, job, request.start_sequence, request.tail_line_count)
        return self._stream(LOGS, job, self._state(job), start, follow=request.follow, names=())

    def stream_metrics(
        self, job: str, request: pb.StreamTrainingJobMetricsRequest
    ) -> AsyncIterator[pb.StreamTrainingJobMetricsResponse]:
        """Check the request now, then the responses of one StreamTrainingJobMetrics
        (TRN-043): the rules of the log stream, only the points of `metric_names` when it
        is not empty, with their sequences in the whole series."""
        if request.start_sequence < 0:
            raise invalid_field("start_sequence", "must not be negative")
        start = self._start(METRICS, job, request.start_sequence, 0)
        return self._stream(
            METRICS,
            job,
            self._state(job),
            start,
            follow=request.follow,
            names=tuple(request.metric_names),
        )

    def _start(self, series: _Series, job: str, requested: int, tail: int) -> _Start:
        """The first sequence to send, as things are when the request arrives (GEN-083)."""
        state = self._state(job)
        newest = state.newest[series.table]
        oldest = self._one(f"SELECT MIN(sequence) FROM {series.table} WHERE job=?", job)[0]
        lowest = newest + 1 if oldest is None else oldest
        if tail:
            sequence, truncated = max(lowest, newest - tail + 1), False
        elif requested == 0:
            sequence, truncated = lowest, False
        elif requested < lowest:
            sequence, truncated = lowest, True
        else:
            sequence, truncated = requested, False
        return _Start(sequence, truncated, newest, state.ended)

    async def _stream(
        self,
        series: _Series,
        job: str,
        state: _JobState,
        start: _Start,
        *,
        follow: bool,
        names: Collection[str],
    ) -> AsyncIterator[Message]:
        """Messages of consecutive records from `start`. Without `follow`, the records
        written before the request, then the end, `complete` when the job had ended by
        then (TRN-039). With it, new records as they come, an empty message after
        `keepalive_seconds` of silence (TRN-041), and the end with `complete` once the job
        has ended and every record was sent (TRN-040)."""
        # Without follow, the stream covers what existed when the request arrived.
        bound, ended = start.newest, start.ended
        loop = asyncio.get_running_loop()
        following, truncated = start.sequence, start.truncated
        last_sent = loop.time()
        while True:
            if state.deleted:
                raise not_found(job)
            changed = state.changed
            if follow:
                bound, ended = state.newest[series.table], state.ended
            records, following = self._batch(series, job, following, bound, names)
            done = following > bound and (ended or not follow)
            if records or done:
                yield series.response(
                    **{series.records_field: records},
                    complete=done and ended,
                    start_truncated=truncated,
                )
                truncated = False
                last_sent = loop.time()
                if done:
                    return
                if following <= bound:
                    continue
            quiet = max(0.0, last_sent + self.keepalive_seconds - loop.time())
            try:
                await asyncio.wait_for(changed.wait(), quiet)
            except TimeoutError:
                if not state.deleted:
                    yield series.response(start_truncated=truncated)
                    truncated = False
                    last_sent = loop.time()

    def _batch(
        self, series: _Series, job: str, start: int, bound: int, names: Collection[str]
    ) -> tuple[list[Message], int]:
        """The records of one message from `start` up to `bound`, and the sequence after
        the last record they cover (records of other names included)."""
        if start > bound:
            return [], start
        where = "job=? AND sequence>=? AND sequence<=?"
        arguments: list[object] = [job, start, bound]
        if names:
            where += f" AND name IN ({', '.join('?' * len(names))})"
            arguments.extend(names)
        rows = self._all(
            f"SELECT sequence, message FROM {series.table} WHERE {where} "
            f"ORDER BY sequence LIMIT {MAX_RECORDS_PER_MESSAGE}",
            *arguments,
        )
        records: list[Message] = []
        size = 0
        for sequence, blob in rows:
            size += len(blob) + _RECORD_OVERHEAD
            if records and size > MAX_MESSAGE_BYTES:
                return records, sequence
            records.append(series.record.FromString(blob))
        if len(rows) < MAX_RECORDS_PER_MESSAGE:
            # Every record up to `bound` was read, including those of other names.
            return records, bound + 1
        return records, rows[-1][0] + 1

    # --- job state --------------------------------------------------------------------------

    def _state(self, job: str) -> _JobState:
        state = self._states.get(job)
        if state is None:
            newest = {
                series.table: self._one(
                    f"SELECT MAX(sequence) FROM {series.table} WHERE job=?", job
                )[0]
                or 0
                for series in (LOGS, METRICS)
            }
            ended = self._one("SELECT 1 FROM ended_jobs WHERE job=?", job) is not None
            state = self._states[job] = _JobState(newest, ended)
        return state
