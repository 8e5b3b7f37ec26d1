"""Log lines and metric points of training jobs (TRN-037 to TRN-044, GEN-083): numbering
without gaps across calls and restarts, the start, truncation, tail, follow and `complete`
rules of the streams, their keep-alives, the end of a deleted job's streams, and the metric
summaries."""

from __future__ import annotations

import asyncio
import math

import pytest

from lepton.training.v1 import log_entry_pb2, metric_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton_server.runtime.errors import InvalidArgument, NotFound
from lepton_server.training.job_records import MAX_RECORDS_PER_MESSAGE, JobRecords

JOB = "trainingJobs/j1"


def _lines(*texts: str, attempt: int = 0) -> list[log_entry_pb2.LogEntry]:
    return [
        log_entry_pb2.LogEntry(text=text, stream=log_entry_pb2.LOG_STREAM_STDOUT, attempt=attempt)
        for text in texts
    ]


def _points(*pairs: tuple[str, float], step: int = 1) -> list[metric_pb2.MetricPoint]:
    return [metric_pb2.MetricPoint(name=name, value=value, step=step) for name, value in pairs]


def _logs(records: JobRecords, job: str = JOB, **request) -> list[pb.StreamTrainingJobLogsResponse]:
    """Every message of a stream that ends by itself."""

    async def read():
        return [
            m async for m in records.stream_logs(job, pb.StreamTrainingJobLogsRequest(**request))
        ]

    return asyncio.run(read())


def _texts(messages) -> list[str]:
    return [entry.text for message in messages for entry in message.entries]


def _sequences(messages, field: str = "entries") -> list[int]:
    return [record.sequence for message in messages for record in getattr(message, field)]


