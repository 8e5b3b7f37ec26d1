"""The command line a worker of each kind of trainer runs (spec/training.md, "Trainers"): a
built-in trainer runs its module in this server's Python, an entrypoint trainer its command
in a POSIX shell. Container trainers need a feature this server does not offer."""

from __future__ import annotations

import sys

from lepton.training.v1 import training_job_pb2 as tj
from lepton_server.runtime.errors import Unimplemented, invalid_field
from lepton_server.training.conformance_trainer import CONFORMANCE_TRAINER_ID
from lepton_server.training.trainer_catalogue import library_trainers, unknown_trainer

FIELD = "training_job.spec.trainer"


def worker_argv(trainer: tj.Trainer) -> list[str]:
    """The argument vector of a worker of `trainer`; UNKNOWN_TRAINER, INVALID_FIELD or
    FEATURE_NOT_SUPPORTED when it cannot be run here."""
    kind = trainer.WhichOneof("kind")
    if kind == "builtin":
        trainer_id = trainer.builtin.id
        if trainer_id == CONFORMANCE_TRAINER_ID:
            return [sys.executable, "-m", "lepton_server.training.conformance_trainer"]
        library = library_trainers().get(trainer_id)
        if library is None or not library.available():
            raise unknown_trainer(trainer_id)
        return [sys.executable, "-m", "lepton_server.training.library_worker", trainer_id]
    if kind == "entrypoint":
        if not trainer.entrypoint.command.strip():
            raise invalid_field(f"{FIELD}.entrypoint.command", "the command is required")
        return ["/bin/sh", "-c", trainer.entrypoint.command]
    if kind == "container":
        raise Unimplemented(
            reason="FEATURE_NOT_SUPPORTED",
            message="this server runs no container trainers (feature training.container)",
        )
    raise invalid_field(FIELD, "set builtin, container or entrypoint")
