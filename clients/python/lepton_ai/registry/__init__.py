"""The model registry client: `ModelRegistry` (spec/registry.md)."""

from lepton_ai.registry.model_registry import ModelRegistry

__all__ = ["ModelRegistry"]
