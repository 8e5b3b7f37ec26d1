"""The worker of the standard library trainers (spec/training.md, "Trainers"): fits the
trainer's estimator on the job's train data under the trainer runtime contract, reports each
role's metrics, and writes the model in the library's native format with its signature
(feature names, class labels), which the job then converts and registers.

    python -m lepton_server.training.library_worker <trainer id>
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lepton.type.v1 import model_format_pb2
from lepton_ai.training import report
from lepton_server.registry.model_signatures import infer_signature
from lepton_server.training.hyperparameters import typed_value
from lepton_server.training.library_trainers import LibraryTrainer
from lepton_server.training.trainer_catalogue import library_trainers

ModelFormat = model_format_pb2.ModelFormat
# The file each native format is written to (spec/registry.md, the table of "Artifacts").
NATIVE_FILES = {
    ModelFormat.MODEL_FORMAT_SKOPS: "model.skops",
    ModelFormat.MODEL_FORMAT_XGBOOST: "model.json",
    ModelFormat.MODEL_FORMAT_LIGHTGBM: "model.txt",
}


def fit(trainer: LibraryTrainer, params: dict[str, Any]) -> Any:
    """The fitted estimator, after reporting each role's metrics."""
    info = trainer.info()
    types = {spec.name: spec.type for spec in info.hyperparameters}
    typed = {name: typed_value(types[name], value) for name, value in params.items()}
    estimator = trainer.estimator_class()(**trainer.estimator_kwargs(typed))
    label = os.environ.get("LEPTON_LABEL_COLUMN", "")
    features, target = _split(report.data("train"), label)
    estimator.fit(features, target)
    for role in ("train", "validation", "test"):
        table = report.data(role)
        if table is not None:
            x, y = _split(table, label)
            for name, value in _metrics(estimator, info.task, x, y).items():
                report.metric(f"{role}/{name}", value, step=1)
    report.progress(1, 1)
    return estimator


def _split(table: Any, label: str) -> tuple[Any, np.ndarray]:
    """Features as a pandas DataFrame (so the estimator keeps the column names) and the
    label as an array."""
    frame = table.to_pandas()
    return frame.drop(columns=[label]), frame[label].to_numpy()


def _metrics(estimator: Any, task: str, x: Any, y: np.ndarray) -> dict[str, float]:
    from sklearn import metrics  # noqa: PLC0415

    predicted = estimator.predict(x)
    if task == "classification":
        scores = {"accuracy": float(metrics.accuracy_score(y, predicted))}
        if hasattr(estimator, "predict_proba"):
            probabilities = estimator.predict_proba(x)
            scores["log_loss"] = float(
                metrics.log_loss(y, probabilities, labels=estimator.classes_)
            )
        return scores
    return {
        "rmse": float(np.sqrt(metrics.mean_squared_error(y, predicted))),
        "r2": float(metrics.r2_score(y, predicted)),
    }


def native_model(trainer: LibraryTrainer, estimator: Any) -> Any:
    """What is saved: the estimator for scikit-learn, the booster for XGBoost and LightGBM."""
    if trainer.native_format == ModelFormat.MODEL_FORMAT_SKOPS:
        return estimator
    return estimator.get_booster() if hasattr(estimator, "get_booster") else estimator.booster_


def save(trainer: LibraryTrainer, model: Any, directory: Path) -> str:
    """Write the native model in the trainer's format; its file name."""
    name = NATIVE_FILES[trainer.native_format]
    if trainer.native_format == ModelFormat.MODEL_FORMAT_SKOPS:
        import skops.io  # noqa: PLC0415

        skops.io.dump(model, directory / name)
    else:  # the boosters' own files
        model.save_model(str(directory / name))
    return name


def main(trainer_id: str) -> int:
    trainer = library_trainers()[trainer_id]
    model = native_model(trainer, fit(trainer, report.hyperparameters()))
    entry = save(trainer, model, report.output_dir())
    signature = infer_signature(model)
    report.output(
        entry,
        format=ModelFormat.Name(trainer.native_format),
        framework=trainer.framework,
        framework_version=trainer.info().framework_version,
        signature=signature,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
