"""The command line a worker of each kind of trainer runs (spec/training.md, "Trainers"): a
built-in trainer runs its module in this server's Python, an entrypoint trainer its command
in a POSIX shell. Container trainers need a feature this server does not offer."""

from __future__ import annotations

import shlex
import sys

from lepton.training.v1 import training_job_pb2 as tj
from lepton_server.runtime.errors import Unimplemented, invalid_field
from lepton_server.training.conformance_trainer import CONFORMANCE_TRAINER_ID
from lepton_server.training.trainer_catalogue import library_trainers, unknown_trainer

FIELD = "training_job.spec.trainer"
# Where an entrypoint trainer's pip_packages go, inside its working directory.
PACKAGES = ".lepton-packages"


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
        entrypoint = trainer.entrypoint
        if not entrypoint.command.strip():
            raise invalid_field(f"{FIELD}.entrypoint.command", "the command is required")
        if not entrypoint.pip_packages:
            return ["/bin/sh", "-c", entrypoint.command]
        # The packages install into the attempt's working directory first, as part of the
        # worker (a failed install is the trainer failing to start: TRAINER_FAILED).
        packages = " ".join(shlex.quote(p) for p in entrypoint.pip_packages)
        script = (
            f"{shlex.quote(sys.executable)} -m pip install --quiet --disable-pip-version-check "
            f'--target "$PWD/{PACKAGES}" {packages} && '
            f'PYTHONPATH="$PWD/{PACKAGES}${{PYTHONPATH:+:$PYTHONPATH}}" '
            f"exec /bin/sh -c {shlex.quote(entrypoint.command)}"
        )
        return ["/bin/sh", "-c", script]
    if kind == "container":
        raise Unimplemented(
            reason="FEATURE_NOT_SUPPORTED",
            message="this server runs no container trainers (feature training.container)",
        )
    raise invalid_field(FIELD, "set builtin, container or entrypoint")
