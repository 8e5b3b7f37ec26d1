"""The trainer side of the runtime contract (spec/training.md, "Trainer runtime contract"):
read what the server hands a worker, and report metrics, progress, checkpoints and the model.

A script takes part in a few lines::

    from lepton_ai.training import report

    params = report.hyperparameters()
    for step in range(params.get("epochs", 3)):
        loss = train_one_epoch()
        report.metric("train/loss", loss, step=step)
    report.output("model.onnx", format="ONNX")  # written under report.output_dir()

Outside a training job (no `LEPTON_REPORT_FILE`), reporting does nothing and the readers
answer with their defaults, so the same script runs on a laptop.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from lepton.type.v1 import model_signature_pb2

# Non-finite numbers, which JSON cannot hold, as the contract spells them.
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value) if value else None


def in_job() -> bool:
    """Whether this process runs as a worker of a training job."""
    return _env_path("LEPTON_REPORT_FILE") is not None


def hyperparameters() -> dict[str, Any]:
    """The job's hyperparameters (`LEPTON_HYPERPARAMETERS`), or {} outside a job."""
    path = _env_path("LEPTON_HYPERPARAMETERS")
    return json.loads(path.read_text(encoding="utf-8")) if path else {}


def data(role: str = "train") -> Any:
    """The dataset of `role` (train, validation or test) as a pyarrow Table, or None when
    the job has none of that role."""
    path = _env_path(f"LEPTON_DATA_{role.upper()}")
    if path is None:
        return None
    import pyarrow as pa  # noqa: PLC0415  (only trainers that read data need it)

    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def output_dir() -> Path:
    """Where worker 0 writes the model (`LEPTON_OUTPUT_DIR`; the working directory outside
    a job)."""
    return _env_path("LEPTON_OUTPUT_DIR") or Path.cwd()


def checkpoint_dir() -> Path:
    """Where checkpoints are written (`LEPTON_CHECKPOINT_DIR`; the working directory
    outside a job)."""
    return _env_path("LEPTON_CHECKPOINT_DIR") or Path.cwd()


def resume_dir() -> Path | None:
    """The checkpoint this attempt continues from, or None when it starts afresh."""
    return _env_path("LEPTON_RESUME_DIR")


def stop_requested() -> str | None:
    """Why the server asked this worker to stop (`pause`, `cancel` or `deadline`), or None.
    A trainer that sees `pause` should write a checkpoint before it exits."""
    path = _env_path("LEPTON_STOP_FILE")
    if path is None or not path.exists():
        return None
    return path.read_text(encoding="utf-8").strip() or None


def metric(name: str, value: float, *, step: int) -> None:
    """One point of metric `name` (`<role>/<metric>`, e.g. "validation/accuracy")."""
    _write({"type": "metric", "name": name, "step": step, "value": _number(value)})


def progress(completed: int, total: int = 0, unit: str = "steps") -> None:
    """How far training is (`total` 0 when unknown)."""
    _write({"type": "progress", "completed": completed, "total": total, "unit": unit})


def checkpoint(
    path: str | Path,
    *,
    step: int,
    trigger: str | None = None,
    model_path: str | Path | None = None,
    format: str | None = None,
    signature: model_signature_pb2.ModelSignature | None = None,
) -> None:
    """A checkpoint written at `path` (under `checkpoint_dir()`) after `step`. Once reported,
    the server owns it: do not change it. `model_path`, `format` and `signature` describe a
    model exported with it."""
    line: dict[str, Any] = {"type": "checkpoint", "path": str(path), "step": step}
    if trigger:
        line["trigger"] = trigger
    if model_path is not None:
        line["model_path"] = str(model_path)
    _describe_model(line, format, signature)
    _write(line)


def output(
    entry_path: str,
    *,
    format: str | None = None,
    framework: str = "",
    framework_version: str = "",
    signature: model_signature_pb2.ModelSignature | None = None,
) -> None:
    """The model is complete in `output_dir()`; `entry_path` is the file a runtime loads."""
    line: dict[str, Any] = {"type": "output", "entry_path": entry_path}
    if framework:
        line["framework"] = framework
    if framework_version:
        line["framework_version"] = framework_version
    _describe_model(line, format, signature)
    _write(line)


def _describe_model(line: dict[str, Any], model_format: str | None, signature: Any) -> None:
    if model_format:
        line["format"] = model_format.removeprefix("MODEL_FORMAT_")
    if signature is not None:
        line["signature"] = json_format.MessageToDict(signature)


def _number(value: float) -> float | str:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    return _NON_FINITE.get(value, value)


def _write(line: dict[str, Any]) -> None:
    """Append one line, whole: the server reads a line only once it ends in LF."""
    path = _env_path("LEPTON_REPORT_FILE")
    if path is None:
        return
    encoded = (json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(descriptor, encoded)
    finally:
        os.close(descriptor)
