"""The training layer for trainer code: `report`, which a container or entrypoint trainer
uses to take part in the runtime contract of spec/training.md."""
