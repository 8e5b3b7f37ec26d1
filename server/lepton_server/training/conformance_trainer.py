"""The `lepton.conformance` trainer (spec/training.md, "Conformance trainer"), run as a
worker process under the trainer runtime contract: deterministic steps that sleep, log,
report metrics and progress, write checkpoints, fail on request in each of the ways a real
trainer fails, and export an identity ONNX model. It learns nothing; it lets the suite drive
every lifecycle path on any server.

    python -m lepton_server.training.conformance_trainer
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from lepton.type.v1 import model_signature_pb2, tensor_pb2
from lepton_ai.training import report

SIGNATURE = model_signature_pb2.ModelSignature(
    inputs=[tensor_pb2.TensorSpec(name="x", data_type=tensor_pb2.DATA_TYPE_FP32, shape=[-1, 1])],
    outputs=[tensor_pb2.TensorSpec(name="y", data_type=tensor_pb2.DATA_TYPE_FP32, shape=[-1, 1])],
)
DEFAULTS: dict[str, Any] = {
    "steps": 10,
    "step_seconds": 0.1,
    "log_lines_per_step": 1,
    "fail_at_step": 0,
    "fail_attempts": 0,
    "failure": "exit",
    "exit_code": 1,
    "allocate_bytes": 0,
    "ignore_sigterm": False,
    "child_processes": 0,
    "output": "onnx",
    "best_step": 0,
}


def identity_model() -> bytes:
    """Y = Identity(X), float32 [-1, 1]: the model this trainer exports."""
    from onnx import TensorProto, helper  # noqa: PLC0415  (only when exporting)

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "lepton-conformance",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
    )
    model = helper.make_model(
        graph, producer_name="lepton.conformance", opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    return model.SerializeToString()


class ConformanceTrainer:
    """One attempt of the trainer."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = {**DEFAULTS, **params}
        self.attempt = int(os.environ.get("LEPTON_ATTEMPT", "0"))
        self.step = self._resumed_step()
        self.children: list[subprocess.Popen[bytes]] = []

    def _resumed_step(self) -> int:
        """The step the attempt continues after: the resumed checkpoint's, or 0."""
        resume = report.resume_dir()
        if resume is None:
            return 0
        content = resume / "step" if resume.is_dir() else resume
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
            for line in range(p["log_lines_per_step"]):
                _say(sys.stdout, f"attempt {self.attempt} step {step} line {line}")
            report.metric("train/loss", 1 / (step + 1), step=step)
            report.metric("validation/loss", abs(step - p["best_step"]) + 1, step=step)
            report.progress(step, p["steps"])
            self.step = step
            if every and step % every == 0:
                self._checkpoint("periodic")
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
            held = bytearray(p["allocate_bytes"])  # MemoryError where memory is enforced
            del held
        return p["exit_code"]

    def _checkpoint(self, trigger: str) -> None:
        directory = report.checkpoint_dir() / f"step-{self.step}-attempt-{self.attempt}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "step").write_text(str(self.step))
        model_path = None
        if os.environ.get("LEPTON_EXPORT_CHECKPOINT_MODEL") == "true":
            model_path = directory / "model.onnx"
            model_path.write_bytes(identity_model())
        report.checkpoint(
            directory,
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
        """Stop: checkpoint first when the server pauses the job."""
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
