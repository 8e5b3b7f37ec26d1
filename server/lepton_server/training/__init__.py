"""The training layer (spec/training.md)."""
