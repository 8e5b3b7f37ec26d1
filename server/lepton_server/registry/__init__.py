"""The model registry layer (spec/registry.md): lepton.registry.v1.ModelRegistryService."""