def test_lines_are_numbered_from_one_without_gaps_across_calls_and_restarts(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    records.add_logs(JOB, _lines("a", "b"))
    records.add_logs(JOB, _lines("c"))
    records.add_logs("trainingJobs/other", _lines("x"))
    records.add_metrics(JOB, _points(("train/loss", 1.0)))
    records.close()
    reopened = JobRecords(tmp_path / "records.db")
    reopened.add_logs(JOB, _lines("d", "e"))
    reopened.add_metrics(JOB, _points(("train/loss", 0.5)))
    messages = _logs(reopened)
    assert _sequences(messages) == [1, 2, 3, 4, 5]
    assert _texts(messages) == ["a", "b", "c", "d", "e"]
    entry = messages[0].entries[0]
    assert entry.time.seconds > 0 and entry.stream == log_entry_pb2.LOG_STREAM_STDOUT
    assert _sequences(_logs(reopened, "trainingJobs/other")) == [1]
    assert [s.point_count for s in reopened.summaries(JOB)] == [2]
    # A line read twice is the same line (TRN-037).
    assert _logs(reopened) == messages


def test_an_ended_job_stays_ended_after_a_restart(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    records.add_logs(JOB, _lines("a"))
    records.end(JOB)
    records.end(JOB)
    with pytest.raises(ValueError):
        records.add_logs(JOB, _lines("late"))
    records.close()
    reopened = JobRecords(tmp_path / "records.db")
    messages = _logs(reopened, follow=True)
    assert _texts(messages) == ["a"] and messages[-1].complete


def test_without_follow_complete_means_ended_and_all_sent(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    records.add_logs(JOB, _lines("a", "b", "c"))
    running = _logs(records)
    assert _texts(running) == ["a", "b", "c"] and not running[-1].complete
    assert [m.complete for m in _logs(records, start_sequence=4)] == [False]
    records.end(JOB)
    ended = _logs(records, start_sequence=2)
    assert _texts(ended) == ["b", "c"] and ended[-1].complete
    assert not any(m.complete for m in ended[:-1])
    beyond = _logs(records, start_sequence=9)
    assert [(len(m.entries), m.complete) for m in beyond] == [(0, True)]
    records.end("trainingJobs/empty")
    assert [(len(m.entries), m.complete) for m in _logs(records, "trainingJobs/empty")] == [
        (0, True)
    ]


def test_without_follow_the_stream_holds_the_lines_written_before_the_request(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    records.add_logs(JOB, _lines("a"))

    async def scenario():
        stream = records.stream_logs(JOB, pb.StreamTrainingJobLogsRequest())
        records.add_logs(JOB, _lines("b"))
        records.end(JOB)
        return [m async for m in stream]

    messages = asyncio.run(scenario())
    assert _texts(messages) == ["a"] and not messages[-1].complete


def test_follow_waits_for_new_lines_and_completes_only_after_the_end(tmp_path):
    records = JobRecords(tmp_path / "records.db", keepalive_seconds=0.01)
    records.add_logs(JOB, _lines("a"))

    async def scenario():
        stream = records.stream_logs(JOB, pb.StreamTrainingJobLogsRequest(follow=True))
        first = await anext(stream)
        # Nothing more to send: a keep-alive, not the end and not complete.
        quiet = await anext(stream)
        records.add_logs(JOB, _lines("b", "c"))
        second = await anext(stream)
        records.add_logs(JOB, _lines("d"))
        records.end(JOB)
        rest = [m async for m in stream]
        return first, quiet, second, rest

    first, quiet, second, rest = asyncio.run(scenario())
    assert _texts([first]) == ["a"] and not first.complete
    assert quiet == pb.StreamTrainingJobLogsResponse()
    assert _texts([second]) == ["b", "c"] and not second.complete
    assert _texts(rest) == ["d"] and rest[-1].complete
    assert not any(m.complete for m in rest[:-1])


def test_follow_from_beyond_the_newest_line_waits_for_it(tmp_path):
    records = JobRecords(tmp_path / "records.db", keepalive_seconds=60)
    records.add_logs(JOB, _lines("1", "2", "3"))

    async def scenario():
        stream = records.stream_logs(
            JOB, pb.StreamTrainingJobLogsRequest(start_sequence=5, follow=True)
        )
        waiting = asyncio.ensure_future(anext(stream))
        records.add_logs(JOB, _lines("4"))
        records.add_logs(JOB, _lines("5", "6"))
        first = await waiting
        records.end(JOB)
        return [first, *[m async for m in stream]]

    messages = asyncio.run(scenario())
    assert _sequences(messages) == [5, 6] and _texts(messages) == ["5", "6"]
    assert messages[-1].complete


def test_follow_of_an_ended_job_sends_everything_then_complete(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    records.add_logs(JOB, _lines(*(str(i) for i in range(1, 2501))))
    records.end(JOB)
    messages = _logs(records, follow=True)
    assert _sequences(messages) == list(range(1, 2501))
    assert all(len(m.entries) <= MAX_RECORDS_PER_MESSAGE for m in messages)
    assert [m.complete for m in messages] == [False] * (len(messages) - 1) + [True]
    records.end("trainingJobs/quiet")
    assert [
        (len(m.entries), m.complete) for m in _logs(records, "trainingJobs/quiet", follow=True)
    ] == [(0, True)]


def test_large_lines_are_split_over_messages_of_about_one_mebibyte(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    records.add_logs(JOB, _lines(*("x" * 64 * 1024 for _ in range(40))))
    messages = _logs(records)
    assert _sequences(messages) == list(range(1, 41)) and len(messages) >= 3
    assert all(m.ByteSize() <= 1024 * 1024 + 64 * 1024 for m in messages)


def test_retention_truncates_the_start_and_keeps_the_numbering(tmp_path):
    records = JobRecords(tmp_path / "records.db", max_records_per_job=3)
    records.add_logs(JOB, _lines("1", "2"))
    records.add_logs(JOB, _lines("3", "4", "5"))
    records.end(JOB)
    truncated = _logs(records, start_sequence=1)
    assert _sequences(truncated) == [3, 4, 5] and truncated[0].start_truncated
    assert not any(m.start_truncated for m in truncated[1:])
    assert truncated[-1].complete
    for request in ({}, {"start_sequence": 3}, {"start_sequence": 4}):
        messages = _logs(records, **request)
        assert not any(m.start_truncated for m in messages)
    assert _sequences(_logs(records)) == [3, 4, 5]
    assert _sequences(_logs(records, start_sequence=4)) == [4, 5]


def test_tail_starts_at_the_nth_last_line(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    records.add_logs(JOB, _lines(*(str(i) for i in range(1, 11))))
    assert _texts(_logs(records, tail_line_count=3, start_sequence=1)) == ["8", "9", "10"]
    assert _sequences(_logs(records, tail_line_count=50)) == list(range(1, 11))


def test_negative_start_sequence_or_tail_is_rejected_before_any_message(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    for request, field in (
        (pb.StreamTrainingJobLogsRequest(start_sequence=-1), "start_sequence"),
        (pb.StreamTrainingJobLogsRequest(tail_line_count=-2), "tail_line_count"),
    ):
        with pytest.raises(InvalidArgument) as rejected:
            records.stream_logs(JOB, request)
        assert rejected.value.reason == "INVALID_FIELD"
        assert [v.field for v in rejected.value.violations] == [field]
    with pytest.raises(InvalidArgument):
        records.stream_metrics(JOB, pb.StreamTrainingJobMetricsRequest(start_sequence=-1))


def test_metric_names_filter_keeps_the_original_sequences(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    records.add_metrics(JOB, _points(("train/loss", 1.0), ("validation/accuracy", 0.5)))
    records.add_metrics(JOB, _points(("train/loss", 0.5), ("test/f1", 0.7), step=2))
    records.end(JOB)

    async def read(**request):
        stream = records.stream_metrics(JOB, pb.StreamTrainingJobMetricsRequest(**request))
        return [m async for m in stream]

    everything = asyncio.run(read())
    assert _sequences(everything, "points") == [1, 2, 3, 4] and everything[-1].complete
    losses = asyncio.run(read(metric_names=["train/loss"], follow=True))
    assert _sequences(losses, "points") == [1, 3] and losses[-1].complete
    assert [p.value for m in losses for p in m.points] == [1.0, 0.5]
    later = asyncio.run(read(metric_names=["test/f1", "train/loss"], start_sequence=2))
    assert _sequences(later, "points") == [3, 4]
    assert asyncio.run(read(metric_names=["nothing"])) == [
        pb.StreamTrainingJobMetricsResponse(complete=True)
    ]


def test_a_metric_follower_ends_complete_after_the_end(tmp_path):
    records = JobRecords(tmp_path / "records.db", keepalive_seconds=60)

    async def scenario():
        stream = records.stream_metrics(
            JOB, pb.StreamTrainingJobMetricsRequest(follow=True, metric_names=["train/loss"])
        )
        waiting = asyncio.ensure_future(anext(stream))
        records.add_metrics(JOB, _points(("other", 1.0)))
        records.add_metrics(JOB, _points(("train/loss", 2.0)))
        first = await waiting
        records.end(JOB)
        return [first, *[m async for m in stream]]

    messages = asyncio.run(scenario())
    assert _sequences(messages, "points") == [2] and messages[-1].complete


def test_deleting_a_job_ends_its_followers_with_not_found(tmp_path):
    records = JobRecords(tmp_path / "records.db", keepalive_seconds=60)
    records.add_logs(JOB, _lines("a"))
    records.add_metrics(JOB, _points(("train/loss", 1.0)))

    async def scenario():
        stream = records.stream_logs(JOB, pb.StreamTrainingJobLogsRequest(follow=True))
        first = await anext(stream)
        waiting = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        records.delete(JOB)
        with pytest.raises(NotFound) as gone:
            await waiting
        return first, gone.value

    first, gone = asyncio.run(scenario())
    assert _texts([first]) == ["a"]
    assert gone.reason == "RESOURCE_NOT_FOUND" and gone.metadata["resource_name"] == JOB
    assert records.summaries(JOB) == [] and records.latest_values(JOB) == {}
    # A new job of the same name starts a new series.
    records.add_logs(JOB, _lines("again"))
    assert _sequences(_logs(records)) == [1]


def test_summaries_ignore_nan_and_latest_is_the_highest_sequence(tmp_path):
    records = JobRecords(tmp_path / "records.db")
    nan = math.nan
    records.add_metrics(JOB, _points(("train/loss", 2.0), ("validation/loss", nan)))
    records.add_metrics(JOB, _points(("train/loss", nan), ("train/loss", 0.5), step=2))
    records.add_metrics(JOB, _points(("train/loss", 1.0), ("validation/loss", nan), step=3))
    records.add_metrics(JOB, _points(("train/loss", math.inf), step=4))
    records.add_metrics(JOB, _points(("train/loss", nan), step=5))
    loss, validation = records.summaries(JOB)
    assert loss.name == "train/loss" and loss.point_count == 6
    assert (loss.min_value, loss.max_value) == (0.5, math.inf)
    assert loss.latest.sequence == 8 and loss.latest.step == 5 and math.isnan(loss.latest.value)
    assert validation.name == "validation/loss" and validation.point_count == 2
    assert math.isnan(validation.min_value) and math.isnan(validation.max_value)
    assert validation.latest.sequence == 6
    assert records.latest_values(JOB) == {"train/loss": 1.0}
