"""Reading the trainer report file (spec/training.md, "Trainer runtime contract") as it
grows: only complete lines, typed reports, and a warning for a line the server cannot use.
The lines are written by the SDK's `lepton_ai.training.report`, the trainer side."""

from __future__ import annotations

import math

import pytest

from lepton_ai.training import report
from lepton_server.training.report_lines import (
    MAX_LINE_BYTES,
    CheckpointReport,
    Malformed,
    Metric,
    OutputReport,
    Progress,
    ReportReader,
)


@pytest.fixture
def report_file(tmp_path, monkeypatch):
    path = tmp_path / "report.jsonl"
    monkeypatch.setenv("LEPTON_REPORT_FILE", str(path))
    return path


def test_what_the_sdk_writes_the_server_reads(report_file):
    reader = ReportReader(report_file)
    assert reader.read() == []  # no file yet
    report.metric("train/loss", 0.5, step=1)
    report.metric("validation/loss", math.inf, step=1)
    report.progress(1, 10)
    report.checkpoint(
        "ckpt/1", step=1, trigger="periodic", model_path="ckpt/1/m.onnx", format="ONNX"
    )
    report.output("model.onnx", format="ONNX", framework="torch", framework_version="2.4.1")
    got = reader.read()
    assert got == [
        Metric("train/loss", 1, 0.5),
        Metric("validation/loss", 1, math.inf),
        Progress(1, 10, "steps"),
        CheckpointReport("ckpt/1", 1, "periodic", "ckpt/1/m.onnx", "ONNX", {}),
        OutputReport("model.onnx", "ONNX", "torch", "2.4.1", {}),
    ]
    assert reader.read() == []  # nothing new
    report.metric("validation/loss", math.nan, step=2)
    [nan] = reader.read()
    assert math.isnan(nan.value)


def test_a_line_is_read_only_once_it_ends(report_file):
    reader = ReportReader(report_file)
    with report_file.open("ab") as sink:
        sink.write(b'{"type":"metric","name":"train/loss",')
        sink.flush()
        assert reader.read() == []
        sink.write(b'"step":3,"value":0.25}\n{"type":"progress","completed":3')
        sink.flush()
        assert reader.read() == [Metric("train/loss", 3, 0.25)]
        sink.write(b"}\n")
    assert reader.read() == [Progress(3, 0, "steps")]


def test_unusable_lines_are_warnings_and_unknown_types_are_ignored(report_file):
    lines = [
        b"not json",
        b"[1, 2]",
        b'{"type":"metric","name":"train/loss","step":-1,"value":1}',
        b'{"type":"metric","name":"train/loss","step":1,"value":"high"}',
        b'{"type":"checkpoint","step":1}',
        b'{"type":"heartbeat","at":3}',
        b'{"type":"metric","name":"train/loss","step":2,"value":1,"extra":true}',
    ]
    report_file.write_bytes(b"\n".join(lines) + b"\n")
    got = ReportReader(report_file).read()
    assert [type(r) for r in got] == [Malformed] * 5 + [Metric]
    assert got[-1] == Metric("train/loss", 2, 1.0)


def test_an_over_long_line_is_dropped_whole(report_file):
    reader = ReportReader(report_file)
    with report_file.open("ab") as sink:
        sink.write(b'{"type":"output","entry_path":"' + b"x" * (MAX_LINE_BYTES + 10))
        sink.flush()
        [warning] = reader.read()
        assert isinstance(warning, Malformed)
        sink.write(b'x"}\n{"type":"progress","completed":1}\n')
    assert reader.read() == [Progress(1, 0, "steps")]
