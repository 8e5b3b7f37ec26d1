"""The training layer: `TrainingClient` starts and follows training jobs (`fit` returns a
`TrainingRun`), and `report` lets a container or entrypoint trainer take part in the runtime
contract of spec/training.md."""

from lepton_ai.training.client import Trainer, TrainingClient, TrainingRun

__all__ = ["Trainer", "TrainingClient", "TrainingRun"]
