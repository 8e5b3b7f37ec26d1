"""The `lepton.conformance` trainer, which every server offers (spec/training.md,
"Conformance trainer `lepton.conformance`"): its declaration, exactly the spec's table
(TRN-004), and the worker that runs it under the trainer runtime contract (TRN-005):
deterministic steps that sleep, log, report metrics and progress, write checkpoints, fail on
request in each of the ways a real trainer fails, and export an identity ONNX model. It
learns nothing; it lets the suite drive every lifecycle path on any server.

    python -m lepton_server.training.conformance_trainer
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from lepton.training.v1 import trainer_pb2
from lepton.type.v1 import model_format_pb2, model_signature_pb2, tensor_pb2
from lepton_ai.training import report
from lepton_server.training.hyperparameters import declare, plain_value

CONFORMANCE_TRAINER_ID = "lepton.conformance"
# How long `failure` `allocate` holds its memory before it exits.
HOLD_SECONDS = 5.0
T = trainer_pb2.HyperparameterType
METRIC_NAMES = ("train/loss", "validation/loss")


def _hyperparameters() -> list[trainer_pb2.HyperparameterSpec]:
    int64, double = T.HYPERPARAMETER_TYPE_INT64, T.HYPERPARAMETER_TYPE_DOUBLE
    string, boolean = T.HYPERPARAMETER_TYPE_STRING, T.HYPERPARAMETER_TYPE_BOOL
    return [
        declare("steps", int64, 10, "Number of steps", minimum=0, maximum=1_000_000),
        declare("step_seconds", double, 0.1, "Seconds each step sleeps", minimum=0.0, maximum=60.0),
        declare(
            "log_lines_per_step", int64, 1, "Log lines written per step", minimum=0, maximum=1_000
        ),
        declare(
            "fail_at_step",
            int64,
            0,
            "If > 0, the attempt fails at the start of this step; 0 means never",
            minimum=0,
        ),
        declare(
            "fail_attempts",
            int64,
            0,
            "How many attempts, counted from attempt 0, fail at fail_at_step; 0 means every"
            " attempt",
            minimum=0,
        ),
        declare(
            "failure",
            string,
            "exit",
            "How an attempt fails at fail_at_step: exit with exit_code (TRAINER_FAILED),"
            " SIGKILL itself (WORKER_LOST), or allocate allocate_bytes (OUT_OF_MEMORY where"
            " memory is enforced)",
            allowed=("exit", "kill_self", "allocate"),
        ),
        declare("exit_code", int64, 1, "The exit code of failure 'exit'", minimum=1, maximum=255),
        declare("allocate_bytes", int64, 0, "Bytes that failure 'allocate' allocates", minimum=0),
        declare(
            "ignore_sigterm",
            boolean,
            False,
            "Ignore SIGTERM, so the SIGKILL after the grace period is exercised",
        ),
        declare(
            "child_processes",
            int64,
            0,
            "Sleeping child processes the trainer starts, so a stop leaving orphans is seen",
            minimum=0,
            maximum=16,
        ),
        declare(
            "output",
            string,
            "onnx",
            "The model written: a valid identity ONNX model, none (TRAINER_FAILED), or bytes"
            " that are not ONNX",
            allowed=("onnx", "none", "invalid"),
        ),
        declare(
            "best_step",
            int64,
            0,
            "The step at which validation/loss = |step - best_step| + 1 is lowest",
            minimum=0,
        ),
    ]


def conformance_trainer() -> trainer_pb2.TrainerInfo:
    """The TrainerInfo of `lepton.conformance`."""
    return trainer_pb2.TrainerInfo(
        id=CONFORMANCE_TRAINER_ID,
        description="Deterministic conformance trainer: sleeps, logs, reports metrics and"
        " checkpoints, and outputs an identity ONNX model, without learning",
        task="test",
        hyperparameters=_hyperparameters(),
        model_formats=[model_format_pb2.ModelFormat.MODEL_FORMAT_ONNX],
        requires_label_column=False,
        supports_checkpoints=True,
        max_worker_count=1,
        supports_accelerators=False,
        metric_names=METRIC_NAMES,
    )


SIGNATURE = model_signature_pb2.ModelSignature(
    inputs=[tensor_pb2.TensorSpec(name="input", data_type=tensor_pb2.DATA_TYPE_FP32, shape=[-1])],
    outputs=[tensor_pb2.TensorSpec(name="output", data_type=tensor_pb2.DATA_TYPE_FP32, shape=[-1])],
)


def defaults() -> dict[str, Any]:
    """Every hyperparameter's declared default, for a worker given only some of them."""
    return {spec.name: plain_value(spec.default_value) for spec in _hyperparameters()}


