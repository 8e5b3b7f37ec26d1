"""The built-in trainers this server offers, by ID (spec/training.md, "Trainers").

`lepton.conformance` is always offered; the standard library trainers are offered when their
library imports. A BuiltinTrainer.id the catalogue does not hold is UNKNOWN_TRAINER (TRN-006).
"""

from __future__ import annotations

import functools
from typing import Any

from lepton.training.v1 import trainer_pb2
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.runtime.errors import InvalidArgument, invalid_argument
from lepton_server.training.conformance_trainer import conformance_trainer
from lepton_server.training.library_trainers import LIBRARY_TRAINERS, LibraryTrainer

TRAINER_ID_FIELD = "training_job.spec.trainer.builtin.id"


def unknown_trainer(trainer_id: str) -> InvalidArgument:
    """INVALID_ARGUMENT, reason UNKNOWN_TRAINER, on the builtin trainer's ID (TRN-006)."""
    return invalid_argument(
        "UNKNOWN_TRAINER", TRAINER_ID_FIELD, f"the server offers no trainer {trainer_id!r}"
    )


@functools.cache
def library_trainers() -> dict[str, LibraryTrainer]:
    """The standard library trainers whose library imports, by ID."""
    return {trainer.id: trainer for trainer in LIBRARY_TRAINERS if trainer.available()}


@functools.cache
def _catalogue() -> tuple[trainer_pb2.TrainerInfo, ...]:
    infos = [conformance_trainer()] + [t.info() for t in library_trainers().values()]
    return tuple(sorted(infos, key=lambda info: info.id))


def catalogue() -> list[trainer_pb2.TrainerInfo]:
    """Every offered trainer ordered by ID (TRN-004); copies the caller may change."""
    return [_copied(info) for info in _catalogue()]


def get(trainer_id: str) -> trainer_pb2.TrainerInfo:
    """The TrainerInfo of `trainer_id`, or UNKNOWN_TRAINER."""
    for info in _catalogue():
        if info.id == trainer_id:
            return _copied(info)
    raise unknown_trainer(trainer_id)


_LISTING = Listing((), ("id",), "id", "id")


def list_trainers(tokens: PageTokens, request: Any) -> tuple[list[trainer_pb2.TrainerInfo], str]:
    """The page of ListTrainers `request` asks for, by ID (TRN-004, TRN-018)."""
    return _LISTING.page(
        tokens, request, catalogue, lambda info: lambda path: getattr(info, path), "trainers"
    )


def _copied(info: trainer_pb2.TrainerInfo) -> trainer_pb2.TrainerInfo:
    copy = trainer_pb2.TrainerInfo()
    copy.CopyFrom(info)
    return copy
