"""The standard library trainers run as real workers (spec/training.md, "Trainers"): each
fits on the train data, reports every role's metrics, writes its native model with a
signature, and the registry's converter turns that model into an equivalent ONNX model — the
in-job conversion a training job makes before it registers."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lepton.type.v1 import model_format_pb2
from lepton_server.registry import conversion
from lepton_server.training import hyperparameters, trainer_catalogue
from lepton_server.training.attempts import AttemptPlan
from lepton_server.training.local_attempts import LocalAttempt
from lepton_server.training.report_lines import Metric

RNG = np.random.default_rng(5)
FEATURES = RNG.standard_normal((200, 3))
CLASSES = np.where(FEATURES[:, 0] + FEATURES[:, 1] > 0, "churned", "stayed")
TARGET = FEATURES @ np.array([2.0, -1.0, 0.5]) + 0.1 * RNG.standard_normal(200)


def _arrow(path: Path, labels) -> Path:
    table = pa.table(
        {"tenure": FEATURES[:, 0], "spend": FEATURES[:, 1], "calls": FEATURES[:, 2], "y": labels}
    )
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def _train(tmp_path: Path, trainer_id: str, labels, given: dict | None = None):
    info = trainer_catalogue.get(trainer_id)
    typed = {
        name: hyperparameters.typed_value(
            next(s.type for s in info.hyperparameters if s.name == name), value
        )
        for name, value in (given or {}).items()
    }
    resolved = hyperparameters.json_object(hyperparameters.resolve(typed, info))
    plan = AttemptPlan(
        job="trainingJobs/lib",
        attempt=0,
        argv=[sys.executable, "-m", "lepton_server.training.library_worker", trainer_id],
        work_dir=tmp_path,
        hyperparameters=resolved,
        data_files={
            "train": _arrow(tmp_path / "train.arrow", labels),
            "validation": _arrow(tmp_path / "validation.arrow", labels),
        },
        feature_columns=["tenure", "spend", "calls"],
        label_column="y",
    )
    reports: list = []
    result = asyncio.run(LocalAttempt(plan).run(lambda *_: None, reports.append))
    assert result.failure is None, result.failure
    return result, {r.name: r.value for r in reports if isinstance(r, Metric)}


CASES = {
    "sklearn.logistic_regression": (CLASSES, "accuracy", {"C": 2.0}),
    "sklearn.random_forest_regressor": (TARGET, "r2", {"n_estimators": 10, "max_depth": 4}),
    "xgboost.classifier": (CLASSES == "churned", "accuracy", {"n_estimators": 5}),
    "lightgbm.regressor": (TARGET, "r2", {"n_estimators": 10}),
}


@pytest.mark.parametrize("trainer_id", CASES)
def test_a_library_trainer_fits_reports_and_exports_a_convertible_model(tmp_path, trainer_id):
    if not trainer_catalogue.library_trainers()[trainer_id].available():
        pytest.skip(f"{trainer_id}: its library is not installed here")
    labels, score, given = CASES[trainer_id]
    result, metrics = _train(tmp_path, trainer_id, labels, given)
    assert {f"train/{score}", f"validation/{score}"} <= set(metrics)
    assert metrics[f"validation/{score}"] > 0.7  # it learned something real
    output = result.output
    assert output.format in {"SKOPS", "XGBOOST", "LIGHTGBM"}
    signature = output.signature
    assert signature["inputs"][0]["shape"] == ["-1", "3"]
    data = (result.output_dir / output.entry_path).read_bytes()
    from google.protobuf import json_format  # noqa: PLC0415

    from lepton.type.v1 import model_signature_pb2  # noqa: PLC0415

    parsed = json_format.ParseDict(signature, model_signature_pb2.ModelSignature())
    converted = conversion.convert_to_onnx(
        data, model_format_pb2.ModelFormat.Value(f"MODEL_FORMAT_{output.format}"), parsed, seed=3
    )
    assert converted.report.equivalent


def test_the_resolved_hyperparameters_reach_the_estimator(tmp_path):
    _, metrics = _train(
        tmp_path, "sklearn.logistic_regression", CLASSES, {"C": 1e-6, "max_iter": 5}
    )
    # A tiny C regularises the model to chance: the hyperparameter arrived.
    assert metrics["train/accuracy"] < 0.7
    hyperparameters_file = next(tmp_path.glob("attempt-0/hyperparameters.json"))
    assert json.loads(hyperparameters_file.read_text())["C"] == 1e-6
