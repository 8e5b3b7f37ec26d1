"""The model registry layer (spec/registry.md)."""
