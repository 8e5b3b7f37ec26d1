"""The training layer: `TrainingClient` starts and follows training jobs (`fit` returns a
`TrainingRun`), and `report` lets a container or entrypoint trainer take part in the runtime
contract of spec/training.md.

The client is imported on first use, so a trainer that imports only `report` does not load
gRPC and the data client at start-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lepton_ai.training.client import Trainer, TrainingClient, TrainingRun

__all__ = ["Trainer", "TrainingClient", "TrainingRun"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lepton_ai.training import client  # noqa: PLC0415

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
