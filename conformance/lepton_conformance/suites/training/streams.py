"""training-core cases of a job's log and metric streams: numbering from 1 without gaps,
reads from any sequence and of the last lines, the `complete` marker with and without
follow (TRN-037 to TRN-040, TRN-043), and the metric summaries in the job (TRN-044)."""

from __future__ import annotations

import math
from concurrent import futures
from typing import Any

import grpc

from lepton.training.v1 import training_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.training_client import (
    JOB_S,
    TERMINAL,
    TrainingClient,
    conformance_job,
    entries,
    points,
)
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()


def check_numbered(records: list[Any], first: int, what: str) -> None:
    """Sequences `first`, `first` + 1, ... without gaps (GEN-083)."""
    got = [r.sequence for r in records]
    expect.equal(got, list(range(first, first + len(got))), f"the sequences of {what}")


def check_markers(responses: list[Any], complete: bool, what: str) -> None:
    """`complete` only on the last message, as `complete` says; start_truncated never."""
    expect.holds(bool(responses), f"{what} to send a message", "none")
    expect.equal(
        [r.complete for r in responses[:-1]],
        [False] * (len(responses) - 1),
        f"complete before the end of {what}",
    )
    expect.equal(responses[-1].complete, complete, f"complete on the last message of {what}")
    expect.equal(
        [r.start_truncated for r in responses],
        [False] * len(responses),
        f"start_truncated of {what}",
    )


def check_reads(client: TrainingClient, rpc: str, name: str, field: str) -> list[Any]:
    """The reads of an ended job's stream `rpc` (records in `field`) from 0, from the 3rd
    record, twice, beyond the end and with negative starts; the whole series."""
    request_class = getattr(pb, f"{rpc}Request")

    def read(**fields: Any) -> list[Any]:
        return client.read(rpc, request_class(name=name, **fields), JOB_S)

    def records(responses: list[Any]) -> list[Any]:
        return [record for response in responses for record in getattr(response, field)]

    whole = read()
    series = records(whole)
    expect.holds(len(series) >= 3, f"at least 3 records from {rpc}", str(len(series)))
    check_numbered(series, 1, rpc)
    check_markers(whole, True, f"{rpc} of an ended job")
    expect.equal(records(read()), series, f"a second read of {rpc}")
    from_third = read(start_sequence=3)
    expect.equal(records(from_third), series[2:], f"{rpc} from start_sequence 3")
    check_markers(from_third, True, f"{rpc} from start_sequence 3")
    beyond = read(start_sequence=len(series) + 5)
    expect.equal(records(beyond), [], f"{rpc} from beyond the newest record")
    expect.fails_with(
        lambda: list(client.call(rpc, request_class(name=name, start_sequence=-1))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    return series


@CASES.case(
    CORE, "logs.lines-are-numbered-and-read-from-any-point", "TRN-037", "TRN-038", "TRN-039"
)
def log_reads(ctx: CaseContext) -> None:
    """An ended job's log is numbered 1..n, reads the same twice, from any start_sequence
    and as its last lines (tail_line_count), each read ending complete; a start beyond the
    end sends nothing; negative starts are INVALID_FIELD."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = client.run(conformance_job(data.version, steps=3, log_lines_per_step=2))
        series = check_reads(client, "StreamTrainingJobLogs", job.name, "entries")
        tail = entries(client.logs(job.name, tail_line_count=2))
        expect.equal(tail, series[-2:], "the last 2 lines (tail_line_count 2)")
        expect.fails_with(
            lambda: list(
                client.call(
                    "StreamTrainingJobLogs",
                    pb.StreamTrainingJobLogsRequest(name=job.name, tail_line_count=-1),
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
        )


@CASES.case(
    CORE, "streams.follow-ends-complete-after-the-last-record", "TRN-039", "TRN-040", "TRN-043"
)
def follow(ctx: CaseContext) -> None:
    """Log and metric streams opened with follow on a new job stay open until it ends, then
    send a last message with complete and end OK, having sent every record; a read without
    follow of a job not yet ended is not complete."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        created = client.create(conformance_job(data.version, steps=6, step_seconds=0.1))
        with futures.ThreadPoolExecutor(max_workers=2) as pool:
            logs = pool.submit(client.logs, created.name, follow=True)
            metrics = pool.submit(client.metrics, created.name, follow=True)
            early = client.logs(created.name)
            running = client.get(created.name).status.state not in TERMINAL
            log_responses, metric_responses = logs.result(), metrics.result()
        if running:
            expect.equal(early[-1].complete, False, "complete of a read of a job not yet ended")
        ended = client.get(created.name)
        expect.holds(
            ended.status.state in TERMINAL,
            "the job ended when the follows did",
            str(ended.status.state),
        )
        for what, responses, field, rpc in (
            ("the log follow", log_responses, "entries", client.logs),
            ("the metric follow", metric_responses, "points", client.metrics),
        ):
            check_markers(responses, True, what)
            got = [record for response in responses for record in getattr(response, field)]
            check_numbered(got, 1, what)
            after = [
                record for response in rpc(created.name) for record in getattr(response, field)
            ]
            expect.equal(got, after, f"{what} against a read after the end")


@CASES.case(
    CORE,
    "metrics.points-are-numbered-filtered-and-summarised",
    "TRN-043",
    "TRN-044",
    "TRN-005",
)
def metric_reads(ctx: CaseContext) -> None:
    """An ended job's metric points are numbered 1..n and read from any point; metric_names
    keeps the original sequences; each MetricSummary matches the series."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = client.run(conformance_job(data.version, steps=4))
        series = check_reads(client, "StreamTrainingJobMetrics", job.name, "points")
        only = points(client.metrics(job.name, metric_names=["train/loss"]))
        expect.equal(only, [p for p in series if p.name == "train/loss"], "the train/loss points")
        summaries = {s.name: s for s in client.get(job.name).metrics}
        expect.equal(sorted(summaries), sorted({p.name for p in series}), "the summarised names")
        for name, summary in summaries.items():
            mine = [p for p in series if p.name == name]
            values = [p.value for p in mine if not math.isnan(p.value)]
            expect.equal(
                (summary.latest, summary.point_count, summary.min_value, summary.max_value),
                (mine[-1], len(mine), min(values), max(values)),
                f"(latest, point_count, min_value, max_value) of {name}",
            )