def identity_model() -> bytes:
    """output = Identity(input), float32 [-1] (TRN-005): the model this trainer exports."""
    from onnx import TensorProto, helper  # noqa: PLC0415  (only when exporting)

    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["output"])],
        "lepton-conformance",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None])],
    )
    model = helper.make_model(
        graph, producer_name="lepton.conformance", opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    return model.SerializeToString()


class ConformanceTrainer:
    """One attempt of the trainer."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = {**defaults(), **params}
        self.attempt = int(os.environ.get("LEPTON_ATTEMPT", "0"))
        self.step = self._resumed_step()
        self.children: list[subprocess.Popen[bytes]] = []
        self._in_step = False
        self._stop_pending = False

    def _resumed_step(self) -> int:
        """The step the attempt continues after: the resumed checkpoint's, or 0."""
        resume = report.resume_dir()
        if resume is None:
            return 0
        # The directory holds the checkpoint's one file, whatever its name.
        [content] = [path for path in resume.iterdir() if path.suffix != ".onnx"]
        return int(content.read_text().strip())

    def run(self) -> int:
        p = self.params
        signal.signal(signal.SIGTERM, signal.SIG_IGN if p["ignore_sigterm"] else self._on_sigterm)
        sleeper = [sys.executable, "-c", "import time; time.sleep(3600)"]
        self.children = [subprocess.Popen(sleeper) for _ in range(p["child_processes"])]
        every = int(os.environ.get("LEPTON_CHECKPOINT_STEP_INTERVAL", "0") or 0)
        while self.step < p["steps"]:
            step = self.step + 1
            if step == p["fail_at_step"] and (
                p["fail_attempts"] == 0 or self.attempt < p["fail_attempts"]
            ):
                return self._fail(step)
            time.sleep(p["step_seconds"])
            # A step's reports are all or nothing: a stop waits until the step is complete,
            # so a pause checkpoint holds every step whose lines were written.
            self._in_step = True
            for line in range(1, p["log_lines_per_step"] + 1):
                _say(sys.stdout, f"step {step} line {line}")
            report.metric("train/loss", 1 / step, step=step)
            report.metric("validation/loss", abs(step - p["best_step"]) + 1, step=step)
            report.progress(step, p["steps"])
            self.step = step
            if every and step % every == 0:
                self._checkpoint("periodic")
            self._in_step = False
            if self._stop_pending:
                self._stop()
        if os.environ.get("LEPTON_FINAL_CHECKPOINT") == "true":
            self._checkpoint("final")
        self._export()
        return 0

    def _fail(self, step: int) -> int:
        p = self.params
        _say(sys.stderr, f"failing at step {step} ({p['failure']})")
        if p["failure"] == "kill_self":
            os.kill(os.getpid(), signal.SIGKILL)
        if p["failure"] == "allocate":
            held = bytearray(p["allocate_bytes"])  # every page written: resident
            # Held a while, so a server that watches memory sees it (one that caps
            # allocation raised MemoryError above).
            time.sleep(HOLD_SECONDS)
            del held
        return p["exit_code"]

    def _checkpoint(self, trigger: str) -> None:
        # TRN-005: the checkpoint's content is the step as ASCII decimal digits.
        content = report.checkpoint_dir() / f"step-{self.step}-attempt-{self.attempt}"
        content.write_text(str(self.step))
        model_path = None
        if os.environ.get("LEPTON_EXPORT_CHECKPOINT_MODEL") == "true":
            model_path = content.with_suffix(".onnx")
            model_path.write_bytes(identity_model())
        report.checkpoint(
            content,
            step=self.step,
            trigger=trigger,
            model_path=model_path,
            format="ONNX" if model_path else None,
            signature=SIGNATURE if model_path else None,
        )

    def _export(self) -> None:
        kind = self.params["output"]
        if kind == "none":
            return
        target = report.output_dir() / "model.onnx"
        target.write_bytes(identity_model() if kind == "onnx" else b"these bytes are no model")
        report.output(
            "model.onnx",
            format="ONNX",
            framework="lepton.conformance",
            framework_version="1",
            signature=SIGNATURE,
        )

    def _on_sigterm(self, _signum: int, _frame: object) -> None:
        """Stop now, or at the end of the step being reported."""
        if self._in_step:
            self._stop_pending = True
        else:
            self._stop()

    def _stop(self) -> None:
        """Checkpoint first when the server pauses the job, then end the children and exit."""
        if report.stop_requested() == "pause":
            self._checkpoint("pause")
        for child in self.children:
            child.terminate()
        sys.exit(0)


def _say(stream: Any, line: str) -> None:
    """One log line on stdout or stderr, flushed so the server sees it at once."""
    stream.write(f"{line}\n")
    stream.flush()


def main() -> int:
    return ConformanceTrainer(report.hyperparameters()).run()


if __name__ == "__main__":
    sys.exit(main())
