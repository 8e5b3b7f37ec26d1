"""`lepton_ai.training.report`, the trainer side of the runtime contract (spec/training.md,
"Trainer runtime contract"): what it reads from the environment and the report lines it
writes, run in a real subprocess as a server would start a worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from lepton.type.v1 import model_signature_pb2, tensor_pb2
from lepton_ai.training import report

SCRIPT = """
import math
from lepton_ai.training import report
from lepton.type.v1 import model_signature_pb2, tensor_pb2

params = report.hyperparameters()
table = report.data("train")
for step in range(params["epochs"]):
    report.metric("train/loss", 1 / (step + 1), step=step)
    report.progress(step + 1, params["epochs"])
report.metric("validation/loss", math.nan, step=2)
report.metric("validation/gap", -math.inf, step=2)
(report.checkpoint_dir() / "step-2").write_text("2")
report.checkpoint(report.checkpoint_dir() / "step-2", step=2, trigger="periodic")
(report.output_dir() / "model.onnx").write_bytes(b"model")
signature = model_signature_pb2.ModelSignature(
    inputs=[tensor_pb2.TensorSpec(name="x", data_type=tensor_pb2.DATA_TYPE_FP32, shape=[-1, 2])]
)
report.output("model.onnx", format="MODEL_FORMAT_ONNX", framework="torch", signature=signature)
print(table.num_rows, report.stop_requested())
"""


def _worker_environment(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "out").mkdir()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "hyperparameters.json").write_text(json.dumps({"epochs": 3, "lr": 0.1}))
    table = pa.table({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    with (
        pa.OSFile(str(tmp_path / "train.arrow"), "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as writer,
    ):
        writer.write_table(table)
    return {
        **os.environ,
        "LEPTON_REPORT_FILE": str(tmp_path / "report.jsonl"),
        "LEPTON_HYPERPARAMETERS": str(tmp_path / "hyperparameters.json"),
        "LEPTON_DATA_TRAIN": str(tmp_path / "train.arrow"),
        "LEPTON_OUTPUT_DIR": str(tmp_path / "out"),
        "LEPTON_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "LEPTON_STOP_FILE": str(tmp_path / "stop"),
    }


def test_a_worker_reports_every_kind_of_line_as_the_contract_spells_it(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=_worker_environment(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["3", "None"]
    raw = (tmp_path / "report.jsonl").read_bytes()
    assert raw.endswith(b"\n")  # every line whole
    lines = [json.loads(line) for line in raw.decode().splitlines()]
    assert [line["type"] for line in lines] == [
        *["metric", "progress"] * 3,
        "metric",
        "metric",
        "checkpoint",
        "output",
    ]
    assert lines[0] == {"type": "metric", "name": "train/loss", "step": 0, "value": 1.0}
    assert lines[5] == {"type": "progress", "completed": 3, "total": 3, "unit": "steps"}
    assert (lines[6]["value"], lines[7]["value"]) == ("NaN", "-Infinity")
    assert lines[8] == {
        "type": "checkpoint",
        "path": str(tmp_path / "checkpoints" / "step-2"),
        "step": 2,
        "trigger": "periodic",
    }
    out = lines[9]
    assert (out["entry_path"], out["format"], out["framework"]) == ("model.onnx", "ONNX", "torch")
    assert out["signature"]["inputs"][0] == {
        "name": "x",
        "dataType": "DATA_TYPE_FP32",
        "shape": ["-1", "2"],
    }


def test_a_stop_request_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("LEPTON_STOP_FILE", str(tmp_path / "stop"))
    assert report.stop_requested() is None
    (tmp_path / "stop").write_text("pause\n")
    assert report.stop_requested() == "pause"


def test_outside_a_job_nothing_is_written_and_readers_default(tmp_path, monkeypatch):
    for variable in [v for v in os.environ if v.startswith("LEPTON_")]:
        monkeypatch.delenv(variable)
    monkeypatch.chdir(tmp_path)
    assert not report.in_job()
    report.metric("train/loss", 0.5, step=1)
    report.output("model.onnx")
    assert report.hyperparameters() == {}
    assert report.data("test") is None
    assert report.output_dir() == tmp_path
    assert report.resume_dir() is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [0.25, 3, -1e300])
def test_finite_values_stay_numbers(tmp_path, monkeypatch, value):
    monkeypatch.setenv("LEPTON_REPORT_FILE", str(tmp_path / "r.jsonl"))
    report.metric("train/x", value, step=0)
    assert json.loads((tmp_path / "r.jsonl").read_text())["value"] == float(value)


def test_a_checkpoint_may_carry_an_exported_model(tmp_path, monkeypatch):
    monkeypatch.setenv("LEPTON_REPORT_FILE", str(tmp_path / "r.jsonl"))
    signature = model_signature_pb2.ModelSignature(
        outputs=[tensor_pb2.TensorSpec(name="y", data_type=tensor_pb2.DATA_TYPE_INT64)]
    )
    report.checkpoint(
        "c/7", step=7, model_path="c/7/model.onnx", format="ONNX", signature=signature
    )
    line = json.loads((tmp_path / "r.jsonl").read_text())
    assert (line["model_path"], line["format"]) == ("c/7/model.onnx", "ONNX")
    assert line["signature"]["outputs"][0]["name"] == "y"


def test_a_progress_bar_shows_the_latest_metrics_after_its_counts():
    from lepton.training.v1 import metric_pb2  # noqa: PLC0415
    from lepton.training.v1 import training_job_pb2 as tj  # noqa: PLC0415
    from lepton_ai.progress import ProgressBar  # noqa: PLC0415
    from lepton_ai.training.client import _latest_metrics  # noqa: PLC0415

    job = tj.TrainingJob(
        metrics=[
            metric_pb2.MetricSummary(name="train/loss", latest=metric_pb2.MetricPoint(value=0.25)),
            metric_pb2.MetricSummary(
                name="validation/loss", latest=metric_pb2.MetricPoint(value=3)
            ),
        ]
    )
    bar = ProgressBar("training", 10, "steps", enabled=False)
    bar.update(4)
    bar.note(_latest_metrics(job))
    assert bar._counts() == "4/10 steps  train/loss 0.25  validation/loss 3"
