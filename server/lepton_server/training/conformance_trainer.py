"""The declaration of `lepton.conformance`, the deterministic trainer every server offers.

Its hyperparameters, defaults, ranges and properties are exactly the table of spec/training.md,
"Conformance trainer `lepton.conformance`" (TRN-004); what it does with them is TRN-005.
"""

from __future__ import annotations

from lepton.training.v1 import trainer_pb2
from lepton.type.v1 import model_format_pb2
from lepton_server.training.hyperparameters import declare

CONFORMANCE_TRAINER_ID = "lepton.conformance"
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
